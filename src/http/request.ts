import type { HttpRequest } from '@azure/functions';
import type { z } from 'zod';
import { ChatError, ValidationError, type FieldError } from '../chat/errors.js';

/** Turns zod issues into the contract's `errors` list. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.slice(0, 50).flatMap((issue) => {
    const at = issue.path.map(String);
    // An unknown field is reported by its own name, not by the object that holds it.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...at, key].join('.'), message: 'unknown field' }));
    }
    return [{ field: at.length ? at.join('.') : '(body)', message: issue.message }];
  });
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(`The ${what} is not valid.`, fieldErrors(result.error));
  return result.data;
}

/** The query string as a plain object; a repeated key is a validation error rather than a silent pick. */
export function queryObject(request: HttpRequest): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const key of new Set(request.query.keys())) {
    const values = request.query.getAll(key);
    if (values.length > 1) throw new ValidationError(`The query parameter "${key}" is repeated.`, [{ field: key, message: 'repeated' }]);
    out[key] = values[0] ?? '';
  }
  return out;
}

function tooLarge(maxBytes: number): ChatError {
  return new ChatError('payload_too_large', `The body is larger than ${maxBytes} bytes.`, { limit: maxBytes });
}

/** Reads what is left of a refused body without keeping it, so the connection it came on stays usable. */
async function discard(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      // dropped
    }
  } catch {
    // The client went away or the host cut the body: nothing is owed to it.
  }
}

/**
 * The body's bytes, refused with 413 as soon as more than `maxBytes` arrive, whatever the transfer encoding: at most
 * `maxBytes` are kept (plus the one chunk that crossed the limit). The rest is drained, not buffered: cancelling the
 * stream would reset the connection before the 413 is written.
 */
async function readBounded(request: HttpRequest, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const body = request.body as ReadableStream<Uint8Array> | null;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    size += next.value.byteLength;
    if (size > maxBytes) {
      chunks.length = 0;
      void discard(reader);
      throw tooLarge(maxBytes);
    }
    chunks.push(next.value);
  }
  return chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
}

/**
 * Reads a JSON body within the size limit. An absent body is `{}`; a body that is not JSON is 415 (wrong type)
 * or 400 (malformed). Call it only once the caller is known: an unauthenticated body is never read.
 */
export async function readJson(request: HttpRequest, maxBytes: number): Promise<unknown> {
  const bytes = await readBounded(request, maxBytes);
  if (bytes.byteLength === 0) return {};
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new ChatError('unsupported_media_type', 'The body must be JSON (Content-Type: application/json).');
  }
  let textBody: string;
  try {
    textBody = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ValidationError('The body is not valid UTF-8.', [{ field: '(body)', message: 'not UTF-8' }]);
  }
  try {
    return JSON.parse(textBody) as unknown;
  } catch {
    throw new ValidationError('The body is not valid JSON.', [{ field: '(body)', message: 'malformed JSON' }]);
  }
}
