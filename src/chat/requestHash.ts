import { createHash } from 'node:crypto';
import type { ConversationSettings } from './conversation.js';
import type { ExtraParameters } from './ports.js';
import type { TurnRequest } from './turnTypes.js';

/**
 * Every field of the request, in a fixed order: an `Idempotency-Key` replays its turn only for a request whose
 * fields are all equal, however the client ordered them. The order is the request schema's, so a digest stored
 * before the core computed it (the edge hashed the parsed body) still matches. A `Record` of every key makes
 * a new field fail to compile until it is hashed too.
 */
const SETTINGS: Record<keyof ConversationSettings, true> = {
  temperature: true, topP: true, maxTokens: true, stop: true, presencePenalty: true, frequencyPenalty: true, seed: true,
};
const EXTRA: Record<keyof ExtraParameters, true> = { logprobs: true, topLogprobs: true, logitBias: true };

/** The digest an idempotency record keeps of the request that made it: the same key with another request is refused. */
export function requestHash(request: TurnRequest): string {
  const canonical = {
    content: request.content,
    settings: ordered(request.settings, SETTINGS),
    extra: ordered(request.extra, EXTRA),
    // Where in the tree: a send after another parent, or a regeneration of a message, is another request.
    parentId: request.target?.kind === 'send' ? request.target.parentId : undefined,
    regenerate: request.target?.kind === 'regenerate' ? request.target.messageId : undefined,
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}

/** `value`'s fields in `order`'s order (JSON leaves out the absent ones). */
function ordered<T extends object>(value: T | undefined, order: Record<keyof T, true>): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(order) as (keyof T & string)[]) fields[key] = value[key];
  return fields;
}
