import type { PromptMessage } from '../ports.js';
import type { ChatTokenizer } from './ChatTokenizer.js';

/**
 * Ids of a text: appended to `out` when it is given, counted either way. Counting alone lets an encoder skip
 * building arrays (Llama-2's chunk cache answers a count without copying).
 */
export type ContentEncoder = (text: string, out: number[] | null) => number;

/**
 * A family's chat template as ids: each message is `open[role]`, its content, `close`; the prompt is `bos`, the
 * messages, `generationPrompt`. It fits only templates whose special tokens cut the text, so that a message's
 * content never merges with its frame or its neighbours: that is what makes counts add up.
 */
export interface ChatTemplate {
  /** Plain text (`encode`, `countText`). */
  readonly text: ContentEncoder;
  /** A message's content between `open` and `close`; `text` unless the template puts plain text around it. */
  readonly content?: ContentEncoder;
  readonly open: Readonly<Record<PromptMessage['role'], readonly number[]>>;
  readonly close: readonly number[];
  /** Ids the prompt starts with (none unless the template has a BOS). */
  readonly bos?: readonly number[];
  /** Ids after the last message, which the model continues from. */
  readonly generationPrompt: readonly number[];
}

function pushAll(out: number[], ids: readonly number[]): void {
  // A loop, not a spread: a long array would exceed the engine's argument limit.
  for (let i = 0; i < ids.length; i++) out.push(ids[i] as number);
}

/** `ChatTokenizer` from a `ChatTemplate`: the counting and prompt assembly every family shares. */
export class TemplateTokenizer implements ChatTokenizer {
  readonly generationPromptTokens: number;
  readonly #template: ChatTemplate;
  readonly #text: ContentEncoder;
  readonly #content: ContentEncoder;
  readonly #frame: Readonly<Record<PromptMessage['role'], number>>;

  constructor(template: ChatTemplate) {
    this.#template = template;
    this.#text = template.text;
    this.#content = template.content ?? template.text;
    const close = template.close.length;
    this.#frame = { system: template.open.system.length + close, user: template.open.user.length + close, assistant: template.open.assistant.length + close };
    this.generationPromptTokens = (template.bos?.length ?? 0) + template.generationPrompt.length;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    this.#text(text, out);
    return out;
  }

  countText(text: string): number {
    return this.#text(text, null);
  }

  messageTokens(message: PromptMessage): number {
    return this.#frame[message.role] + this.#content(message.content, null);
  }

  encodePrompt(messages: readonly PromptMessage[]): number[] {
    const t = this.#template;
    const out: number[] = t.bos === undefined ? [] : [...t.bos];
    for (const m of messages) {
      pushAll(out, t.open[m.role]);
      this.#content(m.content, out);
      pushAll(out, t.close);
    }
    pushAll(out, t.generationPrompt);
    return out;
  }

  countPrompt(messages: readonly PromptMessage[]): number {
    let total = this.generationPromptTokens;
    for (const m of messages) total += this.messageTokens(m);
    return total;
  }
}
