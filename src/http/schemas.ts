import { z } from 'zod';
import { MESSAGE_ID } from './messageId.js';

/**
 * Request shapes, validated at the edge. These schemas are the single source of the request types: the
 * handlers use `z.infer` of them, never a second hand-written interface.
 */

const MAX_TITLE = 200;
const MAX_SYSTEM_PROMPT = 100_000;
const MAX_STOP_LENGTH = 64;

/** Printable text: no NUL or other C0 control characters except tab, newline and carriage return, no lone surrogates. */
const text = (max: number) =>
  z
    .string()
    .max(max)
    // eslint-disable-next-line no-control-regex
    .refine((s) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(s), 'must not contain control characters')
    .refine((s) => s.isWellFormed(), 'must be well-formed Unicode');

export const settingsSchema = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().min(0).max(1).optional(),
  maxTokens: z.int().min(1).max(131_072).optional(),
  stop: z.array(text(MAX_STOP_LENGTH).min(1)).max(4).optional(),
  presencePenalty: z.number().min(-2).max(2).optional(),
  frequencyPenalty: z.number().min(-2).max(2).optional(),
  seed: z.int().optional(),
});

export const createConversationSchema = z.strictObject({
  title: text(MAX_TITLE).optional(),
  model: z.string().max(100).optional(),
  systemPrompt: text(MAX_SYSTEM_PROMPT).nullable().optional(),
  settings: settingsSchema.optional(),
});

/** A message id as this service issues them; anything else cannot name a message and is refused before the store is asked. */
const messageId = z.string().regex(MESSAGE_ID, 'must be a message id of this conversation');

export const patchConversationSchema = z.strictObject({
  title: text(MAX_TITLE).optional(),
  systemPrompt: text(MAX_SYSTEM_PROMPT).nullable().optional(),
  settings: settingsSchema.optional(),
  activeMessageId: messageId.optional(),
});

export const extraSchema = z.strictObject({
  logprobs: z.boolean().optional(),
  topLogprobs: z.int().min(0).max(20).optional(),
  logitBias: z
    .record(z.string().regex(/^\d{1,6}$/, 'must be a token id'), z.number().min(-100).max(100))
    .refine((o) => Object.keys(o).length <= 300, 'at most 300 entries')
    .optional(),
});

/** `maxContentChars` comes from the settings, so the message schema is built once per process. */
export function postMessageSchema(maxContentChars: number) {
  return z.strictObject({
    content: text(maxContentChars).refine((s) => s.trim().length > 0, 'must not be empty'),
    settings: settingsSchema.optional(),
    extra: extraSchema.optional(),
    parentId: messageId.nullable().optional(),
  });
}

export const regenerateSchema = z.strictObject({
  settings: settingsSchema.optional(),
  extra: extraSchema.optional(),
});

const limit = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.int().min(1).max(max))
    .optional()
    .transform((v) => v ?? fallback);

const cursor = z.string().min(1).max(8192).optional();

/** A title search: 1–200 characters of text, the longest a title can be. */
export const MAX_SEARCH_CHARS = MAX_TITLE;

export const listConversationsQuery = z.strictObject({
  limit: limit(100, 20),
  cursor,
  // Trimmed: the spaces a search box leaves around a word are not part of what is looked for.
  q: text(MAX_SEARCH_CHARS).refine((s) => s.trim().length > 0, 'must not be empty').transform((s) => s.trim()).optional(),
});

export const MAX_FEEDBACK_COMMENT = 2_000;

export const feedbackSchema = z.strictObject({
  rating: z.enum(['up', 'down']),
  comment: text(MAX_FEEDBACK_COMMENT).optional(),
});

export const listMessagesQuery = z.strictObject({
  limit: limit(100, 50),
  cursor,
  order: z.enum(['asc', 'desc']).optional().transform((v) => v ?? 'asc'),
  branch: z.enum(['active', 'all']).optional().transform((v) => v ?? 'active'),
});

/** The export takes no query parameters: a misspelt one is refused rather than ignored. */
export const exportQuery = z.strictObject({});

/** `?lastEventId=`: for clients that cannot set `Last-Event-ID`; its form is checked with the stream's ids. */
export const streamQuery = z.strictObject({ lastEventId: z.string().min(1).max(40).optional() });

const day = z.iso.date();
export const usageQuery = z.strictObject({ from: day.optional(), to: day.optional() });

export type SettingsInput = z.infer<typeof settingsSchema>;
export type CreateConversationInput = z.infer<typeof createConversationSchema>;
export type PatchConversationInput = z.infer<typeof patchConversationSchema>;
export type FeedbackBody = z.infer<typeof feedbackSchema>;
export type PostMessageInput = z.infer<ReturnType<typeof postMessageSchema>>;
export type RegenerateInput = z.infer<typeof regenerateSchema>;

export { CONVERSATION_ID } from './conversationId.js';
export { MESSAGE_ID } from './messageId.js';
