import { ChatProblem, type ChatClient, type Conversation, type Message, type ReplyStream } from '@phi-chat/client';
import { describeProblem, describeUsage } from './describeProblem.js';
import { el } from './dom.js';
import { messageView, type MessageActions } from './messageView.js';

/** The page's fixed elements (index.html). */
export interface PageElements {
  readonly list: HTMLUListElement;
  readonly search: HTMLInputElement;
  readonly newChat: HTMLButtonElement;
  readonly usageToday: HTMLElement;
  readonly usageQuota: HTMLElement;
  readonly title: HTMLElement;
  readonly model: HTMLElement;
  readonly problem: HTMLElement;
  readonly problemText: HTMLElement;
  readonly messages: HTMLOListElement;
  readonly form: HTMLFormElement;
  readonly textbox: HTMLTextAreaElement;
  readonly send: HTMLButtonElement;
  readonly stop: HTMLButtonElement;
}

/** A reply on screen while it streams: where its text goes. */
interface Streaming {
  readonly stream: ReplyStream;
  readonly reply: HTMLElement;
}

/**
 * The chat page: the conversation list, the active branch of one conversation and the composer. The server is the
 * truth: after every reply the branch is read again, so versions, statuses and titles are what was stored; while a
 * reply streams, its text is appended as each piece arrives.
 */
export class ChatPage implements MessageActions {
  private conversationId: string | undefined;
  private messages: Message[] = [];
  private streaming: Streaming | undefined;
  private searchTimer: ReturnType<typeof setTimeout> | undefined;
  private listRequests = 0;

