import { UnauthorizedError } from '../../chat/errors.js';

/**
 * A 401 for `AUTH_MODE=jwt`: the problem mapper sends `challenge` as the `WWW-Authenticate` header
 * (RFC 6750). The detail stays generic: which check failed is logged, never returned.
 */
export class BearerUnauthorizedError extends UnauthorizedError {
  /** `Bearer` when no token was sent, `Bearer error="invalid_token"` when one was refused. */
  readonly challenge: string;

  constructor(tokenSent: boolean) {
    super(tokenSent ? 'The bearer token is not valid.' : 'A bearer token is required.');
    this.challenge = tokenSent ? 'Bearer error="invalid_token"' : 'Bearer';
  }
}
