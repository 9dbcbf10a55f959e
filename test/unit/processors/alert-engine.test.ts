import { describe, expect, it } from 'vitest';
import type { AnyOnexEvent } from '../../../src/event/index.js';
import { changelogMessage } from '../../../src/processors/changelog.js';
import { PartitionRunner, PartitionState, runLocally } from '../../../src/processors/index.js';
import { createAlertEngine, loadRules, type AlertTransition } from '../../../src/processors/alerting/index.js';
import { readEntry } from '../../../src/processors/alerting/entry.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');
const ev = (s: number, event_type: string, extra: Record<string, unknown> = {}) =>
  ({ event_type, timestamp: iso(T0 + s * 1000), node_id: 'n1', correlation_id: `c${s}`, ...extra }) as unknown as AnyOnexEvent;

function run(yaml: string, events: AnyOnexEvent[], untilS?: number, writer?: (e: AnyOnexEvent) => string) {
  const seen: AlertTransition[] = [];
  const def = createAlertEngine(loadRules(yaml).rules, { onTransition: (t) => seen.push(t) });
  runLocally(def, events, { ...(untilS === undefined ? {} : { until: T0 + untilS * 1000 }), ...(writer ? { writerVersionOf: writer as never } : {}) });
  return seen.map((t) => `${t.state}@${(t.at - T0) / 1000}`);
}

describe('alert engine (event time, exact transition times)', () => {
  it('threshold: a burst straddling a minute boundary fires; for and keep_firing_for move the times', () => {
    const rule = "rules:\n  - name: burst\n    kind: threshold\n    match: 'event.event_type == \"NODE_FAILURE\"'\n    by: [node_id]\n    window: 60s\n    count: 3\n    for: 5s\n    keep_firing_for: 10s\n";
    // 58s, 59s, 61s: three within 60 s across the 1-minute boundary.
    const out = run(rule, [ev(58, 'NODE_FAILURE'), ev(59, 'NODE_FAILURE'), ev(61, 'NODE_FAILURE'), ev(100, 'NODE_START')], 200);
    // active at 61, firing at 66, false at 118 (58 leaves the window), resolved at 128.
    expect(out).toEqual(['pending@61', 'firing@66', 'resolved@128']);
  });

  it('threshold: one alert per rule and key, a stable alert id, and other keys apart', () => {
    const rule = "rules:\n  - name: burst\n    kind: threshold\n    match: 'true'\n    by: [node_id]\n    window: 10s\n    count: 2\n";
    const seen: AlertTransition[] = [];
    const def = createAlertEngine(loadRules(rule).rules, { onTransition: (t) => seen.push(t) });
    runLocally(def, [ev(1, 'X'), ev(2, 'X'), ev(3, 'X'), ev(3, 'X', { node_id: 'n2' }), ev(4, 'X', { node_id: 'n2' })], { until: T0 + 60_000 });
    expect(seen.map((t) => `${t.key.node_id}:${t.state}@${(t.at - T0) / 1000}`)).toEqual([
      'n1:pending@2', 'n1:firing@2', 'n2:pending@4', 'n2:firing@4', 'n1:resolved@12', 'n2:resolved@13',
    ]);
    const n1 = seen.filter((t) => t.key.node_id === 'n1');
    expect(new Set(n1.map((t) => t.alertId)).size).toBe(1);
    expect(n1[0]?.correlationIds).toEqual(['c1', 'c2']);
  });

  it('ratio: fires above the ratio only with min_count', () => {
    const rule = "rules:\n  - name: err\n    kind: ratio\n    match: 'event.event_type == \"E\"'\n    of: 'event.event_type in [\"E\", \"OK\"]'\n    above: 0.5\n    min_count: 4\n    window: 10s\n";
    // 3 of 3 errors: under min_count; the fourth (an OK at 4) makes 3/4 > 0.5.
    const out = run(rule, [ev(1, 'E'), ev(2, 'E'), ev(3, 'E'), ev(4, 'OK'), ev(5, 'OK')], 30);
    // at 11 the E of 1 leaves: 2/4 = 0.5, not above.
    expect(out).toEqual(['pending@4', 'firing@4', 'resolved@11']);
  });

  it('sequence: A followed by B within W, and A not followed by B within W', () => {
    const followed = "rules:\n  - name: seq\n    kind: sequence\n    first: 'event.event_type == \"A\"'\n    then: 'event.event_type == \"B\"'\n    by: [node_id]\n    within: 10s\n";
    expect(run(followed, [ev(1, 'A'), ev(5, 'B'), ev(20, 'A'), ev(40, 'B')], 60)).toEqual(['pending@5', 'firing@5', 'resolved@15']);
    const absent = `${followed}    absent: true\n`.replace('name: seq', 'name: noend');
    // A at 1 not followed by 11: fires at 11 with no further input; B at 30 resolves it. A at 40 then B at 45: nothing.
    expect(run(absent, [ev(1, 'A'), ev(30, 'B'), ev(40, 'A'), ev(45, 'B')], 100)).toEqual(['pending@11', 'firing@11', 'resolved@30']);
  });

  it('absence: an idle key fires when the watermark passes its deadline, its next event resolves it', () => {
    const rule = "rules:\n  - name: silent\n    kind: absence\n    match: 'event.event_type == \"NODE_ANNOUNCE\"'\n    by: [node_id]\n    window: 120s\n";
    expect(run(rule, [ev(0, 'NODE_ANNOUNCE'), ev(100, 'NODE_ANNOUNCE'), ev(300, 'NODE_ANNOUNCE')], 500)).toEqual([
      'pending@220', 'firing@220', 'resolved@300', 'pending@420', 'firing@420',
    ]);
  });

  it('deprecated_schema: counts the writer version, not the upcast event', () => {
    const rule = "rules:\n  - name: old\n    kind: deprecated_schema\n    versions: ['1.0.0']\n    window: 10s\n    count: 2\n";
    const writer = (e: AnyOnexEvent) => ((e as unknown as { w: string }).w);
    expect(run(rule, [ev(1, 'X', { w: '1.0.0' }), ev(2, 'X', { w: '2.0.0' }), ev(3, 'X', { w: '1.0.0' })], 30, writer)).toEqual([
      'pending@3', 'firing@3', 'resolved@11',
    ]);
  });
});

