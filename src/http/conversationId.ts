/** Ids the server hands out: a prefix and 22 base64url characters (16 random bytes). */
export const CONVERSATION_ID = /^c_[A-Za-z0-9_-]{22}$/;
