import type { Conversation, Message, MessageStatus, Usage } from '../chat/conversation.js';

/** The contract's Conversation: no partition key, lock or sequence bookkeeping. */
export function presentConversation(c: Conversation) {
  return {
    id: c.id,
    title: c.title,
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

/**
 * The contract's Message. A `streaming` message whose lease has run out belongs to a turn whose instance was
 * lost: it is reported as `incomplete`, with what was saved of it.
 */
export function presentMessage(m: Message & { readonly siblingIds?: readonly string[] }, now: Date = new Date()) {
  const stale = m.status === 'streaming' && m.leaseUntil !== undefined && Date.parse(m.leaseUntil) < now.getTime();
  const status: MessageStatus = stale ? 'incomplete' : m.status;
  return {
    id: m.id,
    conversationId: m.conversationId,
    role: m.role,
    content: m.content,
    status,
    createdAt: m.createdAt,
    tokenCount: m.tokenCount,
    ...(m.role === 'assistant' ? { finishReason: m.finishReason ?? null } : {}),
    ...(m.usage ? { usage: presentUsage(m.usage) } : {}),
    ...(m.model ? { model: m.model } : {}),
    ...(m.error ? { error: m.error } : stale ? { error: { code: 'instance_lost', detail: 'The turn stopped before it finished.' } } : {}),
    // Undefined only on a message stored before branches that no tree read resolved (its parent is the previous one).
    ...(m.parentId !== undefined ? { parentId: m.parentId } : {}),
    ...(m.siblingIds ? { siblingIds: m.siblingIds } : {}),
  };
}

export function jsonBody(value: unknown): string {
  return JSON.stringify(value);
}
