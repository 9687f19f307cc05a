import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatPageFile } from '../../local/host/serveChatPage.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

describe('the chat page files', () => {
  it.each([
    ['/', 'local/page/index.html'],
    ['/style.css', 'local/page/style.css'],
    ['/app/main.js', 'dist/page/main.js'],
    ['/client/index.js', 'clients/typescript/dist/index.js'],
    ['/vendor/eventsource-parser/parse.js', 'node_modules/eventsource-parser/dist/parse.js'],
  ])('%s is %s', (path, file) => expect(chatPageFile(path)).toBe(file));

  it.each(['/api/health', '/app/../../package.json', '/app/%2e%2e/x.js', '/client/sub/x.js', '/client/.env', '/client/x.ts', '/index.html', '/app/'])(
    '%s is none of them', (path) => expect(chatPageFile(path)).toBeUndefined());
});

describe('the local host with the chat page', () => {
  let t: TestApp;
  let bare: TestApp;
  beforeAll(async () => {
    [t, bare] = await Promise.all([startTestApp({ chatPage: true }), startTestApp()]);
  });
  afterAll(async () => {
    await Promise.all([t.close(), bare.close()]);
  });

  it('serves the page at / and leaves the API as it was', async () => {
    const page = await fetch(`${t.host.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('"@phi-chat/client": "/client/index.js"');
    const css = await fetch(`${t.host.url}/style.css`, { method: 'HEAD' });
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    expect((await fetch(`${t.host.url}/api/health`)).status).toBe(200);
    const posted = await fetch(`${t.host.url}/`, { method: 'POST' });
    expect(posted.status).toBe(404);
  });

  it('serves nothing of the page without the option, as the Functions app in Azure', async () => {
    const page = await fetch(`${bare.host.url}/`);
    expect(page.status).toBe(404);
    expect(await page.json()).toMatchObject({ code: 'not_found' });
  });
});
