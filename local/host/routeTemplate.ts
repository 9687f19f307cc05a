/**
 * Route templates as far as this app writes them: literal segments (matched case-insensitively, as ASP.NET Core
 * routing in the Functions host does), `{name}` parameters filling a segment and one final catch-all `{*rest}`.
 * Anything else the host could read (constraints, optional parameters, defaults, complex segments) is refused at
 * registration, so a route the local host would match differently from Azure fails at start-up.
 */

/** A parsed route template that can match request paths. */
export interface RouteTemplate {
  /** The template as written (without the prefix). */
  readonly source: string;
  /** Names of the parameters, in order. */
  readonly parameterNames: readonly string[];
  /** One digit per segment; lower sorts first (ASP.NET inbound precedence: literal 1, parameter 4, catch-all 5). */
  readonly precedence: readonly number[];
  /** Route values for a path (already stripped of the route prefix), or null when it does not match. */
  match(path: string): Record<string, string> | null;
}

type Segment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'parameter'; readonly name: string }
  | { readonly kind: 'catchAll'; readonly name: string };

const PRECEDENCE = { literal: 1, parameter: 4, catchAll: 5 } as const;

/** Parses a route template; throws on anything but literals, `{name}` and a final `{*rest}`. */
export function parseRouteTemplate(source: string): RouteTemplate {
  const trimmed = source.replace(/^\/+|\/+$/g, '');
  const segments = trimmed === '' ? [] : trimmed.split('/').map((s) => parseSegment(s, source));
  if (segments.slice(0, -1).some((s) => s.kind === 'catchAll')) {
    throw new Error(`Route "${source}": a catch-all parameter must be the last segment.`);
  }
  const parameters = segments.filter((s) => s.kind !== 'literal');
  const names = parameters.map((p) => p.name.toLowerCase());
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) {
    throw new Error(`Route "${source}": parameter "${duplicate}" appears twice.`);
  }

  const pattern = new RegExp(`^${segments.map(segmentPattern).join('')}/?$`, 'i');
  return {
    source,
    parameterNames: parameters.map((p) => p.name),
    precedence: segments.map((s) => PRECEDENCE[s.kind]),
    match(path: string): Record<string, string> | null {
      const normalized = '/' + path.replace(/^\/+/, '');
      const found = pattern.exec(normalized === '/' ? '' : normalized);
      if (!found) return null;
      const values: Record<string, string> = {};
      parameters.forEach((parameter, index) => {
        const raw = found[index + 1];
        // An empty catch-all is absent, as in ASP.NET.
        if (raw !== undefined && raw !== '') values[parameter.name] = decodeSegment(raw);
      });
      return values;
    },
  };
}

function segmentPattern(segment: Segment): string {
  switch (segment.kind) {
    case 'literal':
      return '/' + escapeRegExp(segment.text);
    case 'parameter':
      return '/([^/]+)';
    case 'catchAll':
      return '(?:/(.*))?';
  }
}

function parseSegment(segment: string, source: string): Segment {
  if (segment === '') throw new Error(`Route "${source}": empty segment.`);
  if (!/[{}]/.test(segment)) return { kind: 'literal', text: segment };
  const parameter = /^\{(\*?)([A-Za-z_][\w-]*)\}$/.exec(segment);
  if (parameter) return { kind: parameter[1] ? 'catchAll' : 'parameter', name: parameter[2] ?? '' };
  if (segment.includes('{') && !segment.includes('}')) throw new Error(`Route "${source}": unclosed "{".`);
  throw new Error(`Route "${source}": unsupported segment "${segment}": the local host serves only literals, {name} and a final {*rest}.`);
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    // A malformed escape is passed through as written rather than failing the whole request.
    return raw;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
