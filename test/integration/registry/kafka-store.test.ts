import { afterEach, describe, expect, it } from 'vitest';
import { createKafka } from '../../../src/kafka/index.js';
import { kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { avroRecord, http, startKafkaRegistry, type LiveRegistry } from './helpers.js';

// The registry on a real broker: state rebuilt from the topic, two instances sharing it, bad input over real HTTP.

const running: LiveRegistry[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function start(topic: string, options = {}): Promise<LiveRegistry> {
  const live = await startKafkaRegistry(topic, options);
  running.push(live);
  return live;
}

function schemaNo(i: number) {
  return JSON.stringify(avroRecord(`S${i}`, [{ name: `f${i}`, type: 'string' }]));
}

describe('the Kafka-backed registry', () => {
  it('creates its topic compacted with one partition', async () => {
    const topic = uniqueTopic('registry-topic');
    await start(topic);
    const admin = createKafka({ brokers: kafkaBrokers().join(','), clientId: 'registry-test' }).admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(meta.topics[0]!.partitions).toHaveLength(1);
      const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['cleanup.policy'] }], includeSynonyms: false });
      expect(configs.resources[0]!.configEntries.find((c) => c.configName === 'cleanup.policy')?.configValue).toBe('compact');
    } finally {
      await admin.disconnect();
    }
  });

  it('rebuilds its state from the topic after a restart: every id still resolves, deletes and config stay', async () => {
    const topic = uniqueTopic('registry-restart');
    const first = await start(topic);
    const ids = new Map<number, string>();
    for (let i = 0; i < 12; i++) {
      const subject = `subject-${i % 4}`;
      await http(first.url, 'PUT', `/config/${subject}`, { compatibility: 'NONE' });
      const res = await http(first.url, 'POST', `/subjects/${subject}/versions`, { schema: schemaNo(i) });
      expect(res.status).toBe(200);
      ids.set(res.body.id, (await http(first.url, 'GET', `/schemas/ids/${res.body.id}`)).body.schema);
    }
    expect(ids.size).toBe(12);
    expect((await http(first.url, 'DELETE', '/subjects/subject-0/versions/1')).body).toBe(1);
    await http(first.url, 'PUT', '/config', { compatibility: 'FULL' });
    await http(first.url, 'PUT', '/mode/subject-3', { mode: 'READONLY' });
    await first.close();
    running.splice(running.indexOf(first), 1);

    const second = await start(topic);
    for (const [id, schema] of ids) {
      const res = await http(second.url, 'GET', `/schemas/ids/${id}`);
      expect(res.status).toBe(200);
      expect(res.body.schema).toBe(schema);
    }
    expect((await http(second.url, 'GET', '/subjects')).body).toEqual(['subject-0', 'subject-1', 'subject-2', 'subject-3']);
    expect((await http(second.url, 'GET', '/subjects/subject-0/versions')).body).toEqual([2, 3]);
    expect((await http(second.url, 'GET', '/subjects/subject-0/versions?deleted=true')).body).toEqual([1, 2, 3]);
    expect((await http(second.url, 'GET', '/config')).body).toEqual({ compatibilityLevel: 'FULL' });
    expect((await http(second.url, 'GET', '/config/subject-1')).body).toEqual({ compatibilityLevel: 'NONE' });
    expect((await http(second.url, 'POST', '/subjects/subject-3/versions', { schema: schemaNo(99) })).body.error_code).toBe(42205);
    const next = await http(second.url, 'POST', '/subjects/subject-1/versions', { schema: schemaNo(100) });
    expect(next.body.id).toBe(Math.max(...ids.keys()) + 1);
  });

  it('runs two instances side by side that never hand out one id twice and agree on everything', async () => {
    const topic = uniqueTopic('registry-pair');
    const [a, b] = await Promise.all([start(topic), start(topic)]);
    await http(a.url, 'PUT', '/config', { compatibility: 'NONE' });
    // Interleaved concurrent registrations of distinct schemas through both instances.
    const calls = Array.from({ length: 16 }, (_, i) =>
      http(i % 2 === 0 ? a.url : b.url, 'POST', `/subjects/pair-${i % 3}/versions`, { schema: schemaNo(i) }),
    );
    // And the same schema through both at once: one id, one version.
    const shared = JSON.stringify(avroRecord('Shared', [{ name: 'x', type: 'int' }]));
    calls.push(http(a.url, 'POST', '/subjects/shared/versions', { schema: shared }));
    calls.push(http(b.url, 'POST', '/subjects/shared/versions', { schema: shared }));
    const answers = await Promise.all(calls);
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const ids = answers.slice(0, 16).map((r) => r.body.id as number);
    expect(new Set(ids).size).toBe(16);
    expect(answers[16]!.body.id).toBe(answers[17]!.body.id);

    // Each instance answers for ids the other handed out (a miss catches up with the log before answering 404).
    for (const id of [...ids, answers[16]!.body.id]) {
      const [fromA, fromB] = await Promise.all([http(a.url, 'GET', `/schemas/ids/${id}`), http(b.url, 'GET', `/schemas/ids/${id}`)]);
      expect(fromA.status).toBe(200);
      expect(fromB.body).toEqual(fromA.body);
    }
    await Promise.all([a.store.sync(), b.store.sync()]);
    for (const subject of ['pair-0', 'pair-1', 'pair-2', 'shared']) {
      const [va, vb] = await Promise.all([
        http(a.url, 'GET', `/subjects/${subject}/versions`),
        http(b.url, 'GET', `/subjects/${subject}/versions`),
      ]);
      expect(vb.body).toEqual(va.body);
    }
    expect((await http(b.url, 'GET', '/subjects/shared/versions')).body).toEqual([1]);
    const all = (await http(a.url, 'GET', '/schemas')).body as Array<{ subject: string; version: number }>;
    expect(all).toHaveLength(17);
  });

  it('answers every kind of bad input with its 4xx code and keeps serving', async () => {
    const live = await start(uniqueTopic('registry-bad'), { bodyLimit: 64 * 1024 });
    const good = JSON.stringify(avroRecord('Good', [{ name: 'a', type: 'int' }]));
    expect((await http(live.url, 'POST', '/subjects/s/versions', { schema: good })).status).toBe(200);

    const cases: Array<[string, string, unknown, number, number]> = [
      ['POST', '/subjects/s/versions', '{"schema": "', 400, 400],
      ['POST', '/subjects/s/versions', '\u0000\u0001binary', 400, 400],
      ['POST', '/subjects/s/versions', { schema: '{"type":"record","name":"R"}' }, 422, 42201],
      ['POST', '/subjects/s/versions', { schema: '{"type":"enum","name":"E","symbols":["A","A"]}' }, 422, 42201],
      ['POST', '/subjects/s/versions', { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }, 422, 42201],
      ['POST', '/subjects/s/versions', { schema: 12 }, 422, 42201],
      ['POST', '/subjects/s', { schema: '[' }, 422, 42201],
      ['GET', '/subjects/s/versions/0', undefined, 422, 42202],
      ['GET', '/subjects/s/versions/notanumber', undefined, 422, 42202],
      ['DELETE', '/subjects/s/versions/99999999999', undefined, 422, 42202],
      ['POST', '/compatibility/subjects/s/versions/-7', { schema: good }, 422, 42202],
      ['PUT', '/config', { compatibility: 'MOSTLY' }, 422, 42203],
      ['PUT', '/config/s', { compatibility: null }, 422, 42203],
      ['PUT', '/mode', { mode: 'WRITEONLY' }, 422, 42204],
      ['GET', '/subjects/unknown/versions/latest', undefined, 404, 40401],
      ['GET', '/subjects/s/versions/5', undefined, 404, 40402],
      ['GET', '/schemas/ids/424242', undefined, 404, 40403],
      ['POST', '/subjects/s/versions', { schema: JSON.stringify(avroRecord('Big', [])).replace('"fields"', `"doc":"${'x'.repeat(70_000)}","fields"`) }, 413, 413],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await http(live.url, method, path, body);
      expect({ method, path, status: res.status, code: res.body?.error_code }).toEqual({ method, path, status, code });
      expect(res.contentType).toBe('application/vnd.schemaregistry.v1+json');
    }
    const wrongType = await http(live.url, 'POST', '/subjects/s/versions', { schema: good }, { 'content-type': 'text/xml' });
    expect(wrongType.status).toBe(415);

    await http(live.url, 'PUT', '/mode', { mode: 'READONLY' });
    const refused = await http(live.url, 'POST', '/subjects/s/versions', { schema: JSON.stringify(avroRecord('Other', [])) });
    expect(refused).toMatchObject({ status: 422, body: { error_code: 42205, message: 'Subject s is in read-only mode' } });
    await http(live.url, 'PUT', '/mode', { mode: 'READWRITE' });
    expect((await http(live.url, 'GET', '/subjects/s/versions/latest')).body.version).toBe(1);
  });

  it('guards every request with basic auth when asked to', async () => {
    const live = await start(uniqueTopic('registry-auth'), { auth: { users: { ops: 'pw' }, scope: 'all' } });
    expect((await http(live.url, 'GET', '/subjects')).status).toBe(401);
    const auth = { authorization: `Basic ${Buffer.from('ops:pw').toString('base64')}` };
    expect((await http(live.url, 'GET', '/subjects', undefined, auth)).body).toEqual([]);
  });
});
