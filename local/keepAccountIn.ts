import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** A resource as the embedded server holds it: its own fields plus `_rid`, `_etag`, `_ts`, `_self`. */
type Resource = { readonly _rid: string } & Record<string, unknown>;

/**
 * The part of `@vercel/cosmosdb-server`'s `Items` (lib/account/items.js) this file relies on: every create, replace,
 * upsert and delete of a database, collection or document ends in `_set` or `delete` of one of these.
 */
interface Store<Child> {
  _data: Map<string, Child>;
  _ridCount: number;
  _set(data: Resource): Resource;
  delete(idOrRid: string, partition?: unknown): void;
  _toRid(keyPath: string, idOrRid: string, partition: unknown): string;
}
interface Held { read(): Resource }
interface CollectionItem extends Held { documents: Store<Held> }
interface DatabaseItem extends Held { collections: Store<CollectionItem> }
/** The server's `Account` (lib/account/index.js), reduced to what is kept. */
export interface CosmosAccount { databases: Store<DatabaseItem> }

type Where = { at: 'dbs' } | { at: 'colls'; db: string } | { at: 'docs'; db: string; coll: string };
type Change = Where & ({ set: Resource; n: number } | { del: string });

interface Level { n: number; items: { data: Resource; children?: Level }[] }
interface Snapshot { version: 1; generation: number; databases: Level }

export interface KeptAccount {
  /** Lines of the journal that could not be read at start (a torn last write, or worse): what was dropped. */
  readonly dropped: number;
  readonly documents: number;
  close(): void;
}

const SNAPSHOT = 'snapshot.json';
const journalName = (generation: number) => `journal-${generation}.ndjson`;
/** How often the journal reaches the disk itself (fdatasync); a process kill loses nothing either way. */
const SYNC_INTERVAL_MS = 1000;

/**
 * Keeps the embedded server's account in `dir`, before it answers any request: loads the snapshot and replays its
 * journal, writes them as a new snapshot (so a journal only grows within one run), then journals every change.
 * Each event-loop turn's changes go to the journal in one write(2), queued as a microtask from the first change, so
 * before the server's handler (an async function that ends in res.end after its synchronous changes) answers: once
 * the store has acknowledged a write, a kill -9 cannot lose it, and a batch is all in the journal or not at all.
 */
export function keepAccountIn(account: CosmosAccount, dir: string): KeptAccount {
  mkdirSync(dir, { recursive: true });
  const unlock = lock(dir);
  try {
    return keep(account, dir, unlock);
  } catch (error) {
    unlock();
    throw error;
  }
}

/** Another run keeping the same folder: a second writer would compact the snapshot under the first one's journal. */
export class DataFolderInUse extends Error {}

/** `lock` holds the pid of the run keeping the folder; one left by a process that is gone (a kill -9) is taken over. */
function lock(dir: string): () => void {
  const path = join(dir, 'lock');
  for (;;) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(path, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
      throw new DataFolderInUse(`${dir} is in use by process ${holder} (another npm start?): stop it, or set LOCAL_DATA_DIR to another folder or to memory`);
    }
    rmSync(path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function keep(account: CosmosAccount, dir: string, unlock: () => void): KeptAccount {
  const previous = readSnapshot(dir);
  if (previous) load(account, previous.databases);
  const generation = previous?.generation ?? 0;
  const dropped = replay(account, readJournal(join(dir, journalName(generation))));

  const next = generation + 1;
  writeFileAtomically(dir, SNAPSHOT, JSON.stringify({ version: 1, generation: next, databases: levelOf(account.databases, 0) } satisfies Snapshot));
  for (const name of readdirSync(dir)) if (/^journal-\d+\.ndjson$/.test(name) && name !== journalName(next)) rmSync(join(dir, name));
  const fd = openSync(join(dir, journalName(next)), 'a');

  let pending: string[] = [];
  let unsynced = false;
  const flush = () => {
    if (pending.length === 0) return;
    const bytes = Buffer.from(pending.join(''));
    pending = [];
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
    unsynced = true;
  };
  const record = (change: Change) => {
    if (pending.length === 0) queueMicrotask(flush);
    pending.push(`${JSON.stringify(change)}\n`);
  };
  watchAll(account, record);
  const timer = setInterval(() => {
    if (!unsynced) return;
    unsynced = false;
    fdatasyncSync(fd);
  }, SYNC_INTERVAL_MS);
  timer.unref();

  let documents = 0;
  for (const db of account.databases._data.values()) for (const coll of db.collections._data.values()) documents += coll.documents._data.size;
  return {
    dropped, documents,
    close: () => {
      clearInterval(timer);
      flush();
      fsyncSync(fd);
      closeSync(fd);
      unlock();
    },
  };
}

function readSnapshot(dir: string): Snapshot | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, SNAPSHOT), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  // Written whole and renamed into place, so never torn: a snapshot that does not parse is someone else's file.
  const snapshot = JSON.parse(text) as Snapshot;
  if (snapshot.version !== 1) throw new Error(`${join(dir, SNAPSHOT)}: unknown snapshot version ${String(snapshot.version)}`);
  return snapshot;
}

