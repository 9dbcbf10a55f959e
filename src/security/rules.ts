import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { onexError, OnexRuntimeError } from '../errors/index.js';
import { checkFieldPath } from './event-fields.js';
import type { SignPolicy } from './policy.js';

/**
 * A security rule file (docs/security.md, "Rule file"): which metadata fields of which event types are sensitive
 * (encrypted at emit) and which events are signed, kept beside the code instead of in it. YAML (or JSON, which is
 * YAML):
 *
 *   sensitive:
 *     NODE_FAILURE: [metadata.input_state.card_number, metadata.error]
 *   sign:                      # true (every event), or:
 *     event_types: [NODE_FAILURE]
 *     nodes: [payments_node-001]
 *
 * The result is the `encrypt` and `sign` of SecurityPolicyOptions: `new SecurityPolicy({ cipher, signer,
 * ...loadSecurityRules(path) })`. A bad file is ONEX_RT_407 naming the file and the key.
 */
export interface SecurityRules {
  readonly encrypt: Readonly<Record<string, readonly string[]>>;
  readonly sign: boolean | SignPolicy;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseSecurityRules(text: string, source: string): SecurityRules {
  const bad = (where: string, message: string): never => {
    throw onexError('ONEX_RT_407', `security rule file ${source}: ${where} ${message}`);
  };
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw onexError('ONEX_RT_407', `security rule file ${source} is not YAML or JSON: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isObject(doc)) return bad('the file', 'must be a map with sensitive and sign');
  for (const key of Object.keys(doc)) if (key !== 'sensitive' && key !== 'sign') bad(key, 'is not a rule (sensitive, sign)');
  const list = (value: unknown, where: string): string[] => {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) bad(where, 'must be a list of non-empty strings');
    return value as string[];
  };
  const encrypt: Record<string, string[]> = {};
  if (doc.sensitive !== undefined && doc.sensitive !== null) {
    if (!isObject(doc.sensitive)) bad('sensitive', 'must map event types to lists of metadata field paths');
    for (const [type, paths] of Object.entries(doc.sensitive as Record<string, unknown>)) {
      encrypt[type] = list(paths, `sensitive.${type}`).map((path, i) => {
        try {
          checkFieldPath(path);
        } catch (err) {
          bad(`sensitive.${type}[${i}]`, (err as Error).message);
        }
        return path;
      });
    }
  }
  let sign: boolean | SignPolicy = false;
  if (typeof doc.sign === 'boolean') sign = doc.sign;
  else if (doc.sign !== undefined && doc.sign !== null) {
    if (!isObject(doc.sign)) bad('sign', 'must be true, false or { event_types, nodes }');
    const s = doc.sign as Record<string, unknown>;
    for (const key of Object.keys(s)) if (key !== 'event_types' && key !== 'nodes') bad(`sign.${key}`, 'is not a sign rule (event_types, nodes)');
    sign = {
      ...(s.event_types !== undefined ? { eventTypes: list(s.event_types, 'sign.event_types') } : {}),
      ...(s.nodes !== undefined ? { nodes: list(s.nodes, 'sign.nodes') } : {}),
    };
  }
  return { encrypt, sign };
}

/** Reads a rule file (parseSecurityRules). */
export function loadSecurityRules(path: string): SecurityRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new OnexRuntimeError('ONEX_RT_407', `security rule file ${path} cannot be read.`, { cause });
  }
  return parseSecurityRules(text, path);
}
