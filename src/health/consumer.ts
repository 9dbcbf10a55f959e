import type { Consumer } from 'kafkajs';
import type { CheckResult } from './types.js';

/**
 * Readiness of a kafkajs consumer, followed through its own events: `kafka` is connected and not restarting after a
 * failure; `group` is joined with its partitions assigned (false from a rebalance until the next join). Used by the
 * worker and the processor runtime for their `readiness()`.
 */
export class ConsumerReadiness {
  private connected = false;
  private inGroup = false;
  private restarting: string | undefined;
  private assignment: Record<string, number[]> = {};

  constructor(consumer: Consumer) {
    consumer.on(consumer.events.CONNECT, () => (this.connected = true));
    consumer.on(consumer.events.DISCONNECT, () => {
      this.connected = false;
      this.inGroup = false;
    });
    consumer.on(consumer.events.REBALANCING, () => (this.inGroup = false));
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.inGroup = true;
      this.restarting = undefined;
      this.assignment = e.payload.memberAssignment;
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.inGroup = false;
      this.restarting = e.payload.error.message;
    });
  }

  checks(): Record<string, CheckResult> {
    const parts = Object.entries(this.assignment)
      .map(([t, ps]) => `${t}[${[...ps].sort((a, b) => a - b).join(',')}]`)
      .join(' ');
    return {
      kafka: this.connected && !this.restarting ? { ok: true } : { ok: false, detail: this.restarting ? `consumer restarting: ${this.restarting}` : 'not connected' },
      group: this.inGroup
        ? { ok: true, detail: parts || 'no partitions (more members than partitions)' }
        : { ok: false, detail: 'not in the group yet (joining or rebalancing)' },
    };
  }
}

/** `running`: started and not draining. */
export function runningCheck(started: boolean, stopping: boolean): CheckResult {
  return started && !stopping ? { ok: true } : { ok: false, detail: stopping ? 'draining' : 'not started' };
}
