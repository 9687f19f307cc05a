/**
 * Route templates as the Functions host (ASP.NET Core routing) reads them: literal segments matched
 * case-insensitively, `{name}` parameters, optional `{name?}`, defaults `{name=value}`, catch-all
 * `{*rest}` / `{**rest}`, and inline constraints such as `{id:int}` or `{id:regex(^a\\d+$)}`.
 * Braces inside a template are escaped by doubling them (`{{`, `}}`), as in ASP.NET.
 */

/** A parsed route template that can match request paths. */
export interface RouteTemplate {
  /** The template as written (without the prefix). */
  readonly source: string;
  /** Names of the parameters, in order. */
  readonly parameterNames: readonly string[];
  /** One digit per segment; lower sorts first (ASP.NET inbound precedence: literal 1 … catch-all 5). */
  readonly precedence: readonly number[];
  /** Route values for a path (already stripped of the route prefix), or null when it does not match. */
  match(path: string): Record<string, string> | null;
}

interface LiteralPart {
  readonly kind: 'literal';
  readonly text: string;
}

interface ParameterPart {
  readonly kind: 'parameter';
  readonly name: string;
  readonly optional: boolean;
  readonly catchAll: boolean;
  readonly defaultValue: string | undefined;
  readonly constraints: readonly Constraint[];
}

type Part = LiteralPart | ParameterPart;
type Constraint = (value: string) => boolean;

/**
 * Parses a route template. Throws on a malformed template or an unknown constraint, so a route the
 * local host cannot honour fails at start-up instead of matching differently from Azure.
 */
export function parseRouteTemplate(source: string): RouteTemplate {
  const trimmed = source.replace(/^\/+|\/+$/g, '');
  const segments = trimmed === '' ? [] : trimmed.split('/').map((s) => parseSegment(s, source));
  segments.forEach((parts, index) => {
    for (const part of parts) {
      if (part.kind === 'parameter' && part.catchAll && index !== segments.length - 1) {
        throw new Error(`Route "${source}": a catch-all parameter must be the last segment.`);
      }
    }
  });
  const parameters = segments.flat().filter((p): p is ParameterPart => p.kind === 'parameter');
  const names = parameters.map((p) => p.name.toLowerCase());
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) {
    throw new Error(`Route "${source}": parameter "${duplicate}" appears twice.`);
  }

  const pattern = new RegExp(`^${segments.map(segmentPattern).join('')}/?$`, 'i');
  return {
    source,
    parameterNames: parameters.map((p) => p.name),
    precedence: segments.map(segmentPrecedence),
    match(path: string): Record<string, string> | null {
      const normalized = '/' + path.replace(/^\/+/, '');
      const found = pattern.exec(normalized === '/' ? '' : normalized);
      if (!found) {
        return null;
      }
      const values: Record<string, string> = {};
      for (const [index, parameter] of parameters.entries()) {
        const raw = found[index + 1];
        const value = raw === undefined || raw === '' ? parameter.defaultValue : decodeSegment(raw);
        if (value === undefined) {
          continue;
        }
        if (!parameter.constraints.every((accepts) => accepts(value))) {
          return null;
        }
        values[parameter.name] = value;
      }
      return values;
    },
  };
}

function segmentPattern(parts: readonly Part[]): string {
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only?.kind === 'parameter' && only.catchAll) {
    return '(?:/(.*))?';
  }
  if (only?.kind === 'parameter' && (only.optional || only.defaultValue !== undefined)) {
    return '(?:/([^/]+))?';
  }
  // Complex segments (`{a}.{b}`) use lazy captures; ASP.NET matches them right to left, which only
  // differs for ambiguous templates nobody should write.
  const body = parts
    .map((p) => (p.kind === 'literal' ? escapeRegExp(p.text) : p.optional ? '([^/]*?)' : '([^/]+?)'))
    .join('');
  return '/' + body;
}

function segmentPrecedence(parts: readonly Part[]): number {
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only === undefined) {
    return 2;
  }
  if (only.kind === 'literal') {
    return 1;
  }
  if (only.catchAll) {
    return 5;
  }
  return only.constraints.length > 0 ? 3 : 4;
}

