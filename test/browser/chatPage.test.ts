import { execFileSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient } from '../../clients/typescript/src/index.js';
import { CHROMIUM_PATH, hasChromium, openBrowser, type TestBrowser } from '../support/browser.js';
import { startTcpProxy } from '../support/tcpProxy.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

if (!hasChromium) console.log(`browser tests did not run: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, as .ci/run does)`);

/** The page's script and the client's ESM, as npm start serves them (incremental: quick when up to date). */
function buildPage(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-b', 'local/page'], { stdio: 'inherit' });
}

/**
 * Records, in the page, each distinct text of the newest reply and its status, at every DOM change: what a person
 * saw render. A string, as it runs in the browser (this project's Node typings have no DOM).
 */
const RECORD_RENDERS = `(() => {
  const renders = [];
  window.__renders = renders;
  const list = document.getElementById('messages');
  new MutationObserver(() => {
    const replies = list.querySelectorAll('li.message.assistant');
    const reply = replies[replies.length - 1];
    if (!reply) return;
    const text = reply.querySelector('.content')?.textContent ?? '';
    const last = renders[renders.length - 1];
    if (!last || last.text !== text) renders.push({ text, status: reply.dataset.status });
  }).observe(list, { subtree: true, childList: true, characterData: true, attributes: true });
})()`;

interface Render { text: string; status: string }

const replyText = (page: Page) => page.locator('li.message.assistant .content').last().textContent();
const settledReply = (page: Page) => page.locator('li.message.assistant:not([data-status="streaming"])').last().waitFor();

/** The local user's conversations as the service stored them (the page acts as dev mode's `local-user`). */
async function storedBranch(app: TestApp) {
  const client = createChatClient({ baseUrl: app.host.url });
  const [conversation] = (await client.conversations.list()).items;
  return { conversation: conversation!, messages: (await client.messages.list(conversation!.id)).items };
}

/** A page on `origin` with an empty chat open. */
async function newChat(browser: TestBrowser, origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  await page.getByRole('button', { name: 'New chat' }).click();
  return page;
}

