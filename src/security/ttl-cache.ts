/** A small map whose entries expire `ttlMs` after they were set; bounded to `maxEntries` (oldest dropped first). */
export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1024,
    private readonly clock: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock() >= entry.expires) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** The live value of `key` with the time it expires at, or undefined. */
  entry(key: string): { readonly value: V; readonly expires: number } | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock() >= entry.expires) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Whether `key` holds a live entry (its value may be undefined). */
  has(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    if (this.clock() >= entry.expires) {
      this.#entries.delete(key);
      return false;
    }
    return true;
  }

  set(key: string, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, expires: this.clock() + this.ttlMs });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
