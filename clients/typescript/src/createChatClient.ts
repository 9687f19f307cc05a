import { ChatProblem } from './ChatProblem.js';
import { newIdempotencyKey } from './newIdempotencyKey.js';
import { replyStream, type ReplyStream } from './ReplyStream.js';
import type {
  Conversation, ConversationExport, CreateConversationRequest, Extra, Health, Message, ModelInfo, Page,
  PatchConversationRequest, SettingsInput, UsageReport,
} from './types.js';

export interface ChatClientOptions {
  /** The service's origin (or origin + path before `/api`), e.g. `http://127.0.0.1:7071`. */
  readonly baseUrl: string;
  /** Another fetch (React Native's `expo/fetch`, a test's, a proxy's); the global one by default. */
  readonly fetch?: typeof fetch;
  /** A bearer token for `AUTH_MODE=jwt`, asked before each request (so it can be refreshed); undefined sends none. */
  readonly getToken?: () => string | undefined | Promise<string | undefined>;
  /** Headers sent with every request (e.g. `x-user-id` against a local service in dev mode). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface SendOptions {
  /** v2: the assistant message the new one follows (an edit: the parent of the message edited); null: a new first message. */
  readonly parentId?: string | null;
  readonly settings?: SettingsInput;
  readonly extra?: Extra;
  /** Ends the local read only: the service finishes and stores the reply anyway (use `stop()` to end it). */
  readonly signal?: AbortSignal;
  /** Defaults to a new random key per call. */
  readonly idempotencyKey?: string;
}

export interface RegenerateOptions {
  readonly settings?: SettingsInput;
  readonly extra?: Extra;
  readonly signal?: AbortSignal;
  readonly idempotencyKey?: string;
}

export interface ListMessagesOptions {
  readonly limit?: number;
  readonly cursor?: string;
  readonly order?: 'asc' | 'desc';
  /** v2: "all" lists every branch; by default the active branch only. */
  readonly branch?: 'all';
}

export type ChatClient = ReturnType<typeof createChatClient>;

