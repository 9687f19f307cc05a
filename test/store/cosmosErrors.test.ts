import { describe, expect, it } from 'vitest';
import { cosmosStatus, toChatError } from '../../src/store/cosmosErrors.js';

/** The SDK's own error shape: an Error with a numeric `code`; a batch wraps it as the `cause` of a plain Error. */
function sdkError(code: number): Error {
  return Object.assign(new Error(`status ${code}`), { code });
}
const wrapped = (code: number): Error => new Error('Batch request error: x', { cause: sdkError(code) });

describe('Cosmos errors', () => {
  it('finds the status of a batch error in its cause', () => {
    expect(cosmosStatus(sdkError(404))).toBe(404);
    expect(cosmosStatus(wrapped(412))).toBe(412);
    expect(cosmosStatus(new Error('socket hang up'))).toBeUndefined();
  });

  it('maps a too-large document or batch to payload_too_large, a transport failure to store_unavailable', () => {
    expect(toChatError(wrapped(413)).code).toBe('payload_too_large');
    expect(toChatError(sdkError(413)).code).toBe('payload_too_large');
    expect(toChatError(wrapped(412)).code).toBe('precondition_failed');
    expect(toChatError(wrapped(429)).code).toBe('store_unavailable');
    expect(toChatError(new Error('socket hang up')).code).toBe('store_unavailable');
  });
});
