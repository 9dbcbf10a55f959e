import { RegistryState } from './state.js';
import type { RegistryStore, WritePlan } from './store.js';

/** State in the process, for quick local work and unit tests. Writes run one at a time, in call order. */
export class MemoryStore implements RegistryStore {
  readonly state = new RegistryState();
  readonly description = 'memory';
  private tail: Promise<unknown> = Promise.resolve();

  async start(): Promise<void> {}

  write<T>(plan: (state: RegistryState) => WritePlan<T>): Promise<T> {
    const run = this.tail.then(() => {
      const { records, result } = plan(this.state);
      for (const record of records) this.state.apply(record);
      return result(this.state);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  async sync(): Promise<void> {}

  async close(): Promise<void> {}
}
