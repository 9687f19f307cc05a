import type { Clock } from './ports.js';
import { PLACEHOLDER_TITLE, type Conversation, type ConversationSettings, type Message, type Page } from './conversation.js';
import type { ConversationListRequest, ConversationStore, PageRequest } from './ConversationStore.js';
import { NotFoundError, ValidationError } from './errors.js';
import { newId } from './ids.js';
import { MODEL_CATALOG, findModel, type ModelSpec } from './modelCatalog.js';

export interface CreateConversation {
  readonly title?: string | undefined;
  readonly model?: string | undefined;
  readonly systemPrompt?: string | null | undefined;
  readonly settings?: ConversationSettings | undefined;
}

export interface UpdateConversation {
  readonly title?: string | undefined;
  readonly systemPrompt?: string | null | undefined;
  readonly settings?: ConversationSettings | undefined;
}

/** Checks what only the model can tell: `maxTokens` within its output limit. */
export function checkSettingsForModel(settings: ConversationSettings | undefined, model: ModelSpec, field = 'settings'): void {
  if (settings?.maxTokens !== undefined && settings.maxTokens > model.maxOutputTokens) {
    throw new ValidationError(`maxTokens may not exceed ${model.maxOutputTokens} for ${model.id}.`, [
      { field: `${field}.maxTokens`, message: `must be at most ${model.maxOutputTokens}` },
    ]);
  }
}

/** The conversation use cases: each acts for one caller and never sees another's data. */
export class Conversations {
  readonly #store: ConversationStore;
  readonly #clock: Clock;
  readonly #models: readonly ModelSpec[];

  /** `served` lists the models this deployment serves; the first is the default for new conversations. */
  constructor(store: ConversationStore, clock: Clock, served: readonly ModelSpec[]) {
    this.#store = store;
    this.#clock = clock;
    this.#models = served;
  }

  get servedModels(): readonly ModelSpec[] {
    return this.#models;
  }

  async create(userId: string, input: CreateConversation): Promise<Conversation> {
    const model = this.#resolveModel(input.model);
    checkSettingsForModel(input.settings, model);
    const title = input.title?.trim();
    return this.#store.createConversation(userId, {
      id: newId('c'),
      title: title || PLACEHOLDER_TITLE,
      titleSource: title ? 'user' : null,
      model: model.id,
      systemPrompt: input.systemPrompt ?? null,
      settings: {
        temperature: 0.7,
        topP: 1,
        maxTokens: model.defaultMaxTokens,
        stop: [],
        presencePenalty: 0,
        frequencyPenalty: 0,
        ...input.settings,
      },
      createdAt: this.#clock.now().toISOString(),
    });
  }

  async get(userId: string, conversationId: string): Promise<Conversation> {
    const conversation = await this.#store.getConversation(userId, conversationId);
    if (!conversation) throw new NotFoundError('No such conversation.');
    return conversation;
  }

  /** `titleContains`: only titles containing it, case and accents ignored (see `searchKey`). */
  list(userId: string, page: ConversationListRequest): Promise<Page<Conversation>> {
    return this.#store.listConversations(userId, page);
  }

  async update(userId: string, conversationId: string, input: UpdateConversation, ifMatch?: string): Promise<Conversation> {
    if (input.settings) checkSettingsForModel(input.settings, this.modelOf(await this.get(userId, conversationId)));
    return this.#store.updateConversation(
      userId,
      conversationId,
      { ...input, updatedAt: this.#clock.now().toISOString() },
      ifMatch,
    );
  }

  async delete(userId: string, conversationId: string): Promise<void> {
    if (!(await this.#store.deleteConversation(userId, conversationId))) throw new NotFoundError('No such conversation.');
  }

  messages(userId: string, conversationId: string, page: PageRequest & { readonly order: 'asc' | 'desc' }): Promise<Page<Message>> {
    return this.#store.listMessages(userId, conversationId, page);
  }

  /** The catalog entry of a stored conversation's model (a model no longer served still has its spec). */
  modelOf(conversation: Pick<Conversation, 'model'>): ModelSpec {
    const model = findModel(conversation.model) ?? this.#models[0];
    if (!model) throw new Error('No model is configured.');
    return model;
  }

  #resolveModel(id: string | undefined): ModelSpec {
    const fallback = this.#models[0];
    if (id === undefined) {
      if (!fallback) throw new Error('No model is configured.');
      return fallback;
    }
    const model = this.#models.find((m) => m.id === id.toLowerCase());
    if (!model) {
      const known = MODEL_CATALOG.has(id.toLowerCase()) ? 'is not served by this deployment' : 'is not a known model';
      throw new ValidationError(`The model "${id}" ${known}.`, [
        { field: 'model', message: `must be one of ${this.#models.map((m) => m.id).join(', ')}` },
      ]);
    }
    return model;
  }
}
