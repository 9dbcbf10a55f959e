import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { onexError } from '../../errors/index.js';
import { LocalKeyringProvider, newKeyringEntry, parseKeyring, type KeyringFile } from '../../security/index.js';

/** The keyring's keys with their state at `now`; never a secret. */
export function keyringReport(keyring: KeyringFile, now: Date): string[] {
  const provider = new LocalKeyringProvider(keyring);
  return provider.list().map((key) => {
    let state: string;
    if (key.activeFrom > now) state = 'scheduled';
    else if (key.supersededAt === undefined || key.supersededAt > now) state = 'current';
    else {
      const until = new Date(key.supersededAt.getTime() + provider.rotationWindowMs);
      state = until > now ? `decrypts until ${until.toISOString()}` : `retired ${until.toISOString()}`;
    }
    return `${key.id}  active from ${key.activeFrom.toISOString()}  ${state}`;
  });
}

/** The keyring with a new key active from `activeFrom`; written back by the caller. */
export function rotateKeyring(keyring: KeyringFile | undefined, activeFrom: Date, id?: string): KeyringFile {
  const entry = newKeyringEntry(activeFrom, id);
  const next: KeyringFile = { ...(keyring ?? {}), keys: [...(keyring?.keys ?? []), entry] };
  new LocalKeyringProvider(next); // refuses a duplicate id or a bad entry (ONEX_RT_440) before anything is written
  return next;
}

export function readKeyring(path: string): KeyringFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw onexError('ONEX_RT_440', `keyring file ${path} cannot be read.`, { cause });
  }
  return parseKeyring(text, `keyring file ${path}`);
}

/** `onex keys list|rotate`: the local keyring (docs/security.md). */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('the local keyring of field encryption and signing keys');
  keys
    .command('list')
    .description('list the keys, when each became active and whether it is current, still decrypts or is retired')
    .requiredOption('--keyring <file>', 'the keyring file')
    .action((opts: { keyring: string }) => {
      for (const line of keyringReport(readKeyring(opts.keyring), new Date())) process.stdout.write(`${line}\n`);
    });
  keys
    .command('rotate')
    .description('add a new key, used from --active-from (default now); earlier keys still decrypt for the rotation window')
    .requiredOption('--keyring <file>', 'the keyring file (created when absent, mode 0600)')
    .option('--active-from <iso-time>', 'when the new key takes over')
    .option('--id <key-id>', 'the new key id (default from the time)')
    .action((opts: { keyring: string; activeFrom?: string; id?: string }) => {
      const activeFrom = opts.activeFrom === undefined ? new Date() : new Date(opts.activeFrom);
      if (Number.isNaN(activeFrom.getTime())) throw onexError('ONEX_CLI_300', `--active-from ${opts.activeFrom} is not a time (use ISO-8601).`);
      const next = rotateKeyring(existsSync(opts.keyring) ? readKeyring(opts.keyring) : undefined, activeFrom, opts.id);
      const tmp = `${opts.keyring}.tmp-${process.pid}`;
      writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
      renameSync(tmp, opts.keyring);
      const added = next.keys[next.keys.length - 1]!;
      process.stdout.write(`added key ${added.id}, active from ${added.active_from}\n`);
    });
}
