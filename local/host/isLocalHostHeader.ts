/** The names a browser on this machine uses for a loopback server; a page served from anywhere else has its own. */
const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a request's `Host` header names this machine (any port). A page that rebinds its own DNS name to 127.0.0.1
 * reaches a loopback server, but its requests still carry that name: refusing them is what keeps such a page out.
 */
export function isLocalHostHeader(host: string | undefined): boolean {
  if (host === undefined) return false;
  let hostname: string;
  try {
    const parsed = new URL(`http://${host}`);
    if (parsed.username || parsed.password || parsed.pathname !== '/' || parsed.search || parsed.hash) return false;
    hostname = parsed.hostname;
  } catch {
    return false;
  }
  return LOCAL_NAMES.has(hostname.toLowerCase());
}
