/** The most of an error body read: enough for any service's error object, not enough to hold a caller. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * Reads a non-2xx body (a Node stream or a fetch body, both async iterables of bytes), stopping after 64 KB, so a
 * huge or endless body cannot hold the caller; leaving the loop early cancels the rest.
 */
export async function readErrorBody(body: AsyncIterable<Uint8Array | string> | null | undefined): Promise<string> {
  if (!body) return '';
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body) {
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (text.length > ERROR_BODY_LIMIT) break;
  }
  return text;
}
