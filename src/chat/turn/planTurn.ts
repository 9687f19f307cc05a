import type { Conversation, ConversationSettings, Message, Page } from '../conversation.js';
import { checkSettingsForModel } from '../Conversations.js';
import { planPrompt, type PromptFrame } from '../contextWindow.js';
import { readHistory } from '../historyRead.js';
import type { ModelSpec } from '../modelCatalog.js';
import type { GenerationSettings, PromptMessage } from '../ports.js';
import type { ChatTokenizer } from '../tokenizer/ChatTokenizer.js';
import { contentTokens } from '../tokenizer/messageCost.js';
import type { TurnContext, TurnRequest } from '../turnTypes.js';
import type { TurnDeps } from './TurnDeps.js';

/** What a turn sends and to which model, decided before anything of it is stored. */
export interface TurnPlan {
  readonly conversation: Conversation;
  readonly model: ModelSpec;
  readonly tokenizer: ChatTokenizer;
  readonly prompt: readonly PromptMessage[];
  readonly context: TurnContext;
  readonly settings: GenerationSettings;
  readonly userTokens: number;
}

/** Older pages, read one after another only while a prompt could still reach them: few, so large. */
const OLDER_PAGE_SIZE = 1_000;

/**
 * The turn's model, settings and prompt. The history comes from the newest page already read, and from older
 * pages only while what was read could all still be sent (none when the new message alone cannot fit: 413).
 */
export async function planTurn(
  deps: TurnDeps, userId: string, conversation: Conversation, newestPage: Page<Message>, request: TurnRequest,
): Promise<TurnPlan> {
  const { store } = deps;
  const { frame, ...rest } = frameTurn(deps, conversation, request);
  const plan = planPrompt(frame, rest.tokenizer);
  const { history, olderSendable } = plan.room < 0 ? { history: [], olderSendable: 0 } : await readHistory(newestPage, {
    next: (cursor) => store.recentMessages(userId, conversation.id, { limit: OLDER_PAGE_SIZE, cursor }),
    countSendableBefore: (seq) => store.countSendableBefore(userId, conversation.id, seq),
  }, plan.room, rest.tokenizer);
  const assembled = plan.assemble(history, olderSendable);
  return { ...rest, conversation, prompt: assembled.messages, context: assembled.context };
}

/** The turn's model and settings, and its prompt without the history; refuses settings the model does not allow. */
function frameTurn(
  deps: TurnDeps, conversation: Conversation, request: TurnRequest,
): Omit<TurnPlan, 'conversation' | 'prompt' | 'context'> & { frame: PromptFrame } {
  const model = deps.conversations.modelOf(conversation);
  checkSettingsForModel(request.settings, model);
  const tokenizer = deps.tokenizerFor(model);
  const merged: ConversationSettings = { ...conversation.settings, ...request.settings };
  const maxTokens = Math.min(merged.maxTokens ?? model.defaultMaxTokens, model.maxOutputTokens);
  const userTokens = contentTokens(tokenizer, request.content);
  const settings: GenerationSettings = {
    maxTokens,
    ...(merged.temperature !== undefined ? { temperature: merged.temperature } : {}),
    ...(merged.topP !== undefined ? { topP: merged.topP } : {}),
    ...(merged.stop && merged.stop.length ? { stop: merged.stop } : {}),
    ...(merged.presencePenalty !== undefined ? { presencePenalty: merged.presencePenalty } : {}),
    ...(merged.frequencyPenalty !== undefined ? { frequencyPenalty: merged.frequencyPenalty } : {}),
    ...(merged.seed !== undefined ? { seed: merged.seed } : {}),
  };
  const frame: PromptFrame = {
    model, systemPrompt: conversation.systemPrompt, newMessage: { content: request.content, tokenCount: userTokens }, maxTokens,
  };
  return { model, tokenizer, settings, userTokens, frame };
}
