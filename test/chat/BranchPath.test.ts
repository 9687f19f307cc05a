import { describe, expect, it } from 'vitest';
import { below, laneAfter, linePath, newestLeaf, onPath, pathTo, type LaneReader, type LaneSpan } from '../../src/chat/BranchPath.js';

interface M {
  readonly id: string;
  readonly seq: number;
  readonly parentId: string | null;
  readonly branch?: string;
  readonly forks?: readonly LaneSpan[];
}

/** Builds a tree message by message, placing each as the core does (joins the leaf's lane, else opens a lane). */
function tree() {
  const all: M[] = [];
  let leaf: M | null = null;
  const add = (id: string, parent: M | null | undefined): M => {
    const p = parent === undefined ? leaf : parent;
    const joins = (p?.id ?? null) === (leaf?.id ?? null);
    const m: M = { id, seq: all.length + 1, parentId: p?.id ?? null, ...laneAfter(p, joins, id) };
    all.push(m);
    leaf = m;
    return m;
  };
  const reader: LaneReader & { calls: number } = Object.assign(async (branch: string | null, fromSeq: number) => {
    reader.calls += 1;
    return {
      members: all.filter((m) => (m.branch ?? null) === branch && m.seq >= fromSeq).map(({ id, seq }) => ({ id, seq })),
      roots: all.flatMap((m) => {
        const fork = m.branch === m.id ? m.forks?.at(-1) : undefined;
        return fork && m.branch && fork.branch === branch && fork.untilSeq >= fromSeq ? [{ id: m.id, seq: m.seq, branch: m.branch, forks: m.forks ?? [], forkSeq: fork.untilSeq }] : [];
      }),
    };
  }, { calls: 0 });
  const byId = (id: string) => all.find((m) => m.id === id)!;
  const ancestors = (id: string): string[] => {
    const out: string[] = [];
    for (let at: string | null = id; at !== null; at = byId(at).parentId) out.unshift(at);
    return out;
  };
  return { all, add, reader, byId, ancestors, setLeaf: (m: M) => (leaf = m) };
}

describe('BranchPath', () => {
  it('a path read by lanes is exactly the ancestors of a message, whatever else the conversation holds', () => {
    const t = tree();
    const u1 = t.add('u1', undefined);
    const a1 = t.add('a1', undefined);
    t.add('u2', undefined);
    t.add('a2', undefined);
    const e2 = t.add('e2', a1); // edit after a1: a new lane
    const f2 = t.add('f2', undefined);
    t.add('r1', u1); // regenerate a1
    const g = t.add('g', f2);
    t.add('root', null);
    for (const m of t.all) {
      const path = pathTo(m);
      expect([m.id, t.all.filter((x) => onPath(path, x)).map((x) => x.id)]).toEqual([m.id, t.ancestors(m.id)]);
    }
    expect(e2).toMatchObject({ branch: 'e2', forks: [{ branch: null, untilSeq: 2 }] });
    expect(f2).toMatchObject({ branch: 'e2' });
    expect(g).toMatchObject({ branch: 'g', forks: [{ branch: null, untilSeq: 2 }, { branch: 'e2', untilSeq: 6 }] });
    expect(t.all.filter((x) => onPath(below(pathTo(f2), f2.seq), x)).map((x) => x.id)).toEqual(['u1', 'a1', 'e2']);
    expect(t.all.filter((x) => onPath(linePath(4), x)).map((x) => x.id)).toEqual(['u1', 'a1', 'u2', 'a2']);
  });

  it('the first message of an empty conversation stays in the original lane; parentId null elsewhere opens a root lane', () => {
    expect(laneAfter(null, true, 'x')).toEqual({});
    expect(laneAfter(null, false, 'x')).toEqual({ branch: 'x', forks: [] });
    expect(laneAfter({ seq: 4, branch: 'b', forks: [{ branch: null, untilSeq: 2 }] }, true, 'x')).toEqual({ branch: 'b', forks: [{ branch: null, untilSeq: 2 }] });
  });

  it('newestLeaf follows the newest child at each step with one lane read per lane on the way', async () => {
    const t = tree();
    const u1 = t.add('u1', undefined);
    const a1 = t.add('a1', undefined);
    const u2 = t.add('u2', undefined);
    t.add('a2', undefined);
    t.add('e2', a1);
    const f2 = t.add('f2', undefined);
    t.add('u3', undefined);
    t.add('a3', undefined);
    t.add('r2', u2); // a newer reply to u2, in a lane of its own
    t.add('g', f2); // newest child of f2
    t.add('h', undefined);
    const expected = (id: string): string => {
      let at = id;
      for (let kids = t.all.filter((m) => m.parentId === at); kids.length; kids = t.all.filter((m) => m.parentId === at)) at = kids.at(-1)!.id;
      return at;
    };
    for (const m of t.all) {
      t.reader.calls = 0;
      const leaf = await newestLeaf(m, t.reader);
      expect([m.id, leaf.id]).toEqual([m.id, expected(m.id)]);
      expect(t.all.filter((x) => onPath({ lanes: leaf.path }, x)).map((x) => x.id)).toEqual(t.ancestors(leaf.id));
      expect(t.reader.calls).toBeLessThanOrEqual(3);
    }
    expect((await newestLeaf(u1, t.reader)).id).toBe('h');
  });
});
