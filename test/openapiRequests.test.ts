import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../src/config.js';
import {
  createConversationSchema, exportQuery, feedbackSchema, listConversationsQuery, listMessagesQuery, patchConversationSchema, postMessageSchema, regenerateSchema,
  settingsSchema, streamQuery, usageQuery,
} from '../src/http/schemas.js';

/**
 * The request shapes live in zod (src/http/schemas.ts), which the handlers validate with; docs/openapi.json describes
 * them by hand. This holds the two together: each request component, resolved, equals `z.toJSONSchema` of its zod
 * schema (field names, required, types, bounds), and each query parameter's bounds, enum and default are what the
 * zod query schema accepts and fills in. Descriptions are the document's own.
 */

type Json = { readonly [key: string]: unknown };
interface Parameter { readonly name: string; readonly in: string; readonly schema: Json }
interface OpenApi {
  readonly paths: Readonly<Record<string, Readonly<Record<string, { operationId: string; parameters?: readonly Json[]; requestBody?: Json }>>>>;
  readonly components: { readonly schemas: Readonly<Record<string, Json>>; readonly parameters: Readonly<Record<string, Parameter>> };
}

const doc = JSON.parse(readFileSync(new URL('../docs/openapi.json', import.meta.url), 'utf8')) as OpenApi;
/** The service's default MAX_CONTENT_CHARS, which the document states as the content's maxLength. */
const maxContentChars = loadConfig({ AUTH_MODE: 'dev' }).limits.maxContentChars;

const BODIES: Readonly<Record<string, z.ZodType>> = {
  SettingsInput: settingsSchema,
  CreateConversationRequest: createConversationSchema,
  PatchConversationRequest: patchConversationSchema,
  PostMessageRequest: postMessageSchema(maxContentChars),
  FeedbackRequest: feedbackSchema,
  RegenerateRequest: regenerateSchema,
};
const QUERIES: Readonly<Record<string, z.ZodType>> = {
  listConversations: listConversationsQuery,
  listMessages: listMessagesQuery,
  streamMessage: streamQuery,
  exportConversation: exportQuery,
  getUsage: usageQuery,
};
const ANNOTATIONS = new Set(['description', 'default', 'examples', 'title', '$schema']);

/**
 * What zod checks with a refinement, which JSON Schema cannot carry: the document states it as the keyword nearest
 * its meaning. Each is kept only while zod enforces it (checked below), so neither side can drift alone.
 */
const REFINEMENTS: readonly { readonly component: string; readonly path: readonly string[]; readonly keyword: Json; readonly accepts: unknown; readonly refuses: unknown }[] = [
  // "Not blank": zod trims before it checks; the document says at least one character (and "not blank" in words).
  { component: 'PostMessageRequest', path: ['properties', 'content'], keyword: { minLength: 1 }, accepts: { content: 'x' }, refuses: { content: ' \n' } },
  {
    component: 'PostMessageRequest', path: ['properties', 'extra', 'properties', 'logitBias'], keyword: { maxProperties: 300 },
    accepts: { content: 'x', extra: { logitBias: biases(300) } }, refuses: { content: 'x', extra: { logitBias: biases(301) } },
  },
  {
    component: 'RegenerateRequest', path: ['properties', 'extra', 'properties', 'logitBias'], keyword: { maxProperties: 300 },
    accepts: { extra: { logitBias: biases(300) } }, refuses: { extra: { logitBias: biases(301) } },
  },
];

function biases(n: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), 1]));
}

function resolve(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(resolve);
  if (node === null || typeof node !== 'object') return node;
  const ref = (node as Json).$ref;
  if (typeof ref === 'string') {
    return resolve(ref.slice(2).split('/').reduce<unknown>((n, key) => (n as Json)[key], doc));
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v)]));
}

/** One spelling for what both sides can say two ways; annotations dropped. */
function normalize(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalize);
  if (node === null || typeof node !== 'object') return node;
  let schema = node as Json;
  const anyOf = schema.anyOf as Json[] | undefined;
  // zod writes a nullable field as anyOf [T, null]; the document as type [T, "null"].
  if (anyOf?.length === 2 && anyOf.some((s) => s.type === 'null')) {
    const { anyOf: _anyOf, ...rest } = schema;
    const other = anyOf.find((s) => s.type !== 'null')!;
    schema = { ...rest, ...other, type: [other.type, 'null'] };
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key)) continue;
    if (key === 'pattern' && typeof value === 'string') out[key] = value.replaceAll('\\d', '[0-9]');
    else if (key === 'required' || (key === 'type' && Array.isArray(value))) out[key] = [...(value as string[])].sort();
    // Field names, not keywords: a field may be called `title` or `description`.
    else if (key === 'properties') out[key] = Object.fromEntries(Object.entries(value as Json).map(([name, field]) => [name, normalize(field)]));
    // Property names are strings by definition.
    else if (key === 'propertyNames') out[key] = normalize(Object.fromEntries(Object.entries(value as Json).filter(([k]) => k !== 'type')));
    else out[key] = normalize(value);
  }
  return out;
}

