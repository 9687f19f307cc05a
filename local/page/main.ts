import { createChatClient } from '@phi-chat/client';
import { ChatPage, type PageElements } from './ChatPage.js';

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`index.html has no #${id}`);
  return element as T;
}

const elements: PageElements = {
  list: byId('conversations'), search: byId('search'), newChat: byId('new-chat'),
  usageToday: byId('usage-today'), usageQuota: byId('usage-quota'), title: byId('title'), model: byId('model'),
  problem: byId('problem'), problemText: byId('problem-text'), messages: byId('messages'),
  form: byId('composer'), textbox: byId('message'), send: byId('send'), stop: byId('stop'),
};

// Same origin as the API: the page is served by the local host beside /api.
await new ChatPage(createChatClient({ baseUrl: location.origin }), elements).start();
