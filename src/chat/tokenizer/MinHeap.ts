/**
 * A binary min-heap of doubles, for the heap-based BPE merges: callers pack (rank, position) into one number so
 * that the smallest value is the lowest rank, leftmost among equals.
 */
export class MinHeap {
  #items: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.#items = new Float64Array(Math.max(16, capacity));
  }

  push(value: number): void {
    if (this.size === this.#items.length) {
      const bigger = new Float64Array(this.#items.length * 2);
      bigger.set(this.#items);
      this.#items = bigger;
    }
    const items = this.#items;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as number;
      if (p <= value) break;
      items[i] = p;
      i = parent;
    }
    items[i] = value;
  }

  /** Removes and returns the smallest value; the heap must not be empty. */
  pop(): number {
    const items = this.#items;
    const top = items[0] as number;
    const last = items[--this.size] as number;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const c = r < this.size && (items[r] as number) < (items[l] as number) ? r : l;
      if ((items[c] as number) >= last) break;
      items[i] = items[c] as number;
      i = c;
    }
    items[i] = last;
    return top;
  }
}
