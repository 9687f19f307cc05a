import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/model/retryDelayMs.js';

const headers = (h: Record<string, string>) => (name: string) => h[name];
const now = Date.parse('2026-01-01T00:00:00Z');

describe('retryDelayMs', () => {
  it('prefers retry-after-ms, then x-ms-retry-after-ms, then Retry-After', () => {
    expect(retryDelayMs(headers({ 'retry-after-ms': '250', 'x-ms-retry-after-ms': '900', 'retry-after': '7' }), now)).toBe(250);
    expect(retryDelayMs(headers({ 'x-ms-retry-after-ms': '900', 'retry-after': '7' }), now)).toBe(900);
    expect(retryDelayMs(headers({ 'retry-after': '7' }), now)).toBe(7_000);
  });

  it('reads Retry-After as an HTTP date, never negative', () => {
    expect(retryDelayMs(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3_000);
    expect(retryDelayMs(headers({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }), now)).toBe(0);
  });

  it('skips values it cannot read', () => {
    expect(retryDelayMs(headers({ 'retry-after-ms': 'soon', 'retry-after': '2' }), now)).toBe(2_000);
    expect(retryDelayMs(headers({ 'retry-after': 'later' }), now)).toBeUndefined();
    expect(retryDelayMs(headers({ 'retry-after-ms': '-5' }), now)).toBeUndefined();
    expect(retryDelayMs(headers({}), now)).toBeUndefined();
  });
});
