/**
 * A small JSON Schema (draft 2020-12) checker for the subset docs/openapi.json uses. Kept here instead of a
 * validator dependency: the subset is a page of code, and refusing every keyword it does not know means the
 * document cannot use a keyword that would silently go unchecked.
 */

export type JsonSchema = { readonly [keyword: string]: unknown };

/** Keywords that describe and never constrain. */
const ANNOTATIONS = new Set(['description', 'title', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', '$comment']);

const CHECKED = new Set([
  '$ref', 'type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'propertyNames', 'maxProperties',
  'items', 'minItems', 'maxItems', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'format',
]);

const FORMATS: Readonly<Record<string, RegExp>> = {
  'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  if (type === 'integer') return Number.isInteger(value);
  return typeOf(value) === type;
}

function resolveRef(root: unknown, ref: string): JsonSchema {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}: only local refs`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  }
  if (typeof node !== 'object' || node === null) throw new Error(`unresolved $ref ${ref}`);
  return node as JsonSchema;
}

/**
 * Checks `value` against `schema`, resolving `$ref`s in `root`. Returns one message per failure, each with the
 * JSON path of the value (`$.items[0].status`); empty when the value conforms. Throws on a keyword outside the
 * subset, so a schema cannot be silently weaker than it reads.
 */
export function validate(schema: JsonSchema, value: unknown, root: unknown, path = '$'): string[] {
  for (const keyword of Object.keys(schema)) {
    if (!CHECKED.has(keyword) && !ANNOTATIONS.has(keyword)) throw new Error(`${path}: unsupported schema keyword "${keyword}"`);
  }
  if (typeof schema.$ref === 'string') {
    const { $ref: _ref, ...siblings } = schema;
    return [...validate(resolveRef(root, schema.$ref), value, root, path), ...validate(siblings, value, root, path)];
  }
  const errors: string[] = [];
  const fail = (message: string) => errors.push(`${path}: ${message}`);

  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => hasType(value, t))) {
      fail(`expected ${types.join(' | ')}, got ${typeOf(value)}`);
      return errors;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => e === value)) fail(`${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if ('const' in schema && schema.const !== value) fail(`expected ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);

  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail(`${value} < minimum ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail(`${value} > maximum ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof schema.minLength === 'number' && length < schema.minLength) fail(`shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && length > schema.maxLength) fail(`longer than ${schema.maxLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) fail(`${JSON.stringify(value)} does not match ${schema.pattern}`);
    if (typeof schema.format === 'string') {
      const format = FORMATS[schema.format];
      if (!format) throw new Error(`${path}: unsupported format "${schema.format}"`);
      if (!format.test(value) || Number.isNaN(Date.parse(value))) fail(`${JSON.stringify(value)} is not a ${schema.format}`);
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail(`fewer than ${schema.minItems} items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) fail(`more than ${schema.maxItems} items`);
    if (schema.items !== undefined) value.forEach((item, i) => errors.push(...validate(schema.items as JsonSchema, item, root, `${path}[${i}]`)));
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in object)) fail(`missing required "${key}"`);
    if (typeof schema.maxProperties === 'number' && Object.keys(object).length > schema.maxProperties) fail(`more than ${schema.maxProperties} properties`);
    for (const [key, member] of Object.entries(object)) {
      const at = `${path}.${key}`;
      if (schema.propertyNames !== undefined) errors.push(...validate(schema.propertyNames as JsonSchema, key, root, `${at}(name)`));
      const own = properties[key];
      if (own) errors.push(...validate(own, member, root, at));
      else if (schema.additionalProperties === false) errors.push(`${at}: not a documented property`);
      else if (typeof schema.additionalProperties === 'object' && schema.additionalProperties !== null) {
        errors.push(...validate(schema.additionalProperties as JsonSchema, member, root, at));
      }
    }
  }
  return errors;
}

/**
 * Throws unless `schema` and every schema inside it use only the keywords {@link validate} checks or ignores as
 * annotations, and every `$ref` resolves: proves the document never leans on a keyword this checker skips.
 */
export function assertSubset(schema: JsonSchema, root: unknown, path = '$', seen: Set<JsonSchema> = new Set()): void {
  if (seen.has(schema)) return;
  seen.add(schema);
  for (const keyword of Object.keys(schema)) {
    if (!CHECKED.has(keyword) && !ANNOTATIONS.has(keyword)) throw new Error(`${path}: unsupported schema keyword "${keyword}"`);
  }
  if (typeof schema.format === 'string' && !FORMATS[schema.format]) throw new Error(`${path}: unsupported format "${schema.format}"`);
  if (typeof schema.$ref === 'string') assertSubset(resolveRef(root, schema.$ref), root, schema.$ref, seen);
  for (const [key, child] of Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>)) assertSubset(child, root, `${path}.${key}`, seen);
  for (const keyword of ['items', 'additionalProperties', 'propertyNames'] as const) {
    const child = schema[keyword];
    if (typeof child === 'object' && child !== null) assertSubset(child as JsonSchema, root, `${path}/${keyword}`, seen);
  }
}
