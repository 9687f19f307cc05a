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
export function presentMessage(m: Message, now: Date = new Date()) {
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
  };
}

export function jsonBody(value: unknown): string {
  return JSON.stringify(value);
}
