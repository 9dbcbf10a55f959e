/**
 * Timers by due time: a binary min-heap with lazy deletion (a moved or cancelled timer leaves its old heap entry
 * behind, which is skipped when it surfaces), so set and cancel cost O(log n) and firing never scans every timer.
 */
interface Slot {
  at: number;
  id: string;
}

export class TimerQueue {
  private heap: Slot[] = [];
  private readonly due = new Map<string, number>();

  get size(): number {
    return this.due.size;
  }

  get(id: string): number | undefined {
    return this.due.get(id);
  }

  set(id: string, at: number): void {
    this.due.set(id, at);
    this.push({ at, id });
    // Lazy deletion must not let stale slots pile up without bound.
    if (this.heap.length > 64 && this.heap.length > 4 * this.due.size) this.rebuild();
  }

  delete(id: string): void {
    this.due.delete(id);
  }

  /** Removes and returns the earliest timer due at or before `now`, or undefined. */
  popDue(now: number): Slot | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (this.due.get(top.id) !== top.at) {
        this.pop();
        continue;
      }
      if (top.at > now) return undefined;
      this.pop();
      this.due.delete(top.id);
      return top;
    }
    return undefined;
  }

  clear(): void {
    this.heap = [];
    this.due.clear();
  }

  private rebuild(): void {
    this.heap = [];
    for (const [id, at] of this.due) this.push({ at, id });
  }

  private push(slot: Slot): void {
    const h = this.heap;
    h.push(slot);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= slot.at) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = slot;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r]!.at < h[l]!.at ? r : l;
      if (h[c]!.at >= last.at) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
