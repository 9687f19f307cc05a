import { asSeen, type Conversation, type Message, type Usage } from '../chat/conversation.js';

/** The contract's Conversation: no partition key, lock or sequence bookkeeping. */
export function presentConversation(c: Conversation) {
  return {
    id: c.id,
    title: c.title,
    titleSource: c.titleSource,
    model: c.model,
    systemPrompt: c.systemPrompt,
    settings: c.settings,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    messageCount: c.messageCount,
    usage: presentUsage(c.usage),
    etag: c.etag,
    activeLeafId: c.activeLeafId ?? null,
  };
}

function presentUsage(u: Usage) {
  return {
    promptTokens: u.promptTokens,
    completionTokens: u.completionTokens,
    totalTokens: u.totalTokens,
    ...(u.estimated ? { estimated: true } : {}),
  };
}

/** The contract's Message, as it stands at `now` (`asSeen`: a lost turn's reply reads as `incomplete`). */
export function presentMessage(message: Message & { readonly siblingIds?: readonly string[] }, now: Date = new Date()) {
  const m = asSeen(message, now);
  return {
    id: m.id,
    conversationId: m.conversationId,
    role: m.role,
    content: m.content,
    status: m.status,
    createdAt: m.createdAt,
    tokenCount: m.tokenCount,
    ...(m.role === 'assistant' ? { finishReason: m.finishReason ?? null } : {}),
    ...(m.usage ? { usage: presentUsage(m.usage) } : {}),
    ...(m.model ? { model: m.model } : {}),
    ...(m.error ? { error: m.error } : {}),
    ...(m.feedback ? { feedback: { rating: m.feedback.rating, comment: m.feedback.comment, updatedAt: m.feedback.updatedAt } } : {}),
    // Undefined only on a message stored before branches that no tree read resolved (its parent is the previous one).
    ...(m.parentId !== undefined ? { parentId: m.parentId } : {}),
    ...(message.siblingIds ? { siblingIds: message.siblingIds } : {}),
  };
}

export function jsonBody(value: unknown): string {
  return JSON.stringify(value);
}
