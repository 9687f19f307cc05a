/** A server-chosen id: a prefix and 22 base64url characters from 16 random bytes. */
export function newId(prefix: 'c' | 't'): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return `${prefix}_${Buffer.from(bytes).toString('base64url')}`;
}

/** A turn's messages have ids derived from the turn's, so a retried write overwrites instead of duplicating. */
export function turnMessageIds(turnId: string): { readonly user: string; readonly assistant: string } {
  const body = turnId.slice(2, 23);
  return { user: `m_${body}u`, assistant: `m_${body}a` };
}
