/** What an export is sent as. */
export type ExportFormat = 'json' | 'markdown';

/** The q-value of a media range (`type/subtype;q=0.5`); 1 when absent, 0 when it cannot be read. */
function qualityOf(params: readonly string[]): number {
  const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
  if (q === undefined) return 1;
  const value = Number(q.slice(2));
  return Number.isFinite(value) && value >= 0 && value <= 1 ? value : 0;
}

/** The q-value `accept` gives `type/subtype`, by its most specific matching range (RFC 9110 §12.5.1); 0 for none. */
function acceptance(ranges: readonly { type: string; q: number }[], mediaType: string): number {
  const [main] = mediaType.split('/');
  const match = ranges.find((r) => r.type === mediaType) ?? ranges.find((r) => r.type === `${main}/*`) ?? ranges.find((r) => r.type === '*/*');
  return match?.q ?? 0;
}

/**
 * Markdown when the caller prefers `text/markdown` (also through `text/*`) to `application/json`; JSON otherwise,
 * including for no `Accept`, `*\/*`, a tie, and types this route does not serve: JSON is the export's default, so an
 * unsupported `Accept` gets it rather than a 406 (RFC 9110 lets a server disregard `Accept`).
 */
export function exportFormatOf(accept: string | null): ExportFormat {
  if (!accept) return 'json';
  const ranges = accept.split(',').map((range) => {
    const [type = '', ...params] = range.split(';');
    return { type: type.trim().toLowerCase(), q: qualityOf(params) };
  });
  return acceptance(ranges, 'text/markdown') > acceptance(ranges, 'application/json') ? 'markdown' : 'json';
}
