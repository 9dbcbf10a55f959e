import { onexError } from '../errors/index.js';
import { flags as processFlags, type FlagSet } from '../flags/index.js';
import type { FieldCipher } from './field-encryption.js';
import { checkFieldPath } from './event-fields.js';
import type { EventSigner } from './signing.js';
import type { SecurityPlan, SignPolicy } from './types.js';

export type { SecurityPlan, SignPolicy } from './types.js';

/**
 * Per-event-type security policies (docs/security.md, "In the producer"): which metadata fields of which event
 * types a writer encrypts, and which events it signs (every event, or by event type and node). The producer asks
 * plan(event) once per event; when nothing applies it returns undefined and the event takes the synchronous path
 * with no extra work. The worker's RecordSecurity can require signatures by the same policy (requiresSignature).
 */

export interface SecurityPolicyOptions {
  /** Encrypts fields; required when `encrypt` names any. */
  readonly cipher?: FieldCipher;
  /** Signs record values; required when `sign` is set. */
  readonly signer?: EventSigner;
  /** Metadata field paths to encrypt, per event type: `{ NODE_FAILURE: ['metadata.input_state.card_number'] }`. */
  readonly encrypt?: Readonly<Record<string, readonly string[]>>;
  /** true: sign every event; or the event types and nodes whose events are signed (an event matching either is). */
  readonly sign?: boolean | SignPolicy;
  /** onex.security.encryption and onex.security.signing switch the two off (default: the process's flags). */
  readonly flags?: FlagSet;
}

function invalid(option: string, message: string): never {
  throw onexError('ONEX_RT_407', `invalid security option ${option}: ${message}`);
}

function stringList(value: unknown, option: string): readonly string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) invalid(option, 'must be a list of non-empty strings');
  return value as string[];
}

export class SecurityPolicy {
  readonly cipher: FieldCipher | undefined;
  readonly signer: EventSigner | undefined;
  readonly #encrypt: ReadonlyMap<string, readonly string[]>;
  readonly #signAll: boolean;
  readonly #signTypes: ReadonlySet<string>;
  readonly #signNodes: ReadonlySet<string>;
  readonly #flags: FlagSet;

  /** `option`: what the caller's option is called, for the errors (the producer's `security`, replay's `emitSecurity`). */
  constructor(options: SecurityPolicyOptions, option = 'security') {
    if (options === null || typeof options !== 'object') invalid(option, 'must be an object or a SecurityPolicy');
    const encrypt = new Map<string, readonly string[]>();
    if (options.encrypt !== undefined) {
      if (options.encrypt === null || typeof options.encrypt !== 'object' || Array.isArray(options.encrypt)) {
        invalid(`${option}.encrypt`, 'must map event types to lists of metadata field paths');
      }
      for (const [type, paths] of Object.entries(options.encrypt)) {
        const list = stringList(paths, `${option}.encrypt.${type}`);
        list.forEach((path, i) => {
          try {
            checkFieldPath(path);
          } catch (err) {
            invalid(`${option}.encrypt.${type}[${i}]`, (err as Error).message);
          }
        });
        if (list.length > 0) encrypt.set(type, [...list]);
      }
    }
    const sign = options.sign ?? false;
    let signAll = false;
    let types: readonly string[] = [];
    let nodes: readonly string[] = [];
    if (sign === true) signAll = true;
    else if (sign !== false) {
      if (sign === null || typeof sign !== 'object') invalid(`${option}.sign`, 'must be true, false or { eventTypes, nodes }');
      if (sign.eventTypes !== undefined) types = stringList(sign.eventTypes, `${option}.sign.eventTypes`);
      if (sign.nodes !== undefined) nodes = stringList(sign.nodes, `${option}.sign.nodes`);
    }
    if (encrypt.size > 0 && (options.cipher === undefined || typeof options.cipher.encrypt !== 'function')) {
      invalid(`${option}.cipher`, `a FieldCipher is needed to encrypt the fields ${option}.encrypt names`);
    }
    const signs = signAll || types.length > 0 || nodes.length > 0;
    if (signs && (options.signer === undefined || typeof options.signer.sign !== 'function')) {
      invalid(`${option}.signer`, `an EventSigner is needed to sign the events ${option}.sign names`);
    }
    this.cipher = options.cipher;
    this.signer = options.signer;
    this.#encrypt = encrypt;
    this.#signAll = signAll;
    this.#signTypes = new Set(types);
    this.#signNodes = new Set(nodes);
    this.#flags = options.flags ?? processFlags;
  }

  /**
   * Gets the keys the policy will use (the cipher's data key, the signer's current key) from the provider now, so
   * the first events take the synchronous path; OnexProducer.start() calls it.
   */
  async ready(): Promise<void> {
    if (this.#encrypt.size > 0) await this.cipher?.ready?.();
    if (this.#signAll || this.#signTypes.size > 0 || this.#signNodes.size > 0) await this.signer?.ready?.();
  }

  /** Whether the policy says an event of this type from this node is signed (flags aside): the worker's requireSignature. */
  signs(event: { event_type?: unknown; node_id?: unknown }): boolean {
    return this.#signAll || this.#signTypes.has(event.event_type as string) || this.#signNodes.has(event.node_id as string);
  }

  /** What to do to `event` now (flags included), or undefined when nothing applies. */
  plan(event: { event_type?: unknown; node_id?: unknown }): SecurityPlan | undefined {
    const paths = this.#encrypt.size > 0 ? this.#encrypt.get(event.event_type as string) : undefined;
    const encrypt = paths !== undefined && this.#flags.isEnabled('onex.security.encryption', true) ? paths : undefined;
    const sign = this.signs(event) && this.#flags.isEnabled('onex.security.signing', true);
    return encrypt === undefined && !sign ? undefined : { encrypt, sign };
  }
}

/** A policy from options (or the policy itself). */
export function securityPolicy(value: SecurityPolicy | SecurityPolicyOptions, option = 'security'): SecurityPolicy {
  return value instanceof SecurityPolicy ? value : new SecurityPolicy(value, option);
}
