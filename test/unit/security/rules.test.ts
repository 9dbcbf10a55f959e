import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventSigner, FieldCipher, LocalKeyringProvider, loadSecurityRules, newKeyringEntry, parseSecurityRules, SecurityPolicy } from '../../../src/security/index.js';

const provider = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'k1')] });
const YAML = `
sensitive:
  NODE_FAILURE: [metadata.input_state.card_number, metadata.error]
sign:
  event_types: [NODE_FAILURE]
  nodes: [payments_node-001]
`;

describe('security rule files', () => {
  it('a YAML file marks fields sensitive per event type and names the events signed; the policy made from it plans the same as from options', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onex-rules-'));
    writeFileSync(join(dir, 'security.yaml'), YAML);
    const rules = loadSecurityRules(join(dir, 'security.yaml'));
    expect(rules).toEqual({ encrypt: { NODE_FAILURE: ['metadata.input_state.card_number', 'metadata.error'] }, sign: { eventTypes: ['NODE_FAILURE'], nodes: ['payments_node-001'] } });
    const policy = new SecurityPolicy({ cipher: new FieldCipher({ provider }), signer: new EventSigner({ provider }), ...rules });
    expect(policy.plan({ event_type: 'NODE_FAILURE', node_id: 'x' })).toEqual({ encrypt: ['metadata.input_state.card_number', 'metadata.error'], sign: true });
    expect(policy.plan({ event_type: 'NODE_START', node_id: 'payments_node-001' })).toEqual({ encrypt: undefined, sign: true });
    expect(policy.plan({ event_type: 'NODE_START', node_id: 'other' })).toBeUndefined();
    // JSON is YAML; sign: true signs everything; an empty file asks for nothing.
    expect(parseSecurityRules('{"sensitive":{"NODE_START":["metadata.token"]},"sign":true}', 'inline')).toEqual({ encrypt: { NODE_START: ['metadata.token'] }, sign: true });
    expect(parseSecurityRules('', 'empty')).toEqual({ encrypt: {}, sign: false });
  });

  it('a bad file is ONEX_RT_407 naming the file and the key', () => {
    const cases: Array<[string, RegExp]> = [
      ['sensitive: [a]', /rules\.yaml: sensitive must map event types/],
      ['sensitive:\n  NODE_FAILURE: [input_state.card]', /sensitive\.NODE_FAILURE\[0\] .*must name a field under metadata/],
      ['sensitive:\n  NODE_FAILURE: metadata.x', /sensitive\.NODE_FAILURE must be a list/],
      ['sign: yes please', /sign must be true, false/],
      ['sign:\n  types: [A]', /sign\.types is not a sign rule/],
      ['encrypt: {}', /encrypt is not a rule/],
      ['sensitive: {a: [', /rules\.yaml is not YAML or JSON/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseSecurityRules(text, 'rules.yaml'), text).toThrow(expect.objectContaining({ code: 'ONEX_RT_407', message: expect.stringMatching(message) }));
    }
    expect(() => loadSecurityRules('/nonexistent/rules.yaml')).toThrow(expect.objectContaining({ code: 'ONEX_RT_407' }));
  });
});
