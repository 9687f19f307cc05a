import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/chat/errors.js';
import { createCallerResolver } from '../../src/http/caller.js';

const resolver = createCallerResolver({ mode: 'dev', jwtIssuer: undefined, jwtAudience: undefined, jwtJwksUri: undefined, appServiceAuthOff: false });
const headers = (values: Record<string, string>) => ({ get: (name: string) => values[name.toLowerCase()] ?? null });

describe('AUTH_MODE=dev', () => {
  it('acts for x-user-id when it is sent', async () => {
    await expect(resolver.resolve(new Headers({ 'x-user-id': 'alice' }))).resolves.toEqual({ userId: 'alice' });
    await expect(resolver.resolve(headers({ 'x-user-id': 'x'.repeat(128) }))).resolves.toEqual({ userId: 'x'.repeat(128) });
    await expect(resolver.resolve(headers({ 'x-user-id': 'émilie@example.com' }))).resolves.toEqual({ userId: 'émilie@example.com' });
  });

  it('acts for local-user when x-user-id is missing', async () => {
    await expect(resolver.resolve(new Headers())).resolves.toEqual({ userId: 'local-user' });
  });

  it('ignores the identity headers of the other modes', async () => {
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal-id': 'bob', authorization: 'Bearer x.y.z' }))).resolves.toEqual({
      userId: 'local-user',
    });
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(129)],
    ['a control character', 'ali\u0007ce'],
    ['a newline', 'alice\nadmin'],
    ['a zero-width space', 'ali\u200bce'],
    ['a lone surrogate', 'ali\ud800ce'],
    ['surrounding spaces', ' alice '],
  ])('refuses a malformed x-user-id (%s) rather than guessing', async (_name, value) => {
    await expect(resolver.resolve(headers({ 'x-user-id': value }))).rejects.toBeInstanceOf(ValidationError);
  });
});
