import type { Cookie } from '@azure/functions';

/**
 * One `Set-Cookie` value for an `HttpResponse` cookie, with the attributes the worker's proxy writes
 * (it uses the `cookie` package; the value is URI-encoded the same way).
 */
export function serializeCookie(cookie: Cookie): string {
  const attributes = [`${cookie.name}=${encodeURIComponent(cookie.value)}`];
  if (cookie.maxAge !== undefined) attributes.push(`Max-Age=${Math.floor(cookie.maxAge)}`);
  if (cookie.domain !== undefined) attributes.push(`Domain=${cookie.domain}`);
  if (cookie.path !== undefined) attributes.push(`Path=${cookie.path}`);
  if (cookie.expires !== undefined) attributes.push(`Expires=${new Date(cookie.expires).toUTCString()}`);
  if (cookie.httpOnly === true) attributes.push('HttpOnly');
  if (cookie.secure === true) attributes.push('Secure');
  if (cookie.sameSite !== undefined) attributes.push(`SameSite=${cookie.sameSite}`);
  return attributes.join('; ');
}