  constructor(private readonly client: ChatClient, private readonly ui: PageElements) {
    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.sendFromComposer();
    });
    ui.textbox.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.sendFromComposer();
      } else if (event.key === 'Escape' && this.streaming) {
        void this.stop();
      }
    });
    ui.stop.addEventListener('click', () => void this.stop());
    ui.newChat.addEventListener('click', () => this.newChat());
    ui.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => void this.refreshList(), 200);
    });
    ui.problem.querySelector('button')?.addEventListener('click', () => this.clearProblem());
    window.addEventListener('hashchange', () => {
      const id = idFromHash();
      if (id !== this.conversationId && !this.streaming) void this.open(id);
    });
  }

  async start(): Promise<void> {
    await Promise.all([
      this.refreshList(),
      this.refreshUsage(),
      this.client.model().then((m) => (this.ui.model.textContent = m.modelName), (e: unknown) => this.showProblem(e)),
      this.open(idFromHash()),
    ]);
    this.ui.textbox.focus();
  }

  // --- conversations ---

  private newChat(): void {
    if (this.streaming) return;
    this.conversationId = undefined;
    this.messages = [];
    history.replaceState(null, '', location.pathname);
    this.ui.title.textContent = 'New chat';
    this.clearProblem();
    this.render();
    this.markCurrent();
    this.ui.textbox.focus();
  }

  private async open(id: string | undefined): Promise<void> {
    if (id === undefined) {
      this.newChat();
      return;
    }
    this.conversationId = id;
    this.markCurrent();
    try {
      const conversation = await this.client.conversations.get(id);
      this.ui.title.textContent = titleOf(conversation);
      await this.loadMessages();
      const last = this.messages.at(-1);
      // Reloaded while a reply was being written: follow it to its end.
      if (last?.role === 'assistant' && last.status === 'streaming') await this.follow(this.client.resume(id, last.id), 'resume');
    } catch (error) {
      this.showProblem(error);
    }
  }

  private async refreshList(): Promise<void> {
    const q = this.ui.search.value.trim();
    // Lists are asked for after a turn, a title, a search keystroke: only the newest request may draw, or a slow
    // unfiltered list answered after a search would replace the search's results with stale titles.
    const request = (this.listRequests += 1);
    try {
      const page = q === '' ? await this.client.conversations.list({ limit: 50 }) : await this.client.conversations.search(q, { limit: 50 });
      if (request !== this.listRequests) return;
      this.ui.list.replaceChildren(...page.items.map((c) => el('li', {},
        el('button', { type: 'button', class: 'conversation', 'data-id': c.id, onclick: () => this.choose(c.id) },
          el('span', { class: 'conversation-title' }, titleOf(c)),
          el('time', { datetime: c.updatedAt }, new Date(c.updatedAt).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })),
        ),
      )));
      if (page.items.length === 0) this.ui.list.append(el('li', { class: 'empty' }, q === '' ? 'No conversations yet' : 'No title matches'));
      this.markCurrent();
    } catch (error) {
      this.showProblem(error);
    }
  }

  private choose(id: string): void {
    if (this.streaming) return;
    this.clearProblem();
    location.hash = id;
  }

  private markCurrent(): void {
    for (const button of this.ui.list.querySelectorAll<HTMLButtonElement>('button.conversation')) {
      if (button.dataset.id === this.conversationId) button.setAttribute('aria-current', 'page');
      else button.removeAttribute('aria-current');
    }
  }

  private async refreshUsage(): Promise<void> {
    try {
      const text = describeUsage(await this.client.usage());
      this.ui.usageToday.textContent = text.today;
      this.ui.usageQuota.textContent = text.quota;
    } catch (error) {
      this.showProblem(error);
    }
  }

  // --- messages ---

  private async loadMessages(): Promise<void> {
    const id = this.conversationId;
    if (id === undefined) return;
    const messages: Message[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const result = await this.client.messages.list(id, { limit: 100, ...(cursor ? { cursor } : {}) });
      messages.push(...result.items);
      if (result.nextCursor === null) break;
      cursor = result.nextCursor;
    }
    if (id !== this.conversationId) return;
    this.messages = messages;
    this.render();
  }

  private render(): void {
    const busy = this.streaming !== undefined;
    const lastReply = this.messages.findLast((m) => m.role === 'assistant');
    this.ui.messages.replaceChildren(...this.messages.map((m) => messageView(m, this, { last: m === lastReply, busy })));
    this.ui.messages.scrollTop = this.ui.messages.scrollHeight;
  }

  private async sendFromComposer(): Promise<void> {
    const content = this.ui.textbox.value;
    if (content.trim() === '' || this.streaming) return;
    this.ui.textbox.value = '';
    const sent = await this.send(content, undefined, this.messages.length);
    if (!sent) this.ui.textbox.value = content;
    this.ui.textbox.focus();
  }

  /**
   * A user message and its reply. `keep`: how many shown messages stay (an edit drops the old branch from there).
   * False when the service refused the turn before storing anything, so the caller can give the text back.
   */
  private async send(content: string, parentId: string | null | undefined, keep: number): Promise<boolean> {
    this.clearProblem();
    try {
      if (this.conversationId === undefined) {
        const conversation = await this.client.conversations.create();
        this.conversationId = conversation.id;
        history.replaceState(null, '', `#${conversation.id}`);
        this.ui.title.textContent = titleOf(conversation);
      }
    } catch (error) {
      this.showProblem(error);
      return false;
    }
    const stream = this.client.send(this.conversationId, content, parentId === undefined ? {} : { parentId });
    this.messages = this.messages.slice(0, keep);
    this.render();
    this.ui.messages.append(pendingView('user', content));
    return this.follow(stream, 'append');
  }

  /** Shows a reply as it streams, then reads the branch again. `resume`: the reply is already the last one shown. */
  private async follow(stream: ReplyStream, mode: 'append' | 'resume'): Promise<boolean> {
    const reply = mode === 'resume' ? this.ui.messages.lastElementChild as HTMLElement : pendingView('assistant', '');
    if (mode === 'append') this.ui.messages.append(reply);
    const text = reply.querySelector<HTMLElement>('.content')!;
    text.textContent = '';
    this.streaming = { stream, reply };
    this.setBusy(true);
    let started = mode === 'resume';
    try {
      for await (const event of stream) {
        switch (event.type) {
          case 'message.created':
            started = true;
            reply.dataset.id = event.assistantMessageId;
            // The conversation is stored now (a new one, or newer than the rest): the list shows it at once.
            void this.refreshList();
            break;
          case 'message.delta':
            text.append(event.content);
            this.ui.messages.scrollTop = this.ui.messages.scrollHeight;
            break;
          case 'conversation.updated':
            this.ui.title.textContent = titleOf(event.conversation);
            void this.refreshList();
            break;
          case 'message.completed':
            reply.dataset.status = event.message.status;
            break;
          case 'error':
            reply.dataset.status = 'failed';
            this.showProblem(event.problem);
            break;
        }
      }
    } catch (error) {
      this.showProblem(error);
    } finally {
      this.streaming = undefined;
      this.setBusy(false);
    }
    await Promise.all([this.loadMessages().catch((e: unknown) => this.showProblem(e)), this.refreshList(), this.refreshUsage()]);
    return started;
  }

  private async stop(): Promise<void> {
    try {
      await this.streaming?.stream.stop();
    } catch (error) {
      this.showProblem(error);
    }
  }

  private setBusy(busy: boolean): void {
    this.ui.send.disabled = busy;
    this.ui.stop.hidden = !busy;
    for (const button of this.ui.messages.querySelectorAll<HTMLButtonElement>('.actions button, .versions button')) button.disabled = busy;
    if (busy) this.ui.stop.focus({ preventScroll: true });
  }

  // --- MessageActions ---

  edit(message: Message, item: HTMLElement): void {
    const index = this.messages.indexOf(message);
    const editor = el('textarea', { class: 'editor', 'aria-label': 'Edited message', rows: '3' });
    editor.value = message.content;
    const cancel = () => this.render();
    const save = () => {
      const content = editor.value;
      if (content.trim() === '') return;
      // The edited text follows the edited message's parent: a new branch beside the old one. A message stored
      // before branches may come without parentId: its parent is the message shown before it.
      const parentId = message.parentId !== undefined ? message.parentId : (this.messages[index - 1]?.id ?? null);
      void this.send(content, parentId, index);
    };
    editor.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        save();
      } else if (event.key === 'Escape') cancel();
    });
    item.querySelector('.content')!.replaceWith(editor);
    item.querySelector('.actions')!.replaceChildren(
      el('button', { type: 'button', onclick: save }, 'Save and send'),
      el('button', { type: 'button', onclick: cancel }, 'Cancel'),
    );
    editor.focus();
  }

  regenerate(message: Message): void {
    const id = this.conversationId;
    if (id === undefined || this.streaming) return;
    this.clearProblem();
    this.messages = this.messages.slice(0, this.messages.indexOf(message));
    this.render();
    void this.follow(this.client.regenerate(id, message.id), 'append');
  }

  showVersion(_message: Message, siblingId: string): void {
    const id = this.conversationId;
    if (id === undefined || this.streaming) return;
    this.client.switchBranch(id, siblingId).then(() => this.loadMessages()).catch((e: unknown) => this.showProblem(e));
  }

  rate(message: Message, rating: 'up' | 'down'): void {
    const id = this.conversationId;
    if (id === undefined) return;
    const change = message.feedback?.rating === rating
      ? this.client.feedback.clear(id, message.id).then(() => ({ ...message, feedback: undefined }))
      : this.client.feedback.set(id, message.id, rating);
    change.then((updated) => {
      this.messages = this.messages.map((m) => (m.id === message.id ? { ...m, feedback: updated.feedback } : m));
      this.render();
    }).catch((e: unknown) => this.showProblem(e));
  }

  // --- problems ---

  private showProblem(error: unknown): void {
    const problem = error instanceof ChatProblem ? error
      : error instanceof TypeError ? { status: 0, code: 'network', detail: error.message } : { status: 0, code: 'internal', detail: String(error) };
    this.ui.problemText.textContent = describeProblem(problem);
    this.ui.problem.hidden = false;
  }

  private clearProblem(): void {
    this.ui.problem.hidden = true;
    this.ui.problemText.textContent = '';
  }
}

function pendingView(role: 'user' | 'assistant', content: string): HTMLLIElement {
  return el('li', { class: `message ${role}`, 'data-status': role === 'user' ? 'complete' : 'streaming', 'aria-busy': role === 'assistant' ? 'true' : undefined },
    el('div', { class: 'meta' }, el('span', { class: 'role' }, role === 'user' ? 'You' : 'Phi')),
    el('div', { class: 'content' }, content),
    el('div', { class: 'actions' }),
  );
}

function titleOf(conversation: Conversation): string {
  return conversation.title.trim() === '' ? 'Untitled chat' : conversation.title;
}

function idFromHash(): string | undefined {
  const id = decodeURIComponent(location.hash.slice(1));
  return id === '' ? undefined : id;
}
