import { isIP } from 'node:net';

/**
 * Whether a listening address (as `server.address()` reports it, or a host name given to `listen`) is reachable from
 * this machine only: `localhost`, 127.0.0.0/8, `::1`, or 127.x as an IPv4-mapped IPv6 address.
 */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}
