import type { TiktokenBPE } from 'js-tiktoken/lite';
import { MinHeap } from './MinHeap.js';

const NO_RANK = 0x7fff_ffff;
/** 2^32: a heap entry is `rank * POSITION_SPAN + position` (rank < 2^21, so exact in a double). */
const POSITION_SPAN = 4_294_967_296;
/** Pieces up to this many bytes merge by a linear scan (fastest there); longer ones by a heap. */
const SMALL_PIECE = 64;
/** Longer pieces are rare and unlikely to repeat: not worth a cache slot. */
const MAX_CACHED_PIECE = 64;
const DEFAULT_CACHE_ENTRIES = 65_536;
/** `prev[i]` of a byte position that no longer starts a part. */
const MERGED = -2;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/**
 * tiktoken byte-pair encoding of ordinary text (no special tokens): the same ids as js-tiktoken's
 * `encode(text, [], [])` over the same ranks, in O(n log n) per pre-tokenizer piece instead of O(n²).
 *
 * Why: js-tiktoken rescans every pair of a piece after each merge and builds a string key for each, so one long
 * piece (text without spaces: a base64 blob, a run of one letter) takes seconds to minutes and blocks the event
 * loop. Here a piece is first looked up whole (js-tiktoken's fast path, which can differ from what merging gives),
 * then merged by the same rule — lowest rank first, leftmost among equal ranks — with a linear scan for short
 * pieces and a heap over a linked list of parts for long ones. Bytes are held as a latin1 string (one char per
 * byte), so a span's key is a slice, and for ASCII pieces the piece itself.
 */
export class TiktokenBpe {
  /** Token bytes as a latin1 string → rank. */
  readonly #ranks: Map<string, number>;
  /** Byte length of each rank's token (0 where a rank is unused). */
  readonly #tokenBytes: Int32Array;
  /** No span longer than the longest token can have a rank: skip its lookup. */
  readonly #maxTokenBytes: number;
  readonly #pattern: RegExp;
  readonly #cache = new Map<string, readonly number[]>();
  readonly #cacheEntries: number;
  // Scratch buffers for the linear-scan path.
  readonly #starts = new Int32Array(SMALL_PIECE + 1);
  readonly #pairRanks = new Int32Array(SMALL_PIECE);

  /** Parses `ranks` (0.1–0.3 s for o200k_base's 200,000 ranks: build once, lazily). */
  constructor(ranks: TiktokenBPE, cacheEntries = DEFAULT_CACHE_ENTRIES) {
    this.#cacheEntries = cacheEntries;
    this.#pattern = new RegExp(ranks.pat_str, 'gu');
    // Straight into the map, decoded by `atob` (a latin1 string, one char per byte, is what it returns): several
    // times faster than a Buffer per token, which matters on the first turn of a fresh instance. The data has
    // one line per base64 token and no token twice, so this gives each byte sequence the rank js-tiktoken does.
    this.#ranks = new Map();
    let maxRank = 0;
    let maxBytes = 0;
    for (const line of ranks.bpe_ranks.split('\n')) {
      if (line === '') continue;
      const fields = line.split(' ');
      const offset = Number.parseInt(fields[1] ?? '', 10);
      for (let i = 2; i < fields.length; i++) {
        const bytes = atob(fields[i] as string);
        const rank = offset + i - 2;
        this.#ranks.set(bytes, rank);
        if (rank > maxRank) maxRank = rank;
        if (bytes.length > maxBytes) maxBytes = bytes.length;
      }
    }
    this.#tokenBytes = new Int32Array(maxRank + 1);
    for (const [bytes, rank] of this.#ranks) this.#tokenBytes[rank] = bytes.length;
    this.#maxTokenBytes = maxBytes;
  }

  /** How many byte sequences have a rank. */
  get size(): number {
    return this.#ranks.size;
  }

  /** The rank of a byte sequence given as a latin1 string (one char per byte), or undefined. */
  rankOf(bytes: string): number | undefined {
    return this.#ranks.get(bytes);
  }

  /** Appends the ids of `text` to `out`. */
  encodeInto(text: string, out: number[]): void {
    this.encodeRange(text, 0, text.length, out);
  }

  /** How many ids `text` has, without building the array where the cache answers. */
  count(text: string): number {
    return this.encodeRange(text, 0, text.length, null);
  }

  /** The ids of `text.slice(start, end)`: appended to `out` when given, counted either way. */
  encodeRange(text: string, start: number, end: number, out: number[] | null): number {
    if (start >= end) return 0;
    // The pre-tokenizer runs on the slice alone, as in js-tiktoken: its `\s+(?!\S)` looks no further than `end`.
    const s = start === 0 && end === text.length ? text : text.slice(start, end);
    const pattern = this.#pattern;
    pattern.lastIndex = 0;
    let total = 0;
    for (let match = pattern.exec(s); match !== null; match = pattern.exec(s)) {
      const piece = match[0];
      // No alternative of cl100k_base's or o200k_base's pattern matches empty; this only keeps another from looping.
      if (piece === '') {
        pattern.lastIndex++;
        continue;
      }
      total += this.#piece(piece, out);
    }
    return total;
  }

  #piece(piece: string, out: number[] | null): number {
    const ascii = isAscii(piece);
    if (ascii) {
      // Most pieces are whole tokens, and an ASCII piece is its own latin1 key: one lookup, no allocation.
      const rank = this.#ranks.get(piece);
      if (rank !== undefined) {
        out?.push(rank);
        return 1;
      }
    }
    const cacheable = piece.length <= MAX_CACHED_PIECE;
    if (cacheable) {
      const hit = this.#cache.get(piece);
      if (hit !== undefined) {
        if (out !== null) for (let i = 0; i < hit.length; i++) out.push(hit[i] as number);
        return hit.length;
      }
    }
    // TextEncoder and Buffer both write a lone surrogate as U+FFFD's three bytes.
    const bytes = ascii ? piece : Buffer.from(piece, 'utf8').toString('latin1');
    const ids: number[] = [];
    const whole = ascii ? undefined : this.#ranks.get(bytes);
    if (whole !== undefined) ids.push(whole);
    else if (bytes.length <= SMALL_PIECE) this.#mergeByScan(bytes, ids);
    else this.#mergeByHeap(bytes, ids);
    if (cacheable) this.#remember(piece, ids);
    if (out !== null) for (let i = 0; i < ids.length; i++) out.push(ids[i] as number);
    return ids.length;
  }