async function sendFromPage(page: Page, text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

describe.skipIf(!hasChromium)('the chat page in Chromium', () => {
  let app: TestApp;
  let browser: TestBrowser;

  beforeAll(async () => {
    buildPage();
    // 40 ms between chunks: a reply of some forty words takes about two seconds to stream in.
    [app, browser] = await Promise.all([startTestApp({ chatPage: true, simulator: { chunkDelayMs: 40 } }), openBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('streams a sent message in: at least 3 distinct renders of the reply before it completes', async () => {
    const page = await browser.newPage();
    await page.goto(`${app.host.url}/`);
    await expect.poll(() => page.getByRole('button', { name: 'New chat' }).isVisible()).toBe(true);
    await page.evaluate(RECORD_RENDERS);
    await sendFromPage(page, 'Hello, who are you?');
    await page.locator('li.message.assistant .content').last().filter({ hasText: /\S+ \S+ \S+/ }).waitFor();
    await browser.screenshot(page, 'chat-streaming');
    await settledReply(page);
    await browser.screenshot(page, 'chat-complete');

    const { messages } = await storedBranch(app);
    const stored = messages.find((m) => m.role === 'assistant')!;
    expect(stored.status).toBe('complete');
    expect(await replyText(page)).toBe(stored.content);
    const renders = (await page.evaluate('window.__renders')) as Render[];
    const partial = renders.filter((r) => r.status === 'streaming' && r.text !== '' && r.text !== stored.content);
    expect(partial.length).toBeGreaterThanOrEqual(3);
    // Each render grew the one before it: the reply arrived piece by piece, in order.
    for (const render of partial) expect(stored.content.startsWith(render.text)).toBe(true);
    expect(new Set(partial.map((r) => r.text.length)).size).toBe(partial.length);
    await expect.poll(() => page.locator('#usage-today').textContent()).toMatch(/^Today: [\d,]+ tokens in 1 request$/);
    await page.close();
  });

  it('shows the history again after a reload', async () => {
    const page = await browser.newPage();
    await page.goto(`${app.host.url}/`);
    await page.locator('button.conversation').first().click();
    await page.locator('li.message.assistant').first().waitFor();
    const { conversation, messages } = await storedBranch(app);
    expect(page.url()).toContain(`#${conversation.id}`);

    await page.reload();
    await page.locator('li.message.assistant').first().waitFor();
    const shown = await page.evaluate(`[...document.querySelectorAll('li.message')].map((li) => [li.className, li.querySelector('.content').textContent])`);
    expect(shown).toEqual(messages.map((m) => [`message ${m.role}`, m.content]));
    await expect.poll(() => page.locator('button.conversation[aria-current="page"]').count()).toBe(1);
    await browser.screenshot(page, 'chat-reloaded');
    await page.close();
  });

  it('is usable by keyboard: Enter in the textbox sends, focus stays in it', async () => {
    const page = await newChat(browser, app.host.url);
    const textbox = page.getByRole('textbox', { name: 'Message' });
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('message');
    await page.keyboard.type('Typed, then Enter');
    await page.keyboard.press('Enter');
    await page.locator('li.message.user', { hasText: 'Typed, then Enter' }).waitFor();
    await settledReply(page);
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('message');
    expect(await textbox.inputValue()).toBe('');
    await browser.screenshot(page, 'chat-keyboard');
    await page.close();
  });

  describe('v2 controls', () => {
    it('Stop keeps the partial text', async () => {
      const page = await newChat(browser, app.host.url);
      await sendFromPage(page, 'Stop me midway');
      await page.locator('li.message.assistant .content').last().filter({ hasText: /\S+ \S+ \S+/ }).waitFor();
      await page.getByRole('button', { name: 'Stop' }).click();
      await settledReply(page);
      const { messages } = await storedBranch(app);
      const reply = messages.at(-1)!;
      expect(reply).toMatchObject({ status: 'incomplete', finishReason: 'cancelled' });
      expect(await replyText(page)).toBe(reply.content);
      expect(reply.content.length).toBeGreaterThan(0);
      expect(await page.locator('li.message.assistant .note').last().textContent()).toBe('stopped');
      await expect.poll(() => page.getByRole('button', { name: 'Stop' }).isVisible()).toBe(false);
      await browser.screenshot(page, 'chat-stopped');
      await page.close();
    });

    it('Regenerate shows 2/2 and the version buttons switch the visible reply', async () => {
      const page = await newChat(browser, app.host.url);
      await sendFromPage(page, 'Answer twice');
      await settledReply(page);
      await page.getByRole('button', { name: 'Regenerate' }).click();
      await page.locator('.version-label', { hasText: '2/2' }).waitFor();
      await settledReply(page);
      const { conversation, messages } = await storedBranch(app);
      const client = createChatClient({ baseUrl: app.host.url });
      const [oldId, newId] = (await client.messages.get(conversation.id, messages.at(-1)!.id)).siblingIds!;
      const [oldReply, newReply] = await Promise.all([oldId!, newId!].map((m) => client.messages.get(conversation.id, m)));
      // The simulator answers a prompt the same way each time: which version is shown is told by its id.
      const shown = async () => [await page.locator('li.message.assistant').last().getAttribute('data-id'), await replyText(page)];
      expect(await shown()).toEqual([newId, newReply!.content]);
      expect(await page.locator('li.message.assistant').count()).toBe(1);

      await page.getByRole('button', { name: 'Previous version' }).click();
      await page.locator('.version-label', { hasText: '1/2' }).waitFor();
      expect(await shown()).toEqual([oldId, oldReply!.content]);
      await expect.poll(async () => (await client.conversations.get(conversation.id)).activeLeafId).toBe(oldId);
      await page.getByRole('button', { name: 'Next version' }).click();
      await page.locator('.version-label', { hasText: '2/2' }).waitFor();
      expect(await shown()).toEqual([newId, newReply!.content]);
      await browser.screenshot(page, 'chat-regenerated');
      await page.close();
    });

    it('Edit sends the new text as a branch beside the old one', async () => {
      const page = await newChat(browser, app.host.url);
      await sendFromPage(page, 'Original question');
      await settledReply(page);
      await page.getByRole('button', { name: 'Edit' }).click();
      await page.getByRole('textbox', { name: 'Edited message' }).fill('Edited question');
      await page.getByRole('button', { name: 'Save and send' }).click();
      await page.locator('li.message.user .version-label', { hasText: '2/2' }).waitFor();
      await settledReply(page);
      expect(await page.locator('li.message.user .content').allTextContents()).toEqual(['Edited question']);
      const { conversation, messages } = await storedBranch(app);
      expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
      expect(messages[0]).toMatchObject({ content: 'Edited question', parentId: null });
      expect(await replyText(page)).toBe(messages[1]!.content);
      const all = (await createChatClient({ baseUrl: app.host.url }).messages.list(conversation.id, { branch: 'all' })).items;
      expect(all.map((m) => m.content).filter((c) => c.endsWith('question'))).toEqual(['Original question', 'Edited question']);

      await page.getByRole('button', { name: 'Previous version' }).first().click();
      await page.locator('li.message.user .content', { hasText: 'Original question' }).waitFor();
      await page.locator('li.message.user .version-label', { hasText: '1/2' }).waitFor();
      const original = await storedBranch(app);
      expect(original.messages[0]!.content).toBe('Original question');
      expect(await replyText(page)).toBe(original.messages[1]!.content);
      expect(original.messages[1]!.content).not.toBe(messages[1]!.content);
      await browser.screenshot(page, 'chat-edited');
      await page.close();
    });

    it('a reload mid-reply follows the reply to its end, shown once', async () => {
      const page = await newChat(browser, app.host.url);
      // A slower reply, so that it is still being written when the reloaded page asks for it.
      app.sim.faults.next({ kind: 'chunkDelayMs', ms: 120 });
      await sendFromPage(page, 'Reload me midway');
      await page.locator('li.message.assistant .content').last().filter({ hasText: /\S+ \S+ \S+/ }).waitFor();
      await page.reload();
      await page.locator('li.message.assistant').first().waitFor();
      const atReload = await storedBranch(app);
      await page.locator('li.message.assistant[data-status="complete"]').last().waitFor();
      const { messages } = await storedBranch(app);
      // It was still being written when the page came back, and the page followed it (the resume route).
      expect(atReload.messages.at(-1)).toMatchObject({ id: messages.at(-1)!.id, status: 'streaming' });
      expect(messages.at(-1)!.status).toBe('complete');
      expect(await page.locator('li.message.assistant .content').allTextContents()).toEqual([messages.at(-1)!.content]);
      await browser.screenshot(page, 'chat-reloaded-midway');
      await page.close();
    });

    it('a connection cut mid-reply ends with the full reply on screen exactly once', async () => {
      const proxy = await startTcpProxy({ host: '127.0.0.1', port: app.host.port });
      try {
        const page = await newChat(browser, `http://127.0.0.1:${proxy.port}`);
        await page.evaluate(RECORD_RENDERS);
        await sendFromPage(page, 'Survive a cut');
        await page.locator('li.message.assistant .content').last().filter({ hasText: /\S+ \S+ \S+/ }).waitFor();
        await proxy.cut();
        const atCut = await storedBranch(app);
        await proxy.restore();
        // The cut came mid-reply: the service was still writing it.
        expect(atCut.messages.at(-1)).toMatchObject({ role: 'assistant', status: 'streaming' });
        await page.locator('li.message.assistant[data-status="complete"]').last().waitFor();
        const { messages } = await storedBranch(app);
        expect(messages.at(-1)).toMatchObject({ id: atCut.messages.at(-1)!.id, status: 'complete' });
        const content = messages.at(-1)!.content;
        expect(await replyText(page)).toBe(content);
        expect(await page.locator('li.message.assistant').count()).toBe(1);
        // Not only the final re-read: at no moment did the streamed text repeat or skip a piece.
        const renders = (await page.evaluate('window.__renders')) as Render[];
        for (const render of renders) expect(content.startsWith(render.text)).toBe(true);
        expect(renders.filter((r) => r.status === 'streaming').at(-1)?.text).toBe(content);
        expect(await page.getByRole('alert').isVisible()).toBe(false);
        await browser.screenshot(page, 'chat-resumed');
        await page.close();
      } finally {
        await proxy.close();
      }
    });
  });

  describe('v2 feedback and search', () => {
    it('thumbs up and down are stored on the reply, and pressing the pressed one again clears it', async () => {
      const page = await newChat(browser, app.host.url);
      await sendFromPage(page, 'Rate this reply');
      await settledReply(page);
      const { conversation, messages } = await storedBranch(app);
      const reply = messages.at(-1)!;
      const client = createChatClient({ baseUrl: app.host.url });
      const stored = async () => (await client.messages.get(conversation.id, reply.id)).feedback?.rating ?? 'none';
      const good = page.getByRole('button', { name: 'Good reply' });
      const bad = page.getByRole('button', { name: 'Bad reply' });

      await good.click();
      await expect.poll(stored).toBe('up');
      await expect.poll(() => good.getAttribute('aria-pressed')).toBe('true');
      await bad.click();
      await expect.poll(stored).toBe('down');
      await expect.poll(() => bad.getAttribute('aria-pressed')).toBe('true');
      expect(await good.getAttribute('aria-pressed')).toBe('false');
      await page.reload();
      await expect.poll(() => page.getByRole('button', { name: 'Bad reply' }).getAttribute('aria-pressed')).toBe('true');
      await browser.screenshot(page, 'chat-rated');
      await page.getByRole('button', { name: 'Bad reply' }).click();
      await expect.poll(stored).toBe('none');
      await page.close();
    });

    it('search filters the conversation list by title, case-insensitively', async () => {
      const client = createChatClient({ baseUrl: app.host.url });
      const lisbon = await client.conversations.create({ title: 'Lisbon trip' });
      const berlin = await client.conversations.create({ title: 'Berlin notes' });
      const page = await browser.newPage();
      await page.goto(`${app.host.url}/`);
      const listed = (id: string) => page.locator(`button.conversation[data-id="${id}"]`).count();
      await expect.poll(() => listed(berlin.id)).toBe(1);
      expect(await listed(lisbon.id)).toBe(1);

      await page.getByRole('searchbox', { name: 'Search conversations' }).fill('LISB');
      await expect.poll(() => listed(berlin.id)).toBe(0);
      expect(await page.locator('.conversation-title').allTextContents()).toEqual(['Lisbon trip']);
      await browser.screenshot(page, 'chat-search');
      await page.getByRole('searchbox', { name: 'Search conversations' }).fill('no such title');
      await page.locator('#conversations li.empty', { hasText: 'No title matches' }).waitFor();
      await page.getByRole('searchbox', { name: 'Search conversations' }).fill('');
      await expect.poll(() => listed(berlin.id)).toBe(1);
      expect(await listed(lisbon.id)).toBe(1);
      await page.close();
    });
  });

  describe('auto titles', () => {
    // Its own app: titles are off in the others (a title call is a second model request in their usage figures).
    let titled: TestApp;
    beforeAll(async () => {
      titled = await startTestApp({ chatPage: true, env: { AUTO_TITLE: 'true' } });
    });
    afterAll(() => titled?.close());

    it('titles the conversation, finds it by search and keeps a thumbs up', async () => {
      const app = titled;
      const page = await newChat(browser, app.host.url);
      await sendFromPage(page, 'Plan a trip to Lisbon');
      await settledReply(page);
      const { conversation } = await storedBranch(app);
      await expect.poll(async () => (await createChatClient({ baseUrl: app.host.url }).conversations.get(conversation.id)).titleSource).toBe('auto');
      const title = (await createChatClient({ baseUrl: app.host.url }).conversations.get(conversation.id)).title;
      const q = title.slice(0, 5);
      await page.getByRole('searchbox', { name: 'Search conversations' }).fill(q.toUpperCase());
      await expect.poll(() => page.locator(`button.conversation[data-id="${conversation.id}"]`).count()).toBe(1);
      // What is listed is the search's answer, with the title as stored now.
      await expect.poll(async () => (await page.locator('.conversation-title').allTextContents()).map((t) => t.toLowerCase())).toEqual([title.toLowerCase()]);
      await page.getByRole('button', { name: 'Good reply' }).click();
      await expect.poll(() => page.getByRole('button', { name: 'Good reply' }).getAttribute('aria-pressed')).toBe('true');
      await page.reload();
      await expect.poll(() => page.getByRole('button', { name: 'Good reply' }).getAttribute('aria-pressed')).toBe('true');
      await browser.screenshot(page, 'chat-titled');
      await page.close();
    });
  });
});

describe.skipIf(!hasChromium)('the client in a web app on another origin', () => {
  let app: TestApp;
  let browser: TestBrowser;

  beforeAll(async () => {
    buildPage();
    [app, browser] = await Promise.all([
      startTestApp({ chatPage: true, simulator: { chunkDelayMs: 40 }, env: { CORS_ALLOWED_ORIGINS: '*' } }), openBrowser(),
    ]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('resumes a reply cut mid-stream across CORS, the reply yielded exactly once', async () => {
    // The API behind a proxy on another port: another origin than the page's, so every request is a CORS one
    // and the resume request passes a preflight first.
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: app.host.port });
    try {
      const page = await browser.newPage();
      await page.goto(`${app.host.url}/`);
      await page.evaluate(`window.__run = (async () => {
        const { createChatClient } = await import('/client/index.js');
        const client = createChatClient({ baseUrl: 'http://127.0.0.1:${proxy.port}' });
        const { id } = await client.conversations.create({ title: 'From another origin' });
        const out = { id, deltas: 0, text: '', types: [] };
        window.__out = out;
        for await (const event of client.send(id, 'Across origins, please')) {
          out.types.push(event.type);
          if (event.type === 'message.delta') { out.deltas += 1; out.text += event.content; }
          if (event.type === 'message.completed') out.message = event.message;
          if (event.type === 'error') out.problem = event.problem.code;
        }
        return out;
      })(); undefined`);
      await expect.poll(() => page.evaluate('window.__out?.deltas ?? 0'), { timeout: 20_000 }).toBeGreaterThanOrEqual(5);
      await proxy.cut();
      const atCut = await storedBranch(app);
      await proxy.restore();
      expect(atCut.messages.at(-1)).toMatchObject({ role: 'assistant', status: 'streaming' });

      const out = (await page.evaluate('window.__run')) as { id: string; text: string; types: string[]; message?: { id: string; content: string; status: string } };
      const { messages } = await storedBranch(app);
      expect(out.message).toMatchObject({ id: messages.at(-1)!.id, status: 'complete', content: messages.at(-1)!.content });
      expect(out.text).toBe(messages.at(-1)!.content);
      expect(out.types.filter((t) => t === 'message.created')).toHaveLength(1);
      expect(out.types.at(-1)).toBe('message.completed');

      // The same conversation on the chat page: the reply once, as stored.
      // A fresh load (a hash change alone would keep the list as it was before the conversation existed).
      await page.goto(`${app.host.url}/#${out.id}`);
      await page.reload();
      await page.locator('li.message.assistant').first().waitFor();
      await expect.poll(() => page.locator(`button.conversation[data-id="${out.id}"][aria-current="page"]`).count()).toBe(1);
      expect(await page.locator('li.message.assistant .content').allTextContents()).toEqual([messages.at(-1)!.content]);
      await browser.screenshot(page, 'client-cross-origin-resumed');
      await page.close();
    } finally {
      await proxy.close();
    }
  });
});

describe.skipIf(!hasChromium)('the chat page over quota', () => {
  let app: TestApp;
  let browser: TestBrowser;

  beforeAll(async () => {
    buildPage();
    [app, browser] = await Promise.all([startTestApp({ chatPage: true, env: { USER_DAILY_TOKEN_LIMIT: '10' } }), openBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("says in words that today's quota is used up and when it resets, and gives the text back", async () => {
    const page = await browser.newPage();
    await page.goto(`${app.host.url}/`);
    await sendFromPage(page, 'This turn crosses the limit');
    await settledReply(page);
    await expect.poll(() => page.locator('#usage-quota').textContent()).toMatch(/^0 of 10 tokens left today · resets in \d/);
    await sendFromPage(page, 'This one is refused');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/You have used today's quota of 10 tokens\. It resets at midnight UTC, in (\d+ h( \d+ min)?|\d+ min|\d+ s)\./);
    // Given back once the page has re-read what is stored (it shows the refusal first).
    await expect.poll(() => page.getByRole('textbox', { name: 'Message' }).inputValue()).toBe('This one is refused');
    expect(await page.locator('li.message').count()).toBe(2);
    await browser.screenshot(page, 'chat-quota');
    await page.close();
  });
});