function at(schema: unknown, path: readonly string[]): Record<string, unknown> {
  return path.reduce<unknown>((n, key) => (n as Json)[key], schema) as Record<string, unknown>;
}

function zodSide(component: string): unknown {
  const generated = structuredClone(z.toJSONSchema(BODIES[component]!, { io: 'input' })) as unknown;
  for (const r of REFINEMENTS.filter((x) => x.component === component)) Object.assign(at(generated, r.path), r.keyword);
  return normalize(generated);
}

function queryParameters(operationId: string): Parameter[] {
  const op = Object.values(doc.paths).flatMap((item) => Object.values(item)).find((o) => o.operationId === operationId);
  if (!op) throw new Error(`no operation ${operationId}`);
  return (op.parameters ?? []).map((p) => resolve(p) as Parameter).filter((p) => p.in === 'query');
}

const accepts = (schema: z.ZodType, value: unknown): boolean => schema.safeParse(value).success;

describe('docs/openapi.json request components against the zod schemas', () => {
  it('maps every request body the document names to a zod schema', () => {
    const named = Object.values(doc.paths).flatMap((item) => Object.values(item)).flatMap((op) => {
      const ref = (op.requestBody as { content?: Record<string, { schema?: { $ref?: string } }> } | undefined)?.content?.['application/json']?.schema?.$ref;
      return ref ? [ref.split('/').at(-1)!] : [];
    });
    expect(named.sort()).toEqual(Object.keys(BODIES).filter((k) => k !== 'SettingsInput').sort());
  });

  for (const component of Object.keys(BODIES)) {
    it(`${component}: the same fields, required fields, types and bounds`, () => {
      expect(normalize(resolve(doc.components.schemas[component]))).toEqual(zodSide(component));
    });
  }

  it('states each refinement zod checks beyond JSON Schema, and zod enforces each', () => {
    for (const r of REFINEMENTS) {
      const documented = at(resolve(doc.components.schemas[r.component]), r.path);
      expect([r.component, r.path, documented]).toEqual([r.component, r.path, expect.objectContaining(r.keyword)]);
      expect([r.path, accepts(BODIES[r.component]!, r.accepts), accepts(BODIES[r.component]!, r.refuses)]).toEqual([r.path, true, false]);
    }
  });

  for (const operationId of Object.keys(QUERIES)) {
    it(`${operationId}: the query parameters zod accepts, with the document's bounds, enum and default`, () => {
      const schema = QUERIES[operationId]!;
      const params = queryParameters(operationId);
      const zodNames = Object.keys((z.toJSONSchema(schema, { io: 'input' }) as { properties: Json }).properties);
      expect(params.map((p) => p.name).sort()).toEqual(zodNames.sort());
      const parsed = (value: Json): Json => schema.parse(value) as Json;
      for (const { name, schema: s } of params) {
        expect([name, name in parsed({}) ? parsed({})[name] : undefined]).toEqual([name, s.default]);
        if (s.type === 'integer') {
          const [min, max] = [s.minimum as number, s.maximum as number];
          expect([name, parsed({ [name]: String(min) })[name], parsed({ [name]: String(max) })[name]]).toEqual([name, min, max]);
          expect([name, accepts(schema, { [name]: String(min - 1) }), accepts(schema, { [name]: String(max + 1) })]).toEqual([name, false, false]);
        } else if (Array.isArray(s.enum)) {
          for (const value of s.enum) expect(parsed({ [name]: value })[name]).toBe(value);
          expect(accepts(schema, { [name]: 'other' })).toBe(false);
        } else if (s.format === 'date') {
          expect([name, accepts(schema, { [name]: '2024-02-29' }), accepts(schema, { [name]: '2026-02-29' }), accepts(schema, { [name]: 'today' })]).toEqual([name, true, false, false]);
        } else {
          const [min, max] = [s.minLength as number, s.maxLength as number];
          expect([name, accepts(schema, { [name]: 'x'.repeat(min) }), accepts(schema, { [name]: 'x'.repeat(max) })]).toEqual([name, true, true]);
          expect([name, accepts(schema, { [name]: 'x'.repeat(min - 1) }), accepts(schema, { [name]: 'x'.repeat(max + 1) })]).toEqual([name, false, false]);
        }
      }
      expect(accepts(schema, { undocumented: '1' })).toBe(false);
    });
  }
});