  #remember(piece: string, ids: readonly number[]): void {
    if (this.#cache.size >= this.#cacheEntries) {
      // Oldest first (Map keeps insertion order): cheap, and good enough for word-sized pieces.
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
    this.#cache.set(piece, ids);
  }

  /** Rank of `bytes[start, end)`, or NO_RANK. */
  #span(bytes: string, start: number, end: number): number {
    if (end - start > this.#maxTokenBytes) return NO_RANK;
    return this.#ranks.get(bytes.slice(start, end)) ?? NO_RANK;
  }

  /** Appends the rank of each part (js-tiktoken drops a part without one; single bytes all have one). */
  #emit(bytes: string, start: number, end: number, out: number[]): void {
    const rank = this.#ranks.get(bytes.slice(start, end));
    if (rank !== undefined) out.push(rank);
  }

  /**
   * js-tiktoken's `bytePairMerge`, pair ranks kept between rounds: each round merges the lowest-ranked pair
   * (the leftmost among equals) and re-ranks only its two neighbours. O(n²), allocation-free, for short pieces.
   */
  #mergeByScan(bytes: string, out: number[]): void {
    const n = bytes.length;
    const starts = this.#starts;
    const ranks = this.#pairRanks;
    // Part i is bytes[starts[i], starts[i + 1]); starts[parts] = n closes the last one.
    for (let i = 0; i <= n; i++) starts[i] = i;
    for (let i = 0; i + 1 < n; i++) ranks[i] = this.#span(bytes, i, i + 2);
    let parts = n;
    while (parts > 1) {
      let best = NO_RANK;
      let at = -1;
      for (let i = 0; i + 1 < parts; i++) {
        const r = ranks[i] as number;
        if (r < best) {
          best = r;
          at = i;
        }
      }
      if (at < 0) break;
      // Part at + 1 joins part at: drop its start and the rank of the pair it began.
      for (let i = at + 1; i < parts; i++) starts[i] = starts[i + 1] as number;
      for (let i = at + 1; i + 1 < parts - 1; i++) ranks[i] = ranks[i + 1] as number;
      parts--;
      if (at + 1 < parts) ranks[at] = this.#span(bytes, starts[at] as number, starts[at + 2] as number);
      if (at > 0) ranks[at - 1] = this.#span(bytes, starts[at - 1] as number, starts[at + 1] as number);
    }
    for (let i = 0; i < parts; i++) this.#emit(bytes, starts[i] as number, starts[i + 1] as number, out);
  }

  /**
   * The same merges in the same order, O(n log n): parts form a linked list over byte positions, and a heap holds
   * (rank, start) of every adjacent pair, lowest rank then leftmost first. An entry goes stale when a neighbour
   * merges; it is still current exactly when `start` begins a part and the pair there spans as many bytes as the
   * rank's token (a rank has one byte sequence, so same start and length means the same pair).
   */
  #mergeByHeap(bytes: string, out: number[]): void {
    const n = bytes.length;
    // next[i]: where the part starting at i ends; prev[i]: the start of the part before, -1 for the first, MERGED
    // once i no longer starts a part.
    const next = new Int32Array(n + 1);
    const prev = new Int32Array(n + 1);
    for (let i = 0; i <= n; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    const heap = new MinHeap(n);
    const push = (start: number): void => {
      const mid = next[start] as number;
      if (mid >= n) return;
      const rank = this.#span(bytes, start, next[mid] as number);
      if (rank !== NO_RANK) heap.push(rank * POSITION_SPAN + start);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    while (heap.size > 0) {
      const entry = heap.pop();
      const start = entry % POSITION_SPAN;
      const rank = (entry - start) / POSITION_SPAN;
      if (prev[start] === MERGED) continue;
      const mid = next[start] as number;
      if (mid >= n) continue;
      const end = next[mid] as number;
      if (end - start !== this.#tokenBytes[rank]) continue;
      next[start] = end;
      prev[mid] = MERGED;
      prev[end] = start;
      const before = prev[start] as number;
      if (before >= 0) push(before);
      push(start);
    }
    for (let i = 0; i < n; i = next[i] as number) this.#emit(bytes, i, next[i] as number, out);
  }
}
