import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyringReport, rotateKeyring } from '../../../src/cli/commands/keys.js';

const DAY = 86_400_000;

describe('onex keys', () => {
  it('rotate adds a key from a time; list shows current, still-decrypting and retired keys without secrets', () => {
    let ring = rotateKeyring(undefined, new Date('2026-01-01T00:00:00Z'), 'k1');
    ring = rotateKeyring({ ...ring, rotation_window_ms: 7 * DAY }, new Date('2026-02-01T00:00:00Z'), 'k2');
    ring = rotateKeyring(ring, new Date('2026-02-05T00:00:00Z'), 'k3');
    const report = keyringReport(ring, new Date('2026-02-10T00:00:00Z'));
    expect(report[0]).toMatch(/^k1 .* retired 2026-02-08/);
    expect(report[1]).toMatch(/^k2 .* decrypts until 2026-02-12/);
    expect(report[2]).toMatch(/^k3 .* current$/);
    expect(report.join('\n')).not.toContain(ring.keys[0]!.secret);
    expect(() => rotateKeyring(ring, new Date(), 'k3')).toThrow(expect.objectContaining({ code: 'ONEX_RT_440' }));
  });

  it('the command writes the keyring with mode 0600', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'onex-keys-')), 'keyring.json');
    const onex = (...args: string[]) => execFileSync('npx', ['tsx', 'src/cli/main.ts', 'keys', ...args], { encoding: 'utf8' });
    expect(onex('rotate', '--keyring', file, '--id', 'k1')).toMatch(/added key k1/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(onex('list', '--keyring', file)).toMatch(/^k1 .* current/);
    expect(JSON.parse(readFileSync(file, 'utf8')).keys).toHaveLength(1);
  });
});
