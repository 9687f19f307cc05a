import type { Clock } from './ports.js';
import { PLACEHOLDER_TITLE, type Conversation, type ConversationSettings, type Page } from './conversation.js';
import type { ConversationListRequest, ConversationStore } from './ConversationStore.js';
import { NotFoundError, PreconditionFailedError, ValidationError } from './errors.js';
import { MessageTree, type ParentedMessage } from './MessageTree.js';
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
  /** Switch branch: the active branch becomes the one through this message, continued by newest children. */
  readonly activeMessageId?: string | undefined;
}

/** A conversation and its messages as an export gives them: the messages a page at a time, oldest first. */
export interface ConversationExport {
  readonly conversation: Conversation & { readonly activeLeafId: string | null };
  readonly pages: AsyncIterable<readonly ParentedMessage[]>;
}

/** Read-modify-writes of a branch switch that met a concurrent change, before giving up with 412. */
const SWITCH_ATTEMPTS = 8;

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
  readonly #tree: MessageTree;

  /** `served` lists the models this deployment serves; the first is the default for new conversations. */
  constructor(store: ConversationStore, clock: Clock, served: readonly ModelSpec[]) {
    this.#store = store;
    this.#clock = clock;
    this.#models = served;
    this.#tree = new MessageTree(store);
  }

  get tree(): MessageTree {
    return this.#tree;
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
    return this.#tree.withActiveLeaf(userId, conversation);
  }

  /**
   * The conversation and every message of every branch (`all`) or of its active branch, oldest first. NotFoundError
   * before anything is returned; the messages are read as the pages are taken (see `MessageTree.walk`).
   */
  async export(userId: string, conversationId: string, branch: 'active' | 'all'): Promise<ConversationExport> {
    const stored = await this.#store.getConversation(userId, conversationId);
    if (!stored) throw new NotFoundError('No such conversation.');
    const [conversation, pages] = await Promise.all([this.#tree.withActiveLeaf(userId, stored), this.#tree.walk(userId, stored, branch)]);
    return { conversation, pages };
  }

  /** `titleContains`: only titles containing it, case and accents ignored (see `searchKey`). */
  async list(userId: string, page: ConversationListRequest): Promise<Page<Conversation>> {
    const result = await this.#store.listConversations(userId, page);
    return { items: await Promise.all(result.items.map((c) => this.#tree.withActiveLeaf(userId, c))), nextCursor: result.nextCursor };
  }

  async update(userId: string, conversationId: string, input: UpdateConversation, ifMatch?: string): Promise<Conversation> {
    const { activeMessageId, ...changes } = input;
    if (activeMessageId === undefined) {
      if (changes.settings) checkSettingsForModel(changes.settings, this.modelOf(await this.get(userId, conversationId)));
      const updated = await this.#store.updateConversation(userId, conversationId, { ...changes, updatedAt: this.#clock.now().toISOString() }, ifMatch);
      return this.#tree.withActiveLeaf(userId, updated);
    }
    // The leaf is computed from the version read, and written only over that version: a turn that added messages
    // meanwhile makes the write fail (412) and the walk is done again, so the leaf is never one that has children.
    for (let attempt = 1; ; attempt += 1) {
      const current = await this.get(userId, conversationId);
      if (changes.settings) checkSettingsForModel(changes.settings, this.modelOf(current));
      const activeLeaf = await this.#tree.leafThrough(userId, conversationId, activeMessageId);
      const condition = ifMatch === undefined || ifMatch === '*' ? current.etag : ifMatch;
      try {
        return await this.#store.updateConversation(userId, conversationId, { ...changes, activeLeaf, updatedAt: this.#clock.now().toISOString() }, condition);
      } catch (error) {
        if (!(error instanceof PreconditionFailedError) || condition === ifMatch || attempt >= SWITCH_ATTEMPTS) throw error;
      }
    }
  }

  async delete(userId: string, conversationId: string): Promise<void> {
    if (!(await this.#store.deleteConversation(userId, conversationId))) throw new NotFoundError('No such conversation.');
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
