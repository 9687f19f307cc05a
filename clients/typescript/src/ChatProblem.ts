import type { ProblemBody, ProblemCode } from './types.js';

/**
 * An RFC 9457 problem the service answered (or an `error` event of a stream), as a throwable. `code` is the
 * contract's machine-readable code; codes this client does not know yet still arrive as strings.
 */
export class ChatProblem extends Error {
  override readonly name = 'ChatProblem';
  readonly status: number;
  readonly code: ProblemCode | (string & {});
  readonly detail: string;
  /** Seconds to wait before trying again (`Retry-After`), where the service said. */
  readonly retryAfter: number | undefined;
  /** The whole problem object, extensions included (`errors`, `dailyTokenLimit`, `window`…). */
  readonly body: Partial<ProblemBody> & Record<string, unknown>;

  /** `code` may be one of the client's own: `connection_lost` when a stream could not be resumed. */
  constructor(body: Record<string, unknown>, retryAfter?: number) {
    const detail = typeof body.detail === 'string' ? body.detail : typeof body.title === 'string' ? body.title : 'The request failed.';
    super(detail);
    this.status = typeof body.status === 'number' ? body.status : 0;
    this.code = typeof body.code === 'string' ? body.code : 'internal';
    this.detail = detail;
    this.retryAfter = retryAfter ?? (typeof body.retryAfter === 'number' ? body.retryAfter : undefined);
    this.body = body as Partial<ProblemBody> & Record<string, unknown>;
  }

  /** A non-2xx response as a problem; a body that is not a problem (a proxy's HTML page) keeps the status. */
  static async fromResponse(response: Response): Promise<ChatProblem> {
    const text = await response.text().catch(() => '');
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: described by the status alone.
    }
    const header = response.headers.get('retry-after');
    const seconds = header === null ? undefined : Number(header);
    return new ChatProblem(
      { status: response.status, detail: text.slice(0, 200) || `HTTP ${response.status}`, ...body },
      seconds !== undefined && Number.isFinite(seconds) ? seconds : undefined,
    );
  }
}
