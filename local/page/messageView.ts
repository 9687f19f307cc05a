import type { Message } from '@phi-chat/client';
import { el } from './dom.js';

/** What a message's controls do; the page decides, the view only draws. */
export interface MessageActions {
  edit(message: Message, element: HTMLElement): void;
  regenerate(message: Message, element: HTMLElement): void;
  showVersion(message: Message, siblingId: string): void;
  rate(message: Message, rating: 'up' | 'down'): void;
}

export interface MessageViewOptions {
  /** The last reply of the branch: the one Regenerate applies to. */
  readonly last: boolean;
  /** A reply is streaming: no control that starts another turn. */
  readonly busy: boolean;
}

/**
 * One message as a list item: who, the text (kept as text, never HTML), and its controls. `data-status` and
 * `data-id` let tests and styles follow the reply's life.
 */
export function messageView(message: Message, actions: MessageActions, options: MessageViewOptions): HTMLLIElement {
  const mine = message.role === 'user';
  const content = el('div', { class: 'content' }, message.content);
  const item = el('li', {
    class: `message ${message.role}`, 'data-id': message.id, 'data-status': message.status,
    'aria-busy': message.status === 'streaming' ? 'true' : undefined,
  });
  const siblings = message.siblingIds ?? [message.id];
  const index = siblings.indexOf(message.id);
  const versions = siblings.length > 1 && index >= 0 && el('span', { class: 'versions', role: 'group', 'aria-label': 'Versions' },
    el('button', {
      type: 'button', 'aria-label': 'Previous version', disabled: options.busy || index === 0,
      onclick: () => actions.showVersion(message, siblings[index - 1]!),
    }, '‹'),
    el('span', { class: 'version-label' }, `${index + 1}/${siblings.length}`),
    el('button', {
      type: 'button', 'aria-label': 'Next version', disabled: options.busy || index === siblings.length - 1,
      onclick: () => actions.showVersion(message, siblings[index + 1]!),
    }, '›'),
  );
  const settled = message.status !== 'streaming';
  const controls = mine
    ? [el('button', { type: 'button', disabled: options.busy, onclick: () => actions.edit(message, item) }, 'Edit')]
    : settled ? [
      el('button', { type: 'button', class: 'rate', 'aria-label': 'Good reply', 'aria-pressed': String(message.feedback?.rating === 'up'), onclick: () => actions.rate(message, 'up') }, 'Good'),
      el('button', { type: 'button', class: 'rate', 'aria-label': 'Bad reply', 'aria-pressed': String(message.feedback?.rating === 'down'), onclick: () => actions.rate(message, 'down') }, 'Bad'),
      options.last && el('button', { type: 'button', disabled: options.busy, onclick: () => actions.regenerate(message, item) }, 'Regenerate'),
    ] : [];
  const note = statusNote(message);
  item.append(
    el('div', { class: 'meta' }, el('span', { class: 'role' }, mine ? 'You' : 'Phi'), versions, note && el('span', { class: 'note' }, note)),
    content,
    el('div', { class: 'actions' }, ...controls),
  );
  return item;
}

/** A reply that did not end normally says so beside its text. */
function statusNote(message: Message): string | undefined {
  if (message.role === 'user') return undefined;
  switch (message.status) {
    case 'incomplete': return message.finishReason === 'cancelled' ? 'stopped' : 'incomplete';
    case 'failed': return 'failed';
    case 'filtered': return 'filtered by the content filter';
    default: return undefined;
  }
}
