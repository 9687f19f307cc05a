export { createChatClient, type ChatClient, type ChatClientOptions, type SendOptions, type RegenerateOptions, type ListMessagesOptions } from './createChatClient.js';
export { ChatProblem } from './ChatProblem.js';
export type { ReplyStream } from './ReplyStream.js';
export type * from './types.js';
