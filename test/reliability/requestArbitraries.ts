import fc from 'fast-check';

/** One request as the fuzzer builds it: raw enough to carry what `fetch` would refuse. */
export interface FuzzRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
  /** Node's HTTP parser may refuse it before the app sees it (bare 400/431 with no body). */
  readonly parserMayRefuse: boolean;
}

/** The ids a fuzz run can aim at: its own conversation, another user's, and one that does not exist. */
export interface Targets {
  readonly user: string;
  readonly own: string;
  readonly victim: string;
  readonly missing: string;
}

const weird = fc.constantFrom(
  '', ' ', '\u0000', '\u0007', '\u001b[31m', '\u007f', '\u2028', '\u200b', '\ud800', '\udfff', '\ud83d\ude00', '%',
  '%00', '%E0%A4%A', '%ED%A0%80', '..', '/', '\\', '__proto__', 'constructor', 'prototype', 'null', 'NaN', '-1', '0',
  '1e309', '9007199254740993', 'a'.repeat(10_000), '<script>', "' OR 1=1 --", '${x}', '\r\n',
);

/** Strings with the troublemakers mixed in: control characters, lone surrogates, huge lengths. */
export const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: weird },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('\ud800', '\udc00', '\u0000', 'a', 'é', '\u{1F600}'), maxLength: 20 }) },
  { weight: 1, arbitrary: fc.nat({ max: 500_000 }).map((n) => 'x'.repeat(n)) },
);

const pollutionKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty');

/** Any JSON value, with prototype-pollution keys and nasty strings in it. */
const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(), fc.double(), fc.integer(), nastyString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(pollutionKeys, fc.string({ maxLength: 8 })), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const boundaryNumber = fc.oneof(
  fc.constantFrom(-1, 0, 1, 2, 2.0000001, -2.0000001, 1e308, -1e308, 131_072, 131_073, 4096, 2 ** 53, 0.5, -0),
  fc.double({ noNaN: true }),
  fc.integer(),
  nastyString,
  fc.constant(null),
);

const settings = fc.dictionary(
  fc.oneof(fc.constantFrom('temperature', 'topP', 'maxTokens', 'stop', 'presencePenalty', 'frequencyPenalty', 'seed'), pollutionKeys),
  fc.oneof(boundaryNumber, fc.array(nastyString, { maxLength: 6 })),
  { maxKeys: 4 },
);

/** A JSON text for a body: field-shaped objects, anything at all, deep nesting, duplicate and `__proto__` keys. */
const jsonText: fc.Arbitrary<string> = fc.oneof(
  fc.record(
    {
      title: nastyString, model: nastyString, systemPrompt: fc.oneof(nastyString, fc.constant(null)), settings,
      content: nastyString, extra: anyJson,
    },
    { requiredKeys: [] },
  ).map((o) => JSON.stringify(o)),
  anyJson.map((v) => JSON.stringify(v) ?? 'null'),
  fc.integer({ min: 1, max: 200_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 50_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  nastyString.map((s) => `{"__proto__":{"polluted":true},"content":${JSON.stringify(s)},"title":"x"}`),
  fc.constant('{"content":"a","content":"b"}'),
  fc.constant('{"title":"x","constructor":{"prototype":{"polluted":true}}}'),
  fc.constant('{"content":"\\ud800 lone"}'),
  nastyString, // not JSON at all, mostly
);

/** Bodies that pass (or nearly pass) validation, so generated requests also reach the handlers and the store. */
const plausible = fc.oneof(
  fc.record({ title: fc.string({ maxLength: 30 }) }, { requiredKeys: [] }),
  fc.record(
    { content: fc.string({ minLength: 1, maxLength: 30 }), settings: fc.record({ temperature: fc.double({ min: 0, max: 2, noNaN: true }), maxTokens: fc.integer({ min: 1, max: 200 }) }, { requiredKeys: [] }) },
    { requiredKeys: ['content'] },
  ),
).map((o) => JSON.stringify(o));

const bodyBytes: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: plausible.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 6, arbitrary: jsonText.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) }, // invalid UTF-8, mostly
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 1, arbitrary: fc.constant(Buffer.concat([Buffer.from('{"content":"'), Buffer.alloc(1_100_000, 97), Buffer.from('"}')])) },
);