/** The journal's changes up to the first line that does not parse (a torn tail after a crash), and how many lines were left. */
function readJournal(path: string): { changes: Change[]; dropped: number } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { changes: [], dropped: 0 };
    throw error;
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const changes: Change[] = [];
  for (const [index, line] of lines.entries()) {
    try {
      changes.push(JSON.parse(line) as Change);
    } catch {
      // Changes after a bad line may depend on it: keep the journal's prefix only, which is a state the store had.
      return { changes, dropped: lines.length - index };
    }
  }
  return { changes, dropped: 0 };
}

function replay(account: CosmosAccount, journal: { changes: Change[]; dropped: number }): number {
  for (const change of journal.changes) {
    const store = storeAt(account, change);
    if (!store) continue;
    if ('del' in change) {
      if (store._data.has(change.del)) store.delete(change.del);
    } else {
      store._set(change.set);
      store._ridCount = Math.max(store._ridCount, change.n);
    }
  }
  return journal.dropped;
}

function storeAt(account: CosmosAccount, where: Where): Store<Held> | undefined {
  if (where.at === 'dbs') return account.databases;
  const db = account.databases._data.get(where.db);
  if (where.at === 'colls') return db?.collections;
  return db?.collections._data.get(where.coll)?.documents;
}

function load(account: CosmosAccount, databases: Level): void {
  const fill = <Child extends Held>(store: Store<Child>, level: Level, below?: (child: Child, level: Level) => void) => {
    for (const { data, children } of level.items) {
      store._set(data);
      if (below && children) below(store._data.get(data._rid)!, children);
    }
    store._ridCount = level.n;
  };
  fill(account.databases, databases, (db, collections) => fill(db.collections, collections, (coll, docs) => fill(coll.documents, docs)));
}

function levelOf(store: Store<Held>, depth: number): Level {
  const items = [...store._data.values()].map((item) => {
    const below = depth === 0 ? (item as DatabaseItem).collections : depth === 1 ? (item as CollectionItem).documents : undefined;
    return { data: item.read(), ...(below ? { children: levelOf(below, depth + 1) } : {}) };
  });
  return { n: store._ridCount, items };
}

/** Wraps every store's `_set` and `delete`, and those of the stores each new database or collection brings. */
function watchAll(account: CosmosAccount, record: (change: Change) => void): void {
  const watchColl = (db: string, rid: string, coll: CollectionItem) => watch(coll.documents, { at: 'docs', db, coll: rid }, record);
  const watchDb = (rid: string, db: DatabaseItem) => {
    watch(db.collections, { at: 'colls', db: rid }, record, (collRid, coll) => watchColl(rid, collRid, coll));
    for (const [collRid, coll] of db.collections._data) watchColl(rid, collRid, coll);
  };
  watch(account.databases, { at: 'dbs' }, record, watchDb);
  for (const [rid, db] of account.databases._data) watchDb(rid, db);
}

function watch<Child>(store: Store<Child>, where: Where, record: (change: Change) => void, onNew?: (rid: string, child: Child) => void): void {
  const set = store._set.bind(store);
  const remove = store.delete.bind(store);
  store._set = (data) => {
    const out = set(data);
    record({ ...where, set: data, n: store._ridCount });
    // A replaced database or collection is a new object with new, empty stores below it, as in the server itself.
    onNew?.(out._rid, store._data.get(out._rid)!);
    return out;
  };
  store.delete = (idOrRid, partition) => {
    const rid = store._toRid('/id', idOrRid, partition);
    remove(idOrRid, partition);
    record({ ...where, del: rid });
  };
}

function writeFileAtomically(dir: string, name: string, text: string): void {
  const temporary = join(dir, `${name}.tmp`);
  writeFileSync(temporary, text);
  const fd = openSync(temporary, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temporary, join(dir, name));
  const dirFd = openSync(dir, 'r');
  fsyncSync(dirFd);
  closeSync(dirFd);
}