describe('onex alerts test (replayRules over a recorded stream)', () => {
  it('upcasts 1.x lines, counts their writer version and matches the expected file', async () => {
    const { readFileSync } = await import('node:fs');
    const { compareTransitions, parseEventLines, replayRules, transitionLine } = await import('../../../src/processors/alerting/index.js');
    const fixture = (f: string) => readFileSync(new URL(`../../fixtures/alerts/${f}`, import.meta.url), 'utf8');
    const events = parseEventLines(fixture('events.jsonl'));
    const lines = replayRules(loadRules(fixture('rules.yaml')).rules, events, Date.parse('2026-01-01T00:06:02Z')).map(transitionLine);
    expect(compareTransitions(lines, fixture('expected.yaml'))).toEqual([]);
    expect(compareTransitions(lines.slice(0, 4), fixture('expected.yaml'))[0]).toBe(
      'transition 5: expected 2026-01-01T00:02:27.000Z resolved failure-burst {node_id=n1}, got (none)',
    );
    expect(() => parseEventLines('{"event_type": 1\n', 'e.jsonl')).toThrow(/e\.jsonl:1/);
  });
});

describe('alert engine under a rolled-back transaction', () => {
  it('an aborted batch leaves the windows and alerts as the last commit had them, so its retry counts once', () => {
    // The state's undo log keeps old values by reference: an engine that changed its stored windows in place would
    // keep the aborted batch's events, and the batch fetched again would count them twice (an early firing here).
    const rules = loadRules(
      "rules:\n  - name: burst\n    kind: threshold\n    match: 'true'\n    by: [node_id]\n    window: 60s\n    count: 4\n" +
        "  - name: err\n    kind: ratio\n    match: 'event.event_type == \"E\"'\n    of: 'true'\n    above: 0.5\n    min_count: 4\n    window: 60s\n" +
        "  - name: noend\n    kind: sequence\n    first: 'event.event_type == \"A\"'\n    then: 'event.event_type == \"B\"'\n    by: [node_id]\n    within: 30s\n    absent: true\n",
    ).rules;
    const events = [ev(1, 'A'), ev(2, 'E'), ev(3, 'E'), ev(4, 'OK'), ev(5, 'E'), ev(6, 'B'), ev(7, 'E'), ev(8, 'A')];
    const drive = (abortAfter?: number) => {
      const def = createAlertEngine(rules, {});
      const state = new PartitionState({ allowedLatenessMs: 0, stores: def.stores ?? {} });
      const runner = new PartitionRunner(state, def, { topic: 't', partition: 0, late: 'drop' });
      const out: string[] = [];
      const batch = (list: AnyOnexEvent[]) => list.forEach((e, i) => runner.process(e, { offset: String(i), writerVersion: '2.0.0' }));
      const commit = () => {
        runner.endBatch();
        out.push(...runner.takeOutput().map((r) => { const t = JSON.parse(String(r.value)) as AlertTransition; return `${t.rule}:${t.state}@${(t.at - T0) / 1000}`; }));
        state.settle();
      };
      if (abortAfter === undefined) {
        batch(events);
        commit();
      } else {
        batch(events.slice(0, abortAfter));
        commit();
        batch(events.slice(abortAfter)); // the transaction of this batch aborts:
        state.rollback();
        runner.discardOutput();
        batch(events.slice(abortAfter)); // and the same records come again
        commit();
      }
      runner.advanceTo(T0 + 100_000);
      commit();
      return out;
    };
    const straight = drive();
    expect(straight.length).toBeGreaterThan(0);
    for (const at of [1, 3, 5]) expect(drive(at)).toEqual(straight);
  });
});