/** Percent-encodes a string's UTF-8 bytes; lone surrogates go out as their WTF-8 bytes, which no UTF-8 decoder accepts. */
function encode(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    const bytes = code >= 0xd800 && code <= 0xdfff
      ? [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
      : [...Buffer.from(ch, 'utf8')];
    out += /^[A-Za-z0-9_.~-]$/.test(ch) ? ch : bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

/** A path segment: sometimes raw (malformed escapes left as they are), mostly encoded. */
const segment = (valid: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 5, arbitrary: valid },
    { weight: 1, arbitrary: weird.filter((w) => /^[\x21-\x7e]*$/.test(w)) }, // raw: malformed escapes, dots, slashes
    { weight: 2, arbitrary: nastyString.map(encode) },
  );

const queryKeys = fc.constantFrom('limit', 'cursor', 'order', 'from', 'to', '__proto__', 'constructor', 'limit[]', 'x');
const queryValues = fc.oneof(
  fc.constantFrom('1', '0', '100', '101', '-5', '1.5', '99999', 'asc', 'desc', 'ASC', '2026-06-01', '2026-02-30', '0000-01-01', '9999-12-31', '2025-06-01', 'e30', 'eyJjIjoieCJ9'),
  nastyString.map((s) => s.slice(0, 9000)),
);
const query = fc
  .array(fc.tuple(queryKeys, queryValues, fc.boolean()), { maxLength: 4 })
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v, raw]) => `${encode(k)}=${raw ? v.replace(/[^\x21-\x7e]/g, '') : encode(v)}`).join('&')}` : ''));

/** A header value: printable ASCII (fetch-safe), Latin-1, or control characters Node's parser may refuse. */
const headerValue = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 20 }) },
  { weight: 2, arbitrary: fc.constantFrom('', '"', '""', '*', 'W/"x"', '"a", "b"', 'application/json', 'text/event-stream', 'x'.repeat(20_000)) },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x00, max: 0x1f }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 3 }) },
);

/**
 * Identity headers no caller id can come from: empty, too long, invisible characters. (Padding is not among them:
 * HTTP strips a header value's surrounding spaces before anyone reads it.)
 */
const badUser = fc.constantFrom('', 'x'.repeat(129), '\u00ad', '\u0085x', 'a\u00adb');

const methods = fc.oneof(
  { weight: 3, arbitrary: fc.constant('GET') },
  { weight: 3, arbitrary: fc.constant('POST') },
  { weight: 2, arbitrary: fc.constant('PATCH') },
  { weight: 1, arbitrary: fc.constant('DELETE') },
  { weight: 1, arbitrary: fc.constantFrom('PUT', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND') },
);

/**
 * Any request to any route: paths built from the route table with good and bad ids, generated query strings,
 * headers and bodies. `user` is the fuzz caller most of the time, but identity headers are fuzzed too.
 */
export function anyRequest(t: Targets, opts: { validUser: boolean } = { validUser: false }): fc.Arbitrary<FuzzRequest> {
  const id = segment(fc.constantFrom(t.own, t.victim, t.missing));
  const path = fc.oneof(
    query.map((q) => `/api/conversations${q}`),
    id.map((i) => `/api/conversations/${i}`),
    fc.tuple(id, query).map(([i, q]) => `/api/conversations/${i}/messages${q}`),
    query.map((q) => `/api/usage${q}`),
    fc.constantFrom('/api/model', '/api/health', '/api/', '/api', '/', '/api/conversations/', '/api//conversations', '/api/conversations/x/messages/y'),
    segment(fc.constant('x')).map((s) => `/api/${s}`),
  );
  const user = opts.validUser
    ? fc.constant([['x-user-id', t.user]] as [string, string][])
    : fc.oneof(
      { weight: 8, arbitrary: fc.constant([['x-user-id', t.user]] as [string, string][]) },
      { weight: 1, arbitrary: badUser.map((v) => [['x-user-id', v]] as [string, string][]) },
      { weight: 1, arbitrary: headerValue.map((v) => [['x-user-id', v]] as [string, string][]) },
      { weight: 1, arbitrary: fc.constant([] as [string, string][]) },
    );
  const extraHeaders = fc.array(
    fc.tuple(fc.constantFrom('content-type', 'accept', 'idempotency-key', 'if-match', 'x-ms-client-principal', 'authorization', 'x-user-id'), headerValue),
    { maxLength: 2 },
  );
  const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/problem+json', 'text/plain', '');
  return fc
    .record({ method: methods, path, user, extraHeaders, contentType, body: bodyBytes, accept: fc.constantFrom('application/json', 'text/event-stream', '') })
    .map(({ method, path, user, extraHeaders, contentType, body, accept }) => {
      const headers: [string, string][] = [...user];
      if (contentType) headers.push(['content-type', contentType]);
      if (accept) headers.push(['accept', accept]);
      headers.push(...extraHeaders);
      const headSize = path.length + headers.reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
      // eslint-disable-next-line no-control-regex -- control characters are exactly what Node's parser refuses
      const parserMayRefuse = headSize > 16_000 || /[^\x21-\x7e]/.test(path) || headers.some(([, v]) => /[\x00-\x08\x0a-\x1f\x7f]/.test(v));
      const sendsBody = method !== 'GET' && method !== 'HEAD';
      return { method, target: path, headers, body: sendsBody ? body : Buffer.alloc(0), parserMayRefuse };
    });
}


/**
 * Requests the service must refuse (or only read): a bad identity, another user's or an unknown id, a body with
 * an unknown field, a method no route serves. None may change what is stored.
 */
export function invalidRequest(t: Targets): fc.Arbitrary<FuzzRequest> {
  const base = anyRequest(t, { validUser: true });
  const notMine = fc.constantFrom(t.victim, t.missing);
  const withUnknownField = (body: Buffer): Buffer => {
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        return Buffer.from(JSON.stringify({ ...parsed, zz_unknown: 1 }));
      }
    } catch {
      // not JSON: already invalid
    }
    return body.length ? body : Buffer.from('{"zz_unknown":1}');
  };
  const json: [string, string] = ['content-type', 'application/json'];
  return fc.oneof(
    fc.tuple(base, badUser).map(([r, u]) => ({
      ...r, headers: [['x-user-id', u] as const, ...r.headers.filter(([n]) => n !== 'x-user-id')],
    })),
    fc.tuple(base, notMine, fc.constantFrom('', '/messages')).map(([r, id, tail]) => ({
      ...r, target: `/api/conversations/${id}${tail}`, headers: r.headers.filter(([n]) => n !== 'x-user-id').concat([['x-user-id', t.user]]),
    })),
    fc.tuple(base, fc.constantFrom(['POST', '/api/conversations'], ['PATCH', `/api/conversations/${t.own}`], ['POST', `/api/conversations/${t.own}/messages`])).map(
      ([r, [method, target]]) => ({
        ...r, method, target, body: withUnknownField(r.body),
        headers: [['x-user-id', t.user] as const, json, ...r.headers.filter(([n]) => n !== 'x-user-id' && n !== 'content-type' && n !== 'authorization' && n !== 'x-ms-client-principal')],
      }),
    ),
    base.map((r) => ({ ...r, method: r.method === 'GET' ? 'GET' : 'PUT' })),
  );
}
