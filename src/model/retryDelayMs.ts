/** Reads one response header by name, case-insensitively; undefined when absent. */
export type HeaderLookup = (name: string) => string | undefined;

function nonNegative(value: number): number | undefined {
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * How long a throttled response asks the caller to wait, in ms, from the headers the Azure AI services send:
 * `retry-after-ms`, then `x-ms-retry-after-ms`, then `Retry-After` (delta-seconds or an HTTP date), the same
 * order the Azure SDKs' throttling policy reads them. Undefined when none is present and valid.
 */
export function retryDelayMs(header: HeaderLookup, now: number = Date.now()): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const raw = header(name)?.trim();
    if (raw && /^\d+(\.\d+)?$/.test(raw)) return nonNegative(Number(raw));
  }
  const raw = header('retry-after')?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return nonNegative(Number(raw) * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
