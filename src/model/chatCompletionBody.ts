import type { CompletionRequest } from '../chat/ports.js';

/**
 * The chat-completions request body both wires share (the OpenAI v1 API and the Azure AI model inference API use
 * the same snake_case names), streaming; `model` only when given.
 */
export function chatCompletionBody(request: CompletionRequest, model: string | undefined): Record<string, unknown> {
  const { settings, extra } = request;
  const body: Record<string, unknown> = {
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    stream: true,
    max_tokens: settings.maxTokens,
  };
  if (settings.temperature !== undefined) body.temperature = settings.temperature;
  if (settings.topP !== undefined) body.top_p = settings.topP;
  if (settings.stop !== undefined && settings.stop.length > 0) body.stop = [...settings.stop];
  if (settings.presencePenalty !== undefined) body.presence_penalty = settings.presencePenalty;
  if (settings.frequencyPenalty !== undefined) body.frequency_penalty = settings.frequencyPenalty;
  if (settings.seed !== undefined) body.seed = settings.seed;
  if (model !== undefined) body.model = model;
  if (extra?.logprobs !== undefined) body.logprobs = extra.logprobs;
  if (extra?.topLogprobs !== undefined) body.top_logprobs = extra.topLogprobs;
  if (extra?.logitBias !== undefined) body.logit_bias = { ...extra.logitBias };
  return body;
}
