import { describe, expect, it } from 'vitest';
import type { FlagSet } from '../../../src/flags/index.js';
import { EventSigner, FieldCipher, LocalKeyringProvider, newKeyringEntry, SecurityPolicy } from '../../../src/security/index.js';

const provider = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'k1')] });
const cipher = new FieldCipher({ provider });
const signer = new EventSigner({ provider });

function codeAndMessage(make: () => unknown): string {
  try {
    make();
  } catch (err) {
    return `${(err as { code: string }).code} ${(err as Error).message}`;
  }
  return 'no error';
}

describe('SecurityPolicy', () => {
  it('plans encryption per event type and signing by type or node; nothing for the rest', () => {
    const policy = new SecurityPolicy({ cipher, signer, encrypt: { NODE_FAILURE: ['metadata.error'] }, sign: { eventTypes: ['NODE_SUCCESS'], nodes: ['pay_node-001'] } });
    expect(policy.plan({ event_type: 'NODE_FAILURE', node_id: 'a_node-001' })).toEqual({ encrypt: ['metadata.error'], sign: false });
    expect(policy.plan({ event_type: 'NODE_FAILURE', node_id: 'pay_node-001' })).toEqual({ encrypt: ['metadata.error'], sign: true });
    expect(policy.plan({ event_type: 'NODE_SUCCESS', node_id: 'a_node-001' })).toEqual({ encrypt: undefined, sign: true });
    expect(policy.plan({ event_type: 'NODE_START', node_id: 'a_node-001' })).toBeUndefined();
    expect(new SecurityPolicy({ signer, sign: true }).plan({ event_type: 'NODE_START' })).toEqual({ encrypt: undefined, sign: true });
  });

  it('follows the flags: off means the producer neither encrypts nor signs', () => {
    const on: Record<string, boolean> = { 'onex.security.encryption': true, 'onex.security.signing': true };
    const flags = { isEnabled: (key: string) => on[key] ?? true } as unknown as FlagSet;
    const policy = new SecurityPolicy({ cipher, signer, encrypt: { NODE_FAILURE: ['metadata.error'] }, sign: true, flags });
    on['onex.security.encryption'] = false;
    expect(policy.plan({ event_type: 'NODE_FAILURE' })).toEqual({ encrypt: undefined, sign: true });
    on['onex.security.signing'] = false;
    expect(policy.plan({ event_type: 'NODE_FAILURE' })).toBeUndefined();
  });

  it('refuses bad options with ONEX_RT_407 naming the option', () => {
    expect(codeAndMessage(() => new SecurityPolicy({ encrypt: { NODE_FAILURE: ['metadata.error'] } }))).toMatch(/^ONEX_RT_407 invalid security option security\.cipher:/);
    expect(codeAndMessage(() => new SecurityPolicy({ sign: { nodes: ['x_node-001'] } }))).toMatch(/^ONEX_RT_407 invalid security option security\.signer:/);
    expect(codeAndMessage(() => new SecurityPolicy({ cipher, encrypt: { NODE_FAILURE: ['input_state.card'] } }))).toMatch(/^ONEX_RT_407 invalid security option security\.encrypt\.NODE_FAILURE\[0\]:/);
    expect(codeAndMessage(() => new SecurityPolicy({ cipher, encrypt: { NODE_FAILURE: 'metadata.error' as never } }))).toMatch(/security\.encrypt\.NODE_FAILURE: must be a list/);
    expect(codeAndMessage(() => new SecurityPolicy({ signer, sign: 'yes' as never }))).toMatch(/security\.sign: must be/);
    // Replay's option for its copies' policy is called emitSecurity, and the errors say so.
    expect(codeAndMessage(() => new SecurityPolicy({ encrypt: { NODE_FAILURE: ['metadata.error'] } }, 'emitSecurity'))).toMatch(/^ONEX_RT_407 invalid security option emitSecurity\.cipher: a FieldCipher is needed to encrypt the fields emitSecurity\.encrypt names/);
  });
});