/** The service's REST API: every route of the contract, problems thrown as {@link ChatProblem}. */
export function createChatClient(options: ChatClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, '') + '/api';
  // Called unbound: some fetches (the browser's) refuse to run with another `this`.
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  async function request(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
    const headers = new Headers(options.headers);
    new Headers(init.headers).forEach((value, name) => headers.set(name, value));
    const token = await options.getToken?.();
    if (token) headers.set('authorization', `Bearer ${token}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    const { json: _json, ...rest } = init;
    return doFetch(base + path, { ...rest, headers, body });
  }

  async function json<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
    const response = await request(path, { ...init, headers: { accept: 'application/json', ...init.headers } });
    if (!response.ok) throw await ChatProblem.fromResponse(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  const conv = (id: string) => `/conversations/${encodeURIComponent(id)}`;
  const msg = (id: string, messageId: string) => `${conv(id)}/messages/${encodeURIComponent(messageId)}`;

  function stream(path: string, body: unknown, opts: { signal?: AbortSignal; idempotencyKey?: string }, conversationId: string): ReplyStream {
    const idempotencyKey = opts.idempotencyKey ?? newIdempotencyKey();
    return replyStream(
      {
        start: (signal) => request(path, {
          method: 'POST', json: body, signal, headers: { accept: 'text/event-stream', 'idempotency-key': idempotencyKey },
        }),
        resume: (messageId, lastEventId, signal) => follow(conversationId, messageId, lastEventId, signal),
        stop: (messageId) => stop(conversationId, messageId),
      },
      { idempotencyKey, ...(opts.signal ? { signal: opts.signal } : {}) },
    );
  }

  /**
   * The resume route. The event id goes in `?lastEventId=`, not the `Last-Event-ID` header: a header outside CORS's
   * safelist needs the host's preflight to allow it, and the query works behind any host and proxy.
   */
  function follow(conversationId: string, messageId: string, lastEventId: string | undefined, signal: AbortSignal | undefined): Promise<Response> {
    return request(`${msg(conversationId, messageId)}/stream${query({ lastEventId })}`, { signal, headers: { accept: 'text/event-stream' } });
  }

  function stop(conversationId: string, messageId: string): Promise<Message> {
    return json<Message>(`${msg(conversationId, messageId)}/stop`, { method: 'POST' });
  }

  return {
    conversations: {
      list: (opts: { limit?: number; cursor?: string } = {}) => json<Page<Conversation>>(`/conversations${query(opts)}`),
      /** v2: conversations whose title contains `q`, case-insensitively. */
      search: (q: string, opts: { limit?: number; cursor?: string } = {}) => json<Page<Conversation>>(`/conversations${query({ q, ...opts })}`),
      create: (body: CreateConversationRequest = {}) => json<Conversation>('/conversations', { method: 'POST', json: body }),
      get: (id: string) => json<Conversation>(conv(id)),
      /** With `ifMatch` (a conversation's `etag`), a stale version is refused 412 precondition_failed. */
      update: (id: string, patch: PatchConversationRequest, opts: { ifMatch?: string } = {}) =>
        json<Conversation>(conv(id), { method: 'PATCH', json: patch, headers: opts.ifMatch ? { 'if-match': `"${opts.ifMatch}"` } : {} }),
      delete: (id: string) => json<void>(conv(id), { method: 'DELETE' }),
      /** v2: every message of every branch. */
      export: (id: string) => json<ConversationExport>(`${conv(id)}/export`),
      /** v2: the active branch as Markdown. */
      exportMarkdown: async (id: string): Promise<string> => {
        const response = await request(`${conv(id)}/export`, { headers: { accept: 'text/markdown' } });
        if (!response.ok) throw await ChatProblem.fromResponse(response);
        return response.text();
      },
    },
    messages: {
      list: (conversationId: string, opts: ListMessagesOptions = {}) => json<Page<Message>>(`${conv(conversationId)}/messages${query({ ...opts })}`),
      /** v2: one message, with its `siblingIds`. */
      get: (conversationId: string, messageId: string) => json<Message>(msg(conversationId, messageId)),
    },
    /** A new user message and its streamed reply. */
    send(conversationId: string, content: string, opts: SendOptions = {}): ReplyStream {
      const body = {
        content,
        ...(opts.parentId !== undefined ? { parentId: opts.parentId } : {}),
        ...(opts.settings ? { settings: opts.settings } : {}),
        ...(opts.extra ? { extra: opts.extra } : {}),
      };
      return stream(`${conv(conversationId)}/messages`, body, opts, conversationId);
    },
    /** v2: a new reply to the same user message (`messageId`: the old reply, or the user message). */
    regenerate(conversationId: string, messageId: string, opts: RegenerateOptions = {}): ReplyStream {
      const body = { ...(opts.settings ? { settings: opts.settings } : {}), ...(opts.extra ? { extra: opts.extra } : {}) };
      return stream(`${msg(conversationId, messageId)}/regenerate`, body, opts, conversationId);
    },
    /** v2: follows a reply already under way or finished (e.g. after a reload), from its start. */
    resume(conversationId: string, assistantMessageId: string, opts: { signal?: AbortSignal } = {}): ReplyStream {
      return replyStream(
        {
          start: () => Promise.reject(new Error('unreachable: a resumed reply has its id')),
          resume: (messageId, lastEventId, signal) => follow(conversationId, messageId, lastEventId, signal),
          stop: (messageId) => stop(conversationId, messageId),
        },
        { assistantMessageId, ...(opts.signal ? { signal: opts.signal } : {}) },
      );
    },
    /** v2: stops a streaming reply; resolves with the message as stored now. */
    stop,
    /** v2: makes the branch through `messageId` the one the conversation shows. */
    switchBranch: (conversationId: string, messageId: string) =>
      json<Conversation>(conv(conversationId), { method: 'PATCH', json: { activeMessageId: messageId } }),
    feedback: {
      /** v2: rates an assistant message. */
      set: (conversationId: string, messageId: string, rating: 'up' | 'down', comment?: string) =>
        json<Message>(`${msg(conversationId, messageId)}/feedback`, { method: 'PUT', json: comment === undefined ? { rating } : { rating, comment } }),
      clear: (conversationId: string, messageId: string) => json<void>(`${msg(conversationId, messageId)}/feedback`, { method: 'DELETE' }),
    },
    /** The caller's usage per UTC day (today by default) and what is left of today's quota. */
    usage: (opts: { from?: string; to?: string } = {}) => json<UsageReport>(`/usage${query(opts)}`),
    model: () => json<ModelInfo>('/model'),
    health: () => json<Health>('/health'),
  };
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.set(name, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
