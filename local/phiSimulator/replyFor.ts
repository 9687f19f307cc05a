import type { PromptMessage } from '../../src/chat/ports.js';
import { TITLE_INSTRUCTION } from '../../src/chat/titlePrompt.js';

/** The seed's example question and the answer the seed shows for it. */
export const SEED_QUESTION = 'How many languages are in the world?';
export const SEED_ANSWER =
  "As of now, it's estimated that there are about 7,000 languages spoken around the world. However, this number can vary as some languages become extinct and new ones develop. It's also important to note that the number of speakers can greatly vary between languages, with some having millions of speakers and others only a few hundred.";

const OPENING = 'This is a reply from the local Phi simulator.';

const WORDS = [
  'river', 'stone', 'cloud', 'garden', 'window', 'signal', 'harbor', 'lantern', 'meadow', 'engine', 'paper', 'orbit',
  'copper', 'forest', 'violet', 'bridge', 'ember', 'falcon', 'glacier', 'island', 'jasmine', 'kettle', 'ladder',
  'marble', 'needle', 'oasis', 'pepper', 'quartz', 'ribbon', 'saddle', 'thistle', 'umbrella', 'velvet', 'walnut',
  'yarrow', 'zephyr', 'amber', 'basket', 'candle', 'dune', 'echo', 'fable', 'granite', 'hollow', 'ivory', 'juniper',
  'kernel', 'lagoon', 'mosaic', 'nectar', 'opal', 'prairie', 'quiver', 'ripple', 'summit', 'tundra', 'upland',
  'vessel', 'willow', 'canyon', 'beacon', 'cedar', 'delta', 'estuary',
] as const;

/** FNV-1a over the prompt, so the same prompt always gets the same reply. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * What a model would name a conversation: the message's first words, so a local chat list reads like one (the
 * service's title call sends {@link TITLE_INSTRUCTION}, folded into the user message for models without a system role).
 */
function titleFor(message: string): string {
  const words = message.replace(TITLE_INSTRUCTION, '').trim().split(/\s+/).filter(Boolean).slice(0, 6);
  const title = words.join(' ').replace(/[.!?,;:]+$/, '');
  return title ? title.charAt(0).toUpperCase() + title.slice(1) : 'New chat';
}

/**
 * The simulator's deterministic reply: a title for the service's title call (its first words), otherwise the
 * seed's answer to the seed's question, otherwise a fixed opening sentence followed by `words` words picked by a generator seeded from the prompt (and the request's `seed`).
 */
export function replyFor(messages: readonly PromptMessage[], words: number, seed = 0): string {
  const last = messages.at(-1);
  if (last?.role === 'user' && last.content.trim() === SEED_QUESTION) return SEED_ANSWER;
  if (messages.some((m) => m.content.includes(TITLE_INSTRUCTION))) return titleFor(last?.content ?? '');
  let state = (hash(JSON.stringify(messages)) ^ seed) >>> 0 || 1;
  const picked: string[] = [];
  for (let i = 0; i < words; i += 1) {
    // xorshift32: cheap, deterministic, good enough to vary the words
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    picked.push(WORDS[state % WORDS.length] ?? 'word');
  }
  return picked.length === 0 ? OPENING : `${OPENING} ${picked.join(' ')}.`;
}
