/**
 * The contract's shapes. Those in docs/openapi.json come from the generated file (src/openapi.ts, checked by a
 * test against the document); the v2 additions the document does not describe yet are declared here as optional
 * fields, so a server without them still type-checks at every use.
 */
import type { ChatProblem } from './ChatProblem.js';
import type { components } from './openapi.js';

type Schemas = components['schemas'];

export type Usage = Schemas['Usage'] & { estimated?: boolean };
export type Settings = Schemas['Settings'];
export type SettingsInput = Schemas['SettingsInput'];
export type Context = Schemas['Context'];
export type UsageReport = Schemas['UsageReport'];
export type ModelInfo = Schemas['ModelInfo'] & {
  azureServerless?: { status: 'available' | 'retired'; retiredOn: string | null };
};
export type Health = Schemas['Health'];
export type ProblemBody = Schemas['Problem'];
export type ProblemCode = ProblemBody['code'];
export type CreateConversationRequest = Schemas['CreateConversationRequest'];
export type Extra = NonNullable<Schemas['PostMessageRequest']['extra']>;

export interface Feedback {
  rating: 'up' | 'down';
  comment?: string | null;
  updatedAt: string;
}

export type Conversation = Schemas['Conversation'] & {
  /** v2: the last message of the branch the conversation shows; null when empty. */
  activeLeafId?: string | null;
  /** v2: "auto" for a title the service chose, "user" for one the client set. */
  titleSource?: 'auto' | 'user';
};

export type Message = Omit<Schemas['Message'], 'finishReason' | 'usage'> & {
  finishReason?: Schemas['Message']['finishReason'] | 'cancelled';
  usage?: Usage;
  /** v2: the message it follows; null for a first message. */
  parentId?: string | null;
  /** v2: every message with the same parent, oldest first, itself included. */
  siblingIds?: string[];
  feedback?: Feedback;
};

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type PatchConversationRequest = Schemas['PatchConversationRequest'] & {
  /** v2: switch the active branch to the path through this message. */
  activeMessageId?: string;
};

export interface TurnResult {
  userMessage: Message;
  assistantMessage: Message;
  context: Context;
}

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
