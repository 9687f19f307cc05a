import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A loopback TCP relay a test can cut (the target looks down) and restore (the same target, same data, is back). */
export interface TcpProxy {
  /** `127.0.0.1:<port>` */
  readonly host: string;
  readonly port: number;
  /** Resets every relayed connection and stops listening (new connections are refused) until `restore()`. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  readonly isCut: boolean;
  close(): Promise<void>;
}

/**
 * Relays bytes to `target` (TLS passes through untouched). Cut, it resets the open connections and closes its
 * port, so a client sees a database that went away (ECONNRESET, then ECONNREFUSED) with no wait for a timeout.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (at: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    get isCut() {
      return cut;
    },
    async cut() {
      if (cut) return;
      cut = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.resetAndDestroy();
      open.clear();
      await closed;
    },
    async restore() {
      if (!cut) return;
      await listen(port);
      cut = false;
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      if (!cut) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
