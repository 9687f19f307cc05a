import { ValidationError } from './errors.js';

/**
 * The SSE `id:` of an event of a reply's stream: how much of the reply (UTF-16 code units) the client holds once it
 * has that event — `0` for `message.created`, the length after it for a `message.delta`, and that length with
 * `-end` for the terminal event. Deltas are never empty, so ids increase in the order sent, and an id alone says
 * exactly where a resumed stream picks up: `content.slice(length)`.
 */
export function streamEventId(length: number, terminal = false): string {
  return terminal ? `${length}-end` : String(length);
}

const EVENT_ID = /^(0|[1-9][0-9]{0,15})(-end)?$/;

/** The reply length an event id stands for; a `Last-Event-ID` this service could not have sent is a 400. */
export function parseStreamEventId(id: string, field: string): number {
  const match = EVENT_ID.exec(id);
  const length = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(length)) {
    throw new ValidationError(`${field} is not an event id of this stream.`, [{ field, message: 'not an event id this service sent' }]);
  }
  return length;
}
