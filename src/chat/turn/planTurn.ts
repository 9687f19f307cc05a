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
import { pathHistory, type BranchPoint } from '../branchPoint.js';

/** What a turn sends and to which model, decided before anything of it is stored. */
export interface TurnPlan {
  readonly conversation: Conversation;
  readonly model: ModelSpec;
  readonly tokenizer: ChatTokenizer;
  readonly prompt: readonly PromptMessage[];
  readonly context: TurnContext;
  readonly settings: GenerationSettings;
  readonly userTokens: number;
  /** Where the turn's messages go in the tree, and the path its history was read from. */
  readonly point: BranchPoint;
  /** Messages the turn adds: the user message and the reply, or the reply alone for a regeneration. */
  readonly messagesAdded: number;
}

/** Older pages, read one after another only while a prompt could still reach them: few, so large. */
const OLDER_PAGE_SIZE = 1_000;

/**
 * The turn's model, settings and prompt. The history comes from the newest page already read, and from older
 * pages only while what was read could all still be sent (none when the new message alone cannot fit: 413).
 */
export async function planTurn(
  deps: TurnDeps, userId: string, conversation: Conversation, newestPage: Page<Message>, request: TurnRequest, point: BranchPoint,
): Promise<TurnPlan> {
  // A regeneration's new message is the stored user message it answers, counted as it was stored.
  const asked = point.user ? { ...request, content: point.user.content, tokenCount: point.user.tokenCount } : request;
  const { frame, ...rest } = frameTurn(deps, conversation, asked);
  const plan = planPrompt(frame, rest.tokenizer);
  // Only the branch the turn continues: the newest page narrowed to its path, then the path's older messages.
  const path = pathHistory(deps.store, userId, conversation.id, point.history, newestPage, OLDER_PAGE_SIZE);
  const { history, olderSendable } = plan.room < 0 ? { history: [], olderSendable: 0 } : await readHistory(path.first, path.source, plan.room, rest.tokenizer);
  const assembled = plan.assemble(history, olderSendable);
  return { ...rest, conversation, prompt: assembled.messages, context: assembled.context, point, messagesAdded: point.user ? 1 : 2 };
}

/** The turn's model and settings, and its prompt without the history; refuses settings the model does not allow. */
function frameTurn(
  deps: TurnDeps, conversation: Conversation, request: Pick<TurnRequest, 'content' | 'settings'> & { readonly tokenCount?: number },
): Omit<TurnPlan, 'conversation' | 'prompt' | 'context' | 'point' | 'messagesAdded'> & { frame: PromptFrame } {
  const model = deps.conversations.modelOf(conversation);
  checkSettingsForModel(request.settings, model);
  const tokenizer = deps.tokenizerFor(model);
  const merged: ConversationSettings = { ...conversation.settings, ...request.settings };
  const maxTokens = Math.min(merged.maxTokens ?? model.defaultMaxTokens, model.maxOutputTokens);
  const userTokens = request.tokenCount ?? contentTokens(tokenizer, request.content);
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
