import { InMemoryProvider } from '@openfeature/server-sdk';
import { describe, expect, it } from 'vitest';
import { isStructuredCloudEvent, readStructuredCloudEvent, structuredEvent } from '../../../src/codec/index.js';
import { FlagSet } from '../../../src/flags/index.js';
import { DLQ_HEADERS, headerText, type SourceRecord } from '../../../src/worker/index.js';
import { eventV2, FakeControl, rig } from './fakes.js';

const CT = 'application/cloudevents+json';
const envelope = (data: unknown, attrs: Record<string, unknown> = {}) => ({ specversion: '1.0', id: 'ce-1', source: 'https://svc.example/x', type: 'com.example.onex', data, ...attrs });
const structured = (value: unknown, contentType = CT): SourceRecord => ({
  topic: 'onex.events',
  partition: 0,
  offset: '7',
  key: null,
  value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers: { 'content-type': Buffer.from(contentType) },
});
const v13 = (): Record<string, unknown> & { event_id: string } => {
  const { trace: _t, replay: _r, security: _s, error: _e, sample_rate: _sr, metadata: _m, ...rest } = eventV2();
  return { ...rest, schema_version: '1.3.0', metadata: { input_state: { file: 'a.py' } } } as unknown as Record<string, unknown> & { event_id: string };
};

describe('CloudEvents structured mode: the envelope', () => {
  it('is recognised by its content-type header, with parameters and in any case, and only by it', () => {
    expect(isStructuredCloudEvent({ 'content-type': 'application/cloudevents+json; charset=UTF-8' })).toBe(true);
    expect(isStructuredCloudEvent({ 'content-type': Buffer.from('Application/CloudEvents+JSON') })).toBe(true);
    expect(isStructuredCloudEvent({ 'content-type': 'application/avro' })).toBe(false);
    expect(isStructuredCloudEvent({})).toBe(false);
    expect(isStructuredCloudEvent(undefined)).toBe(false);
  });

  it.each([
    ['not JSON', '{"specversion": ', 'ONEX_EVENT_613'],
    ['not an object', '[1,2]', 'ONEX_EVENT_613'],
    ['another specversion', envelope({}, { specversion: '0.3' }), 'ONEX_EVENT_613'],
    ['no source', envelope({}, { source: '' }), 'ONEX_EVENT_613'],
    ['binary data', envelope(undefined, { data_base64: 'AAEC' }), 'ONEX_EVENT_614'],
    ['XML data', envelope({}, { datacontenttype: 'application/xml' }), 'ONEX_EVENT_614'],
    ['string data', envelope('an event'), 'ONEX_EVENT_614'],
  ])('refuses %s with its code and one sentence', (_what, value, code) => {
    const v = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
    expect(() => readStructuredCloudEvent(v)).toThrow(expect.objectContaining({ code }));
  });

  it('validates the data as an ONEX event, checks an onex. type against it, and transforms it to the target version', () => {
    const data = v13();
    const ok = structuredEvent(readStructuredCloudEvent(Buffer.from(JSON.stringify(envelope(data, { type: 'onex.NODE_START' })))), '2.0.0');
    expect(ok).toMatchObject({ writerVersion: '1.3.0', schemaId: 0, event: { event_id: data.event_id, schema_version: '2.0.0' } });
    expect(() => structuredEvent(readStructuredCloudEvent(Buffer.from(JSON.stringify(envelope(data, { type: 'onex.NODE_FAILURE' })))), '2.0.0')).toThrow(
      expect.objectContaining({ code: 'ONEX_EVENT_614' }),
    );
    expect(() => structuredEvent(readStructuredCloudEvent(Buffer.from(JSON.stringify(envelope({ ...data, node_id: '' })))), '2.0.0')).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^ONEX_VALID_1/) }),
    );
  });
});

describe('CloudEvents structured mode in the record processor', () => {
  it('hands the data to the handler and dead-letters a bad envelope with its code, the original record kept', async () => {
    const seen: unknown[] = [];
    const r = rig({ '*': (e) => void seen.push(e) });
    const data = v13();
    expect(await r.processor.process(structured(envelope(data)), new FakeControl())).toMatchObject({ status: 'handled' });
    expect(seen).toEqual([expect.objectContaining({ event_id: data.event_id, schema_version: '2.0.0' })]);
    expect(r.decoder.calls).toBe(0);
    const out = await r.processor.process(structured('{oops'), new FakeControl());
    expect(out).toMatchObject({ status: 'dead_lettered', attempts: 1, error: { code: 'ONEX_EVENT_613' } });
    expect(headerText(r.sink.sent[0]!.message.headers, DLQ_HEADERS.errorCode)).toBe('ONEX_EVENT_613');
    expect(r.sink.sent[0]!.message.value?.toString()).toBe('{oops');
  });

  it('with onex.worker.cloudevents off reads such a record as any other, so it is dead-lettered as not the wire format', async () => {
    const flags = new FlagSet({ domain: 'structured-off' });
    await flags.useProvider(new InMemoryProvider({ 'onex.worker.cloudevents': { variants: { on: true, off: false }, defaultVariant: 'off', disabled: false } }));
    const r = rig({ '*': () => undefined }, { flags });
    const out = await r.processor.process(structured(envelope(v13())), new FakeControl());
    expect(out).toMatchObject({ status: 'dead_lettered', error: { code: 'ONEX_EVENT_604' } });
  });
});
