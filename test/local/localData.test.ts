import { spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BUILT_START, cleanEnv, freePort, startBuiltApp } from '../support/builtApp.js';
import { call, newConversation } from '../support/http.js';

const USER = 'keeper';
const folders: string[] = [];
let child: ChildProcess | undefined;

function dataFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-data-'));
  folders.push(dir);
  return dir;
}

async function start(dataDir: string): Promise<{ api: string; output: string }> {
  const port = await freePort();
  const started = await startBuiltApp({ PORT: String(port), LOCAL_DATA_DIR: dataDir });
  child = started.child;
  return { api: `http://127.0.0.1:${port}/api`, output: started.output };
}

async function stop(signal: NodeJS.Signals): Promise<void> {
  const running = child!;
  child = undefined;
  const exited = new Promise((resolve) => running.once('exit', resolve));
  running.kill(signal);
  await exited;
}

async function turn(api: string, conversation: string, content: string): Promise<void> {
  const res = await call(api, 'POST', `/conversations/${conversation}/messages`, { user: USER, body: { content } });
  expect(res.events.at(-1)?.event, res.raw).toBe('message.completed');
}

/** What a client can read back: the caller's conversations, each one's messages, and the day's usage. */
async function everything(api: string): Promise<unknown> {
  const list = await call(api, 'GET', '/conversations', { user: USER });
  expect(list.status).toBe(200);
  const conversations = list.body.items as { id: string }[];
  const messages = await Promise.all(conversations.map(async ({ id }) => (await call(api, 'GET', `/conversations/${id}/messages`, { user: USER })).body.items));
  const usage = await call(api, 'GET', '/usage', { user: USER });
  return { conversations, messages, usage: usage.body.totals };
}

afterEach(async () => {
  if (child) await stop('SIGTERM');
});
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('npm start with a data folder (LOCAL_DATA_DIR)', () => {
  it('is built', () => {
    expect(existsSync(BUILT_START), `${BUILT_START} is missing: run npm run build`).toBe(true);
  });

  it('finds the conversations, messages and usage of before after a restart', async () => {
    const dir = dataFolder();
    const first = await start(dir);
    expect(first.output).toContain(`data is kept in ${dir} (0 documents found`);
    const a = await newConversation(first.api, USER, { title: 'Kept' });
    const b = await newConversation(first.api, USER);
    await turn(first.api, a, 'How many languages are in the world?');
    await turn(first.api, b, 'Hello');
    expect((await call(first.api, 'DELETE', `/conversations/${b}`, { user: USER })).status).toBe(204);
    const c = await newConversation(first.api, USER, { title: 'Renamed later' });
    expect((await call(first.api, 'PATCH', `/conversations/${c}`, { user: USER, body: { title: 'Renamed' } })).status).toBe(200);
    // A second run on the same folder is refused with one line, and the first one goes on.
    const second = spawnSync(process.execPath, [BUILT_START], { env: cleanEnv({ PORT: String(await freePort()), LOCAL_DATA_DIR: dir }), encoding: 'utf8', timeout: 20_000 });
    expect([second.status, second.stderr.trim().split('\n').at(-1)]).toEqual([1, expect.stringMatching(/^Cannot start: .* is in use by process \d+ \(another npm start\?\)/)]);
    const before = await everything(first.api);
    expect(before).toMatchObject({ conversations: [{ id: c, title: 'Renamed' }, { id: a, title: 'Kept', messageCount: 2 }] });
    expect((before as { usage: { requests: number } }).usage.requests).toBeGreaterThanOrEqual(2);
    await stop('SIGTERM');

    const again = await start(dir);
    expect(again.output).not.toMatch(/unreadable journal line/);
    expect(await everything(again.api)).toEqual(before);
  });

  it('after a kill -9 in the middle of a turn keeps what the store acknowledged, and starts over a torn last journal line', async () => {
    const dir = dataFolder();
    const first = await start(dir);
    const a = await newConversation(first.api, USER, { title: 'Before the crash' });
    await turn(first.api, a, 'First');
    const before = (await everything(first.api)) as { conversations: unknown[]; messages: unknown[][]; usage: { requests: number } };
    // The second turn's stream is open and its user message stored (message.created) when the process is killed.
    const res = await fetch(`${first.api}/conversations/${a}/messages`, {
      method: 'POST', headers: { 'x-user-id': USER, 'content-type': 'application/json' }, body: JSON.stringify({ content: 'Second' }),
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('event: message.created')) seen += new TextDecoder().decode((await reader.read()).value);
    await stop('SIGKILL');
    await reader.cancel().catch(() => undefined);
    const journal = readdirSync(dir).find((name) => name.startsWith('journal-'))!;
    // What a crash in the middle of a write leaves: the start of a line, no newline.
    appendFileSync(join(dir, journal), '{"at":"docs","db":"gAAB');

    const again = await start(dir);
    expect(again.output).toMatch(/1 unreadable journal line\(s\) at the end were dropped/);
    const after = (await everything(again.api)) as typeof before;
    expect(after.conversations).toHaveLength(1);
    // The first turn whole, then the second turn's user message; its reply is whatever was checkpointed.
    expect(after.messages[0]!.slice(0, 2)).toEqual(before.messages[0]);
    expect(after.messages[0]![2]).toMatchObject({ role: 'user', content: 'Second' });
    expect(after.usage.requests).toBeGreaterThanOrEqual(before.usage.requests);
    // And the service works on.
    await turn(again.api, await newConversation(again.api, USER), 'After the crash');
  });

  it('LOCAL_DATA_DIR=memory is a throwaway run', async () => {
    const { output } = await start('memory');
    expect(output).toMatch(/data lives in memory and is gone when the process stops/);
    expect(output).not.toMatch(/data is kept in/);
  });
});