describe('alert engine state layout (one entry per rule group and key)', () => {
  const yaml =
    "rules:\n  - name: burst\n    kind: threshold\n    match: 'true'\n    by: [node_id]\n    window: 10s\n    count: 2\n" +
    "  - name: fails\n    kind: threshold\n    match: 'event.event_type == \"F\"'\n    by: [node_id]\n    window: 10s\n    count: 3\n" +
    "  - name: silent\n    kind: absence\n    match: 'true'\n    by: [node_id]\n    window: 20s\n";
  const fresh = () => {
    const seen: string[] = [];
    const def = createAlertEngine(loadRules(yaml).rules, { onTransition: (t) => seen.push(`${t.rule}:${t.key.node_id}:${t.state}@${(t.at - T0) / 1000}:${t.alertId}`) });
    const state = new PartitionState({ allowedLatenessMs: 0, stores: def.stores ?? {} });
    const runner = new PartitionRunner(state, def, { topic: 't', partition: 0, late: 'drop' });
    return { seen, state, runner, feed: (list: AnyOnexEvent[]) => list.forEach((e, i) => runner.process(e, { offset: String(i), writerVersion: '2.0.0' })) };
  };
  const events = [ev(1, 'F'), ev(2, 'F'), ev(3, 'F', { node_id: 'n2' }), ev(4, 'F'), ev(30, 'OK', { node_id: 'n3' }), ev(31, 'F', { node_id: 'n2' })];

  it('an event that feeds three rules of one key writes one state entry and one timer, and it restores from that', () => {
    const a = fresh();
    a.feed(events.slice(0, 2));
    a.runner.endBatch();
    const changes = a.state.pendingChanges();
    // The group entry of n1, its timer and the clock (plus the layout's format mark): not a window, alert and timer per rule.
    expect(changes.map((c) => c.store).sort()).toEqual(['__clock', '__timers', 'alerts#meta', 'g#["node_id"]']);
    a.state.settle();
    // A new owner restores those records and goes on: the same transitions as one that saw everything.
    const b = fresh();
    for (const c of changes) b.state.apply(JSON.parse(JSON.stringify(c)));
    b.feed(events.slice(2));
    b.runner.advanceTo(T0 + 100_000);
    const whole = fresh();
    whole.feed(events);
    whole.runner.advanceTo(T0 + 100_000);
    expect(a.seen.concat(b.seen)).toEqual(whole.seen);
    expect(whole.seen.some((s) => s.startsWith('fails:n1:firing@4:'))).toBe(true);
  });

  it('the changelog holds an entry in its compact form (each correlation id and list once), and so does a restore', () => {
    const a = fresh();
    a.feed(events.slice(0, 4));
    a.runner.endBatch();
    const changes = a.state.pendingChanges();
    const entry = changes.find((c) => c.store.startsWith('g#') && c.key === '["n1"]')!.entry!;
    type Wire = { v: { f: number; c: string[]; x: string[]; n: string; i: number[]; s: unknown[] } };
    const wire = JSON.parse(String(changelogMessage({ store: 'g', key: 'n1', entry }, 0).value)) as Wire;
    expect(wire.v.f).toBe(4);
    // burst and fails saw the same three events: one list of times, the ids c1 c2 c4 once.
    expect(wire.v.c).toEqual(['c1', 'c2', 'c4']);
    expect(wire.v.x).toContain('0,1000,2000');
    expect(wire.v.n).toBe('burst fails silent');
    // n2 saw one event: burst's and fails's slots are the same, and written once.
    const n2 = changes.find((c) => c.store.startsWith('g#') && c.key === '["n2"]')!.entry!;
    const wire2 = JSON.parse(String(changelogMessage({ store: 'g', key: 'n2', entry: n2 }, 0).value)) as Wire;
    expect(wire2.v.i).toEqual([0, 0, 1]);
    expect(wire2.v.s).toHaveLength(2);
    // Decoded, it is the entry the engine holds.
    const b = fresh();
    b.state.apply({ store: 'g#["node_id"]', key: '["n1"]', entry: wire as never });
    expect(JSON.parse(JSON.stringify(b.state.store('g#["node_id"]').get('["n1"]')))).toEqual(wire.v);
    // Compared as lists: a live window's lists are views of arrays it may share, a decoded one's are arrays of their own.
    const lists = (e: unknown) => { const g = readEntry(e)!; return JSON.parse(JSON.stringify({ k: g.k, r: g.r })); };
    expect(lists(b.state.store('g#["node_id"]').get('["n1"]'))).toEqual(lists(entry.v));
  });

  it('an entry of format 3 (a slot per rule name, written before distinct slots were written once) restores and goes on the same', () => {
    // The changelog of a processor of format 3 after the first four events (as it wrote them).
    const b = fresh();
    const put = (store: string, key: string, v: unknown, t: number) => b.state.apply({ store, key, entry: { v, t } });
    put('__clock', 'max_event_time', 1767225604000, 1767225603000);
    put('alerts#meta', 'format', 2, 1767225601000);
    put('g#["node_id"]', '["n1"]', {
      f: 3, k: { node_id: 'n1' }, b: 1767225601000, c: ['c1', 'c2', 'c4'], x: ['0,1,1', '0,1000,2000', '3000', '2'],
      r: { burst: [1, -1, -1, 0, 11000, [1, 1000, null, 3, 3, 0, null], null], fails: [1, -1, -1, 0, 10000, [1, 3000, null, 3, 3, 0, null], null], silent: [2, -1, -1, 3, 23000, null, null] },
    }, 1767225604000);
    put('g#["node_id"]', '["n2"]', {
      f: 3, k: { node_id: 'n2' }, b: 1767225603000, c: ['c3'], x: ['0'],
      r: { burst: [0, -1, -1, 0, null, null, null], fails: [0, -1, -1, 0, null, null, null], silent: [0, -1, -1, 0, 20000, null, null] },
    }, 1767225603000);
    put('__timers', 'g#["node_id"]\u001f["n1"]', 1767225611000, 1767225602000);
    put('__timers', 'g#["node_id"]\u001f["n2"]', 1767225623000, 1767225603000);
    expect(T0).toBe(1767225600000); // the recorded times are the test's
    // Decoded, each entry is the one the live processor held (compared as lists, see above).
    const live = fresh();
    live.feed(events.slice(0, 4));
    const lists = (e: unknown) => { const g = readEntry(e)!; return JSON.parse(JSON.stringify({ k: g.k, r: g.r })); };
    for (const key of ['["n1"]', '["n2"]']) expect(lists(b.state.store('g#["node_id"]').get(key))).toEqual(lists(live.state.store('g#["node_id"]').get(key)));
    b.feed(events.slice(4));
    b.runner.advanceTo(T0 + 100_000);
    const whole = fresh();
    whole.feed(events);
    whole.runner.advanceTo(T0 + 100_000);
    const after = whole.seen.filter((s) => Number(s.split('@')[1]!.split(':')[0]) > 4);
    expect(after.length).toBeGreaterThan(0);
    expect(b.seen).toEqual(after);
  });

  it('an entry written before the compact form (plain JSON of the group entry) restores and goes on the same', () => {
    const a = fresh();
    a.feed(events.slice(0, 2));
    a.runner.endBatch();
    const changes = a.state.pendingChanges().map((c) => {
      if (!c.store.startsWith('g#') || !c.entry) return JSON.parse(JSON.stringify(c));
      const e = c.entry.v as { k: unknown; r: unknown };
      return { ...c, entry: { t: c.entry.t, v: JSON.parse(JSON.stringify({ k: e.k, r: e.r })) } };
    });
    expect(changes.some((c) => c.store.startsWith('g#') && c.entry.v.f === undefined && c.entry.v.r.burst)).toBe(true);
    const b = fresh();
    for (const c of changes) b.state.apply(c);
    b.feed(events.slice(2));
    b.runner.advanceTo(T0 + 100_000);
    const whole = fresh();
    whole.feed(events);
    whole.runner.advanceTo(T0 + 100_000);
    expect(a.seen.concat(b.seen)).toEqual(whole.seen);
  });

  it('state written as a store per rule (before rule groups) is moved into the groups and goes on as if never moved', () => {
    // What the changelog of the old layout restores: windows in w:<rule>, alerts in a:<rule> (both with the key in
    // them), one timer `<rule>\u001f<key>` per rule and key, for n1 after its events at 1 s and 2 s.
    const old = fresh();
    const key = { node_id: 'n1' };
    const id = '["n1"]';
    const put = (store: string, k: string, v: unknown) => old.state.apply({ store, key: k, entry: { v, t: T0 + 2000 } });
    put('__clock', 'max_event_time', T0 + 2000);
    put('w:burst', id, { key, t: [T0 + 1000, T0 + 2000], corr: ['c1', 'c2'] });
    put('a:burst', id, { state: 'firing', activeAt: T0 + 2000, count: 2, value: 2, corr: ['c1', 'c2'], key });
    put('__timers', `burst\u001f${id}`, T0 + 11_000);
    put('w:fails', id, { key, t: [T0 + 1000, T0 + 2000], corr: ['c1', 'c2'] });
    put('w:silent', id, { key, t: [T0 + 2000], corr: [] });
    put('__timers', `silent\u001f${id}`, T0 + 22_000);
    old.feed(events.slice(2));
    old.runner.advanceTo(T0 + 100_000);
    const whole = fresh();
    whole.feed(events);
    whole.runner.advanceTo(T0 + 100_000);
    // Everything after the first two events, with the same alert ids (burst's alert went on, it was not opened again).
    const atOf = (s: string) => Number(s.split('@')[1]!.split(':')[0]);
    const after = whole.seen.filter((s) => atOf(s) > 2);
    expect(whole.seen.filter((s) => atOf(s) <= 2)).toHaveLength(2); // burst pending and firing at 2 s
    expect(old.seen).toEqual(after);
    expect(old.seen.some((s) => s.startsWith('burst:n1:resolved'))).toBe(true);
    for (const s of ['w:burst', 'a:burst', 'w:fails', 'w:silent']) expect(old.state.store(s).size).toBe(0);
    expect([...old.state.store('__timers').keys()].every((t) => t.startsWith('g#'))).toBe(true);
  });
});
