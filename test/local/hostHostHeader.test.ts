import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalHost, loadFunctionsApp, type LocalHost } from '../../local/host/index.js';
import { isLocalHostHeader } from '../../local/host/isLocalHostHeader.js';
import { isLoopbackAddress } from '../../local/host/isLoopbackAddress.js';
import { send } from '../support/localHostClient.js';

let host: LocalHost;
const infoLines: string[] = [];

beforeAll(async () => {
  const app = await loadFunctionsApp({ mainGlob: 'test/support/fixtures/hostApp/*.ts' });
  host = await createLocalHost({ app, logger: { info: (line) => infoLines.push(line), error: () => undefined } });
});

afterAll(async () => {
  await host?.close();
});

// A page on evil.example whose DNS name is rebound to 127.0.0.1 reaches the loopback host, but the browser still
// sends `Host: evil.example`: that is the one thing that tells such a request apart.
describe('the local host on loopback answers only requests addressed to this machine', () => {
  it('serves Host localhost, 127.0.0.1 and [::1] on any port', async () => {
    expect(host.loopback).toBe(true);
    for (const name of [`127.0.0.1:${host.port}`, `localhost:${host.port}`, 'LOCALHOST', '[::1]:80']) {
      const res = await send(`${host.url}/api/stream`, { headers: { host: name } });
      expect(res.status, name).toBe(200);
    }
  });

  it('refuses any other Host with 421 misdirected_request and runs no function', async () => {
    const before = infoLines.length;
    for (const name of ['evil.example', `evil.example:${host.port}`, '127.0.0.1.evil.example', 'localhost.', 'user@localhost']) {
      const res = await send(`${host.url}/api/stream`, { headers: { host: name } });
      expect(res.status, name).toBe(421);
      expect(res.json()).toMatchObject({ status: 421, code: 'misdirected_request', title: 'Misdirected Request' });
    }
    expect(infoLines.slice(before).every((line) => line.includes('421 (Host not this machine)'))).toBe(true);
  });

  it('tells loopback addresses and names from the rest', () => {
    expect(['127.0.0.1', '127.8.9.1', '::1', '[::1]', '::ffff:127.0.0.1', 'localhost'].map(isLoopbackAddress)).toEqual([true, true, true, true, true, true]);
    expect(['0.0.0.0', '::', '192.168.1.4', '10.0.0.1', 'example.com', '::ffff:10.0.0.1'].map(isLoopbackAddress)).toEqual([false, false, false, false, false, false]);
    expect([undefined, '', 'localhost:x', 'localhost/path', 'a@localhost'].map(isLocalHostHeader)).toEqual([false, false, false, false, false]);
  });
});
