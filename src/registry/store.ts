import type { CheckResult } from '../health/types.js';
import type { LogRecord, RegistryState } from './state.js';

/** What a write wants: the records to append, and how to read its answer from the state once they are applied. */
export interface WritePlan<T> {
  records: LogRecord[];
  result: (state: RegistryState) => T;
}

/**
 * Where the registry keeps its log. Reads go to `state` (local, always available); every change goes through
 * `write`, which runs the plan against an up-to-date state with the guarantee that no other writer changes the log
 * between the plan and its append. A plan that throws writes nothing.
 */
export interface RegistryStore {
  readonly state: RegistryState;
  /** One line for logs: `memory`, `kafka topic _schemas on 127.0.0.1:9092`. */
  readonly description: string;
  start(): Promise<void>;
  write<T>(plan: (state: RegistryState) => WritePlan<T>): Promise<T>;
  /** Brings `state` up to everything written before this call (by any instance). */
  sync(): Promise<void>;
  close(): Promise<void>;
  /** For /readyz once started: is the store still following its log? Absent: always (memory). */
  readiness?(): CheckResult;
}
