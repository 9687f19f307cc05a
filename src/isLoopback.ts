/**
 * Host names that can only mean this machine: `localhost`, `[::1]` (as `URL.hostname` spells it) and the whole
 * `127.0.0.0/8` block, matched as four numbers so that `127.evil.example` is not one. The one rule for every URL
 * that may carry a secret over plain http (the model endpoint's key or token, the JWT key set).
 */
export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}