function parseSegment(segment: string, source: string): Part[] {
  if (segment === '') {
    throw new Error(`Route "${source}": empty segment.`);
  }
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < segment.length) {
    const ch = segment[i];
    const next = segment[i + 1];
    if ((ch === '{' && next === '{') || (ch === '}' && next === '}')) {
      literal += ch;
      i += 2;
    } else if (ch === '{') {
      let text = '';
      i += 1;
      for (;;) {
        if (i >= segment.length) {
          throw new Error(`Route "${source}": unclosed "{".`);
        }
        const c = segment[i] as string;
        if ((c === '}' || c === '{') && segment[i + 1] === c) {
          text += c;
          i += 2;
        } else if (c === '}') {
          i += 1;
          break;
        } else {
          text += c;
          i += 1;
        }
      }
      if (literal !== '') {
        parts.push({ kind: 'literal', text: literal });
        literal = '';
      }
      parts.push(parseParameter(text, source));
    } else if (ch === '}') {
      throw new Error(`Route "${source}": unmatched "}".`);
    } else {
      literal += ch;
      i += 1;
    }
  }
  if (literal !== '') {
    parts.push({ kind: 'literal', text: literal });
  }
  if (parts.length > 1 && parts.some((p) => p.kind === 'parameter' && p.catchAll)) {
    throw new Error(`Route "${source}": a catch-all parameter must fill its whole segment.`);
  }
  return parts;
}

function parseParameter(text: string, source: string): ParameterPart {
  let rest = text;
  let catchAll = false;
  if (rest.startsWith('**')) {
    catchAll = true;
    rest = rest.slice(2);
  } else if (rest.startsWith('*')) {
    catchAll = true;
    rest = rest.slice(1);
  }
  let defaultValue: string | undefined;
  const equals = indexAtDepthZero(rest, '=');
  if (equals >= 0) {
    defaultValue = rest.slice(equals + 1);
    rest = rest.slice(0, equals);
  }
  let optional = false;
  if (rest.endsWith('?')) {
    optional = true;
    rest = rest.slice(0, -1);
  }
  const [name = '', ...constraintTexts] = splitAtDepthZero(rest, ':');
  if (!/^[A-Za-z_][\w-]*$/.test(name)) {
    throw new Error(`Route "${source}": bad parameter name "${name}".`);
  }
  if (optional && defaultValue !== undefined) {
    throw new Error(`Route "${source}": parameter "${name}" cannot be optional and have a default.`);
  }
  return {
    kind: 'parameter',
    name,
    optional: optional || catchAll,
    catchAll,
    defaultValue,
    constraints: constraintTexts.map((c) => parseConstraint(c, source)),
  };
}

const INT32 = { min: -(2n ** 31n), max: 2n ** 31n - 1n };
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const GUID = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}|\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\))$/i;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;
const FLOATING = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** The ASP.NET Core inline constraints; the numeric ones use the invariant culture. */
function parseConstraint(text: string, source: string): Constraint {
  const call = /^([a-z]+)(?:\((.*)\))?$/is.exec(text);
  const kind = call?.[1]?.toLowerCase();
  const argument = call?.[2];
  const numbers = (argument ?? '').split(',').map((s) => Number(s.trim()));
  const [first = NaN, second = NaN] = numbers;
  switch (kind) {
    case 'int':
      return (v) => inIntegerRange(v, INT32);
    case 'long':
      return (v) => inIntegerRange(v, INT64);
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'guid':
      return (v) => GUID.test(v);
    case 'decimal':
      return (v) => DECIMAL.test(v);
    case 'double':
    case 'float':
      return (v) => FLOATING.test(v);
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'required':
      return (v) => v !== '';
    case 'file':
      return (v) => /\.[^/]*$/.test(v.slice(v.lastIndexOf('/') + 1));
    case 'nonfile':
      return (v) => !/\.[^/]*$/.test(v.slice(v.lastIndexOf('/') + 1));
    case 'minlength':
      return (v) => v.length >= first;
    case 'maxlength':
      return (v) => v.length <= first;
    case 'length':
      return numbers.length === 2 ? (v) => v.length >= first && v.length <= second : (v) => v.length === first;
    case 'min':
      return (v) => inIntegerRange(v, INT64) && Number(v) >= first;
    case 'max':
      return (v) => inIntegerRange(v, INT64) && Number(v) <= first;
    case 'range':
      return (v) => inIntegerRange(v, INT64) && Number(v) >= first && Number(v) <= second;
    case 'regex': {
      // ASP.NET compiles it with IgnoreCase | CultureInvariant and does not anchor it for you.
      const regex = new RegExp(argument ?? '', 'i');
      return (v) => regex.test(v);
    }
    default:
      throw new Error(`Route "${source}": unsupported route constraint "${text}".`);
  }
}

function inIntegerRange(value: string, range: { min: bigint; max: bigint }): boolean {
  if (!/^[+-]?\d+$/.test(value)) {
    return false;
  }
  const n = BigInt(value);
  return n >= range.min && n <= range.max;
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

function indexAtDepthZero(text: string, char: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
    else if (c === char && depth === 0) return i;
  }
  return -1;
}

function splitAtDepthZero(text: string, char: string): string[] {
  const pieces: string[] = [];
  let rest = text;
  for (let at = indexAtDepthZero(rest, char); at >= 0; at = indexAtDepthZero(rest, char)) {
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  pieces.push(rest);
  return pieces;
}
