import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Handlers a child process answers: each takes one JSON argument and returns (a promise of) JSON. */
export type Handlers = Record<string, (arg: never) => unknown>;

interface Request { readonly id: number; readonly cmd: string; readonly arg: unknown }
interface Reply { readonly id: number; readonly ok: boolean; readonly value?: unknown; readonly error?: string }

/** In a child: answers the parent's requests with `handlers` until the parent disconnects. */
export function serve(handlers: Handlers): void {
  process.on('message', (message: Request) => {
    const handler = handlers[message.cmd] as ((arg: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${message.cmd}`);
        return handler(message.arg);
      })
      .then(
        (value) => process.send?.({ id: message.id, ok: true, value } satisfies Reply),
        (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? error.stack : String(error) } satisfies Reply),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

/** A child process running `script` (next to this file) and a typed way to call its handlers. */
export interface Child<H extends Handlers> {
  call<K extends keyof H & string>(cmd: K, arg: Parameters<H[K]>[0]): Promise<Awaited<ReturnType<H[K]>>>;
  close(): void;
}

/** Forks `script` (compiled, next to this file) and waits for nothing: the first call queues until it is up. */
export function spawnChild<H extends Handlers>(script: string): Child<H> {
  const child: ChildProcess = fork(fileURLToPath(new URL(script, import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  child.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.ok) waiter?.resolve(reply.value);
    else waiter?.reject(new Error(`${script}: ${reply.error}`));
  });
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${script} exited (${code})`));
    pending.clear();
  });
  return {
    call(cmd, arg) {
      const id = (next += 1);
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, cmd, arg } satisfies Request);
      });
    },
    close() {
      child.disconnect();
    },
  };
}
