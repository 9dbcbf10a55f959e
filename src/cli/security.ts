import type { Command } from 'commander';
import { onexError } from '../errors/index.js';
import { EventSigner, EventVerifier, FieldCipher, LocalKeyringProvider, loadSecurityRules, RecordSecurity, SecurityPolicy } from '../security/index.js';
import { readKeyring } from './commands/keys.js';

/**
 * The security options of the commands that read events (`onex worker`, `onex replay`): a local keyring (`onex keys
 * rotate` writes one) and a security rule file (docs/security.md, "Rule file"). With a keyring, signatures are
 * verified and encrypted fields decrypted before handlers; the rule file's `sign` says which events must be signed
 * (an unsigned one is dead-lettered, ONEX_EVENT_632), and for what a command writes (replay's copies) its `sensitive`
 * and `sign` say what is encrypted and signed again. `onex dlq redrive` needs neither: it republishes letters byte
 * for byte, so the worker that reads them again verifies and decrypts.
 */
export interface SecurityFlags {
  keyring?: string;
  securityRules?: string;
}

/** `writes`: what the command writes under the rule file's policy (replay: "the copies"), if it writes events. */
export function addSecurityOptions(cmd: Command, writes?: string): Command {
  const rules = `security rule file (YAML): which events must be signed${writes ? `, and what of ${writes} is encrypted and signed` : ''}; needs --keyring`;
  return cmd
    .option('--keyring <file>', 'local keyring: verify signatures and decrypt encrypted fields of what is read (env ONEX_KEYRING)')
    .option('--security-rules <file>', rules);
}

/** What the flags ask for: the reading side's RecordSecurity and, with a rule file, the policy for what is written. */
export interface CliSecurity {
  record: RecordSecurity;
  emit: SecurityPolicy | undefined;
}

/** The security the flags ask for; undefined when they name no keyring. */
export function securityFrom(opts: SecurityFlags, env: NodeJS.ProcessEnv = process.env): CliSecurity | undefined {
  const path = opts.keyring ?? (env.ONEX_KEYRING || undefined);
  if (path === undefined) {
    if (opts.securityRules !== undefined) throw onexError('ONEX_CLI_300', '--security-rules needs --keyring (or ONEX_KEYRING): the keys that verify and decrypt.');
    return undefined;
  }
  const provider = new LocalKeyringProvider(readKeyring(path));
  const cipher = new FieldCipher({ provider });
  const rules = opts.securityRules === undefined ? undefined : loadSecurityRules(opts.securityRules);
  // The rule file read as the producer reads it: what it signs must arrive signed, and is signed when written.
  const emit = rules === undefined ? undefined : new SecurityPolicy({ cipher, signer: new EventSigner({ provider }), ...rules });
  const record = new RecordSecurity({ verifier: new EventVerifier({ provider }), cipher, ...(emit && rules!.sign !== false ? { requireSignature: (e) => emit.signs(e) } : {}) });
  return { record, emit };
}
