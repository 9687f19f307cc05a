/** Message ids the server hands out: `m_`, 21 characters of the turn id and `u` or `a`. */
export const MESSAGE_ID = /^m_[A-Za-z0-9_-]{22}$/;
