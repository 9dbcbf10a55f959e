import { describe, expect, it } from 'vitest';
import { RegistryService } from '../../../src/registry/service.js';
import { RegistryState, keys, type LogRecord } from '../../../src/registry/state.js';
import type { RegistryStore, WritePlan } from '../../../src/registry/store.js';

/** A store that records every appended record, as the Kafka topic would. */
class RecordingStore implements RegistryStore {
  readonly state = new RegistryState();
  readonly description = 'recording';
  readonly log: LogRecord[] = [];
  async start() {}
  async sync() {}
  async close() {}
  async write<T>(plan: (state: RegistryState) => WritePlan<T>): Promise<T> {
    const { records, result } = plan(this.state);
    for (const r of records) {
      const copy = JSON.parse(JSON.stringify(r)) as LogRecord;
      this.log.push(copy);
      this.state.apply(copy);
    }
    return result(this.state);
  }
}

/** What Kafka's log compaction keeps: the last record of each key, in log order. */
function compact(log: LogRecord[]): LogRecord[] {
  const last = new Map<string, number>();
  log.forEach((r, i) => last.set(JSON.stringify(r.key), i));
  return log.filter((r, i) => last.get(JSON.stringify(r.key)) === i);
}

function snapshot(state: RegistryState) {
  return {
    schemas: [...state.schemas.values()].map((s) => [s.id, s.schema]).sort(),
    subjects: [...state.subjects.entries()].map(([s, v]) => [s, [...v.values()].sort((a, b) => a.version - b.version)]).sort(),
    config: [state.globalConfig, [...state.subjectConfig].sort()],
    mode: [state.globalMode, [...state.subjectMode].sort()],
    maxId: state.maxId,
  };
}

function rebuild(log: LogRecord[]): RegistryState {
  const state = new RegistryState();
  for (const r of log) state.apply(r);
  return state;
}

describe('registry state as a fold over its log', () => {
  it('is the same whether rebuilt from the whole log or from what compaction keeps', async () => {
    const store = new RecordingStore();
    const service = new RegistryService(store);
    const schema = (i: number) => JSON.stringify({ type: 'record', name: `R${i}`, fields: [{ name: `f${i}`, type: 'int' }] });
    await service.setConfig(null, { compatibility: 'NONE' });
    for (let i = 0; i < 30; i++) await service.register(`s${i % 5}`, { schema: schema(i) });
    await service.register('copy', { schema: schema(3) });
    await service.deleteVersion('s1', '2', false);
    await service.deleteSubject('s2', false);
    await service.deleteSubject('s2', true);
    await service.setConfig('s3', { compatibility: 'FULL' });
    await service.setMode('s4', { mode: 'READONLY' });
    await service.deleteMode('s4');
    await service.setConfig(null, { compatibility: 'BACKWARD' });
    await service.deleteVersion('s0', '6', false);
    await service.deleteVersion('s0', '6', true); // the newest id: its number must not come back

    const compacted = compact(store.log);
    expect(compacted.length).toBeLessThan(store.log.length);
    expect(snapshot(rebuild(compacted))).toEqual(snapshot(store.state));
    expect(snapshot(rebuild(store.log))).toEqual(snapshot(store.state));
    // Replaying a suffix again (a reader that restarts from an older committed offset) changes nothing.
    const replayed = rebuild(store.log);
    for (const r of store.log.slice(10)) replayed.apply(r);
    expect(snapshot(replayed)).toEqual(snapshot(store.state));

    const next = await new RegistryService(Object.assign(new RecordingStore(), { state: rebuild(compacted) })).register('new', { schema: schema(99) });
    expect(next.id).toBe(store.state.maxId + 1);
  });

  it('reads a log written in Confluent formatting and finds existing ids by canonical form', () => {
    const state = new RegistryState();
    const confluentText = '{"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"name","type":"string"}]}';
    state.apply({
      key: keys.schema('users-value', 1),
      value: { subject: 'users-value', version: 1, id: 7, schema: confluentText, deleted: false },
    });
    state.apply({ key: { keytype: 'DELETE_SUBJECT', subject: 'x', magic: 0 } as never, value: null });
    state.apply({ key: keys.noop(), value: null });
    const service = new RegistryService(Object.assign(new RecordingStore(), { state }));
    const found = service.lookup('users-value', {
      schema: JSON.stringify({ name: 'com.acme.User', type: 'record', fields: [{ type: { type: 'string' }, name: 'name' }] }),
    });
    expect(found).toMatchObject({ id: 7, version: 1 });
  });
});
