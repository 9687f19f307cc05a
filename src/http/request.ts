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

/**
 * Reads a JSON body within the size limit. An absent body is `{}`; a body that is not JSON is 415 (wrong type)
 * or 400 (malformed).
 */
export async function readJson(request: HttpRequest, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new ChatError('payload_too_large', `The body is larger than ${maxBytes} bytes.`, { limit: maxBytes });
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBytes) throw new ChatError('payload_too_large', `The body is larger than ${maxBytes} bytes.`, { limit: maxBytes });
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
