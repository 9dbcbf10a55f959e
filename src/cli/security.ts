import type { Command } from 'commander';
import { onexError } from '../errors/index.js';
import { EventSigner, EventVerifier, FieldCipher, LocalKeyringProvider, loadSecurityRules, RecordSecurity, SecurityPolicy } from '../security/index.js';
import { readKeyring } from './commands/keys.js';

/**
 * The security options of `onex worker`: a local keyring (`onex keys rotate` writes one) and a security rule file
 * (docs/security.md, "Rule file"). With a keyring, signatures are verified and encrypted fields decrypted before
 * handlers; the rule file's `sign` says which events must be signed (an unsigned one is dead-lettered, ONEX_EVENT_632).
 */
export interface SecurityFlags {
  keyring?: string;
  securityRules?: string;
}

export function addSecurityOptions(cmd: Command): Command {
  return cmd
    .option('--keyring <file>', 'local keyring: verify signatures and decrypt encrypted fields before handlers (env ONEX_KEYRING)')
    .option('--security-rules <file>', 'security rule file (YAML): which events must be signed; needs --keyring');
}

/** The RecordSecurity the flags ask for; undefined when they name no keyring. */
export function recordSecurityFrom(opts: SecurityFlags, env: NodeJS.ProcessEnv = process.env): RecordSecurity | undefined {
  const path = opts.keyring ?? (env.ONEX_KEYRING || undefined);
  if (path === undefined) {
    if (opts.securityRules !== undefined) throw onexError('ONEX_CLI_300', '--security-rules needs --keyring (or ONEX_KEYRING): the keys that verify and decrypt.');
    return undefined;
  }
  const provider = new LocalKeyringProvider(readKeyring(path));
  const rules = opts.securityRules === undefined ? undefined : loadSecurityRules(opts.securityRules);
  const verifier = new EventVerifier({ provider });
  // The rule file's sign policy, read as the producer reads it: an event it signs must arrive signed.
  const policy = rules === undefined || rules.sign === false ? undefined : new SecurityPolicy({ sign: rules.sign, signer: new EventSigner({ provider }) });
  return new RecordSecurity({ verifier, cipher: new FieldCipher({ provider }), ...(policy ? { requireSignature: (e) => policy.signs(e) } : {}) });
}
