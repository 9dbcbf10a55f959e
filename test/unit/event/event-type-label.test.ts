import { describe, expect, it } from 'vitest';
import { ALL_EVENT_TYPES, eventTypeLabel, UNKNOWN_EVENT_TYPE } from '../../../src/event/index.js';

describe('eventTypeLabel (the event_type metric label of the producer and the worker)', () => {
  it('keeps every ONEX event type and UNKNOWN as they are', () => {
    for (const t of [...ALL_EVENT_TYPES, UNKNOWN_EVENT_TYPE]) expect(eventTypeLabel(t)).toBe(t);
  });

  it('spells anything else UNKNOWN, one spelling for one fact', () => {
    for (const v of ['NOT_A_TYPE', 'node_start', '', undefined, null, 7, {}]) expect(eventTypeLabel(v)).toBe('UNKNOWN');
  });
});
