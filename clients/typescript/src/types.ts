/**
 * The contract's shapes, all from the generated file (src/openapi.ts, checked by a test against docs/openapi.json),
 * so they cannot drift from the document. Only the export body and the stream's events as the client hands them on
 * are declared here: the document describes no export route yet, and the events are the client's own.
 */
import type { ChatProblem } from './ChatProblem.js';
import type { components } from './openapi.js';

type Schemas = components['schemas'];

export type Usage = Schemas['Usage'];
export type Settings = Schemas['Settings'];
export type SettingsInput = Schemas['SettingsInput'];
export type Context = Schemas['Context'];
export type UsageReport = Schemas['UsageReport'];
export type ModelInfo = Schemas['ModelInfo'];
export type Health = Schemas['Health'];
export type ProblemBody = Schemas['Problem'];
export type ProblemCode = ProblemBody['code'];
export type CreateConversationRequest = Schemas['CreateConversationRequest'];
export type PatchConversationRequest = Schemas['PatchConversationRequest'];
export type Extra = NonNullable<Schemas['PostMessageRequest']['extra']>;
export type Feedback = Schemas['MessageFeedback'];
export type FeedbackRequest = Schemas['FeedbackRequest'];
export type Conversation = Schemas['Conversation'];
export type Message = Schemas['Message'];
export type TurnResult = Schemas['TurnResult'];

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** GET …/export (api.md "Search and export"): every message of every branch, oldest first. */
export interface ConversationExport {
  conversation: Conversation;
  messages: Message[];
}

/** One event of a reply's stream, as the client hands it on (deltas never repeated, whatever reconnects it made). */
export type ChatEvent =
  | { type: 'message.created'; userMessage: Message; assistantMessageId: string }
  | { type: 'message.delta'; content: string }
  | { type: 'conversation.updated'; conversation: Conversation }
  | { type: 'message.completed'; message: Message; context?: Context }
  /** The turn failed after it started: the partial reply is stored with status incomplete, failed or filtered. */
  | { type: 'error'; problem: ChatProblem };
