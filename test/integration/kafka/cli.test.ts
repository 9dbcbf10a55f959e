import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { readBrokerState, stopLocalBroker } from '../../../src/dev/index.js';
import { runOnex } from '../../support/cli.js';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('onex kafka start | status | stop', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'onex-cli-kafka-'));
  const scratch = mkdtempSync(join(tmpdir(), 'onex-cli-scratch-'));

  afterAll(async () => {
    // Whatever a failing case may have started, nothing outlives the test.
    for (const dir of [dataDir, join(scratch, 'busy'), join(scratch, 'nojava'), join(scratch, 'nomvn')]) await stopLocalBroker(dir, 30_000);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('starts a broker that answers, reuses it on a second start, and stops it leaving no process', async () => {
    // Two starts at once on one data dir: one broker, both print its address.
    const [a, b] = await Promise.all([
      runOnex(['kafka', 'start', '--data-dir', dataDir, '--heap-mb', '512'], { timeoutMs: 240_000 }),
      runOnex(['kafka', 'start', '--data-dir', dataDir, '--heap-mb', '512'], { timeoutMs: 240_000 }),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const bootstrap = a.stdout.trim();
    expect(bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(b.stdout.trim()).toBe(bootstrap);
    expect(`${a.stderr}${b.stderr}`).toContain('reusing it');

    const state = readBrokerState(dataDir)!;
    expect(state.bootstrap).toBe(bootstrap);
    expect(isAlive(state.pid)).toBe(true);

    const again = await runOnex(['kafka', 'start', '--data-dir', dataDir]);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(bootstrap);

    const status = await runOnex(['kafka', 'status', '--data-dir', dataDir, '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, answering: true, bootstrap, pid: state.pid });

    // A different port on a running data dir is refused clearly rather than silently ignored.
    const otherPort = await runOnex(['kafka', 'start', '--data-dir', dataDir, '--port', '1']);
    expect(otherPort.code).not.toBe(0);
    expect(otherPort.stderr).toMatch(/^ONEX_RT_406: a broker already runs on/m);

    const stop = await runOnex(['kafka', 'stop', '--data-dir', dataDir]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stderr).toContain(`stopped the broker (pid ${state.pid})`);
    expect(isAlive(state.pid)).toBe(false);
    expect(readBrokerState(dataDir)).toBeUndefined();

    const after = await runOnex(['kafka', 'status', '--data-dir', dataDir]);
    expect(after.code).toBe(3);
    expect(after.stdout).toContain('not running');

    const stopAgain = await runOnex(['kafka', 'stop', '--data-dir', dataDir]);
    expect(stopAgain.code).toBe(0);
    expect(stopAgain.stderr).toContain('no broker runs');
  });

  it('refuses a port that is in use with one clear line', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await runOnex(['kafka', 'start', '--data-dir', join(scratch, 'busy'), '--port', String(port)]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toBe(`ONEX_RT_406: port ${port} on 127.0.0.1 is in use; choose another with --port or stop what listens there`);
    } finally {
      server.close();
    }
  });

  it('says what to install when java or mvn is missing', async () => {
    const noJava = join(scratch, 'bin-empty');
    mkdirSync(noJava, { recursive: true });
    const withoutJava = await runOnex(['kafka', 'start', '--data-dir', join(scratch, 'nojava')], {
      env: { ...process.env, PATH: noJava, JAVA_HOME: '' },
    });
    expect(withoutJava.code).not.toBe(0);
    expect(withoutJava.stderr.trim().split('\n')).toEqual([
      'ONEX_RT_403: java was not found: install Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME',
    ]);

    // java present, mvn absent, and no cached classpath: the jars cannot be resolved.
    const javaOnly = join(scratch, 'bin-java');
    mkdirSync(javaOnly, { recursive: true });
    const javaPath = execFileSync('sh', ['-c', 'readlink -f "$(command -v java)"'], { encoding: 'utf8' }).trim();
    symlinkSync(javaPath, join(javaOnly, 'java'));
    const withoutMvn = await runOnex(['kafka', 'start', '--data-dir', join(scratch, 'nomvn')], {
      env: { ...process.env, PATH: javaOnly, JAVA_HOME: '', ONEX_CACHE_DIR: join(scratch, 'empty-cache') },
    });
    expect(withoutMvn.code).not.toBe(0);
    expect(withoutMvn.stderr.trim().split('\n').at(-1)).toBe(
      'ONEX_RT_403: mvn was not found: install Maven (e.g. apt-get install maven) so the Kafka jars can be fetched from Maven Central once',
    );
  });

  it('answers --help and rejects unknown commands and bad options with ONEX CLI codes', async () => {
    const help = await runOnex(['kafka', 'start', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--data-dir');
    const unknown = await runOnex(['kafka', 'restart']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/^ONEX_CLI_302: unknown command 'restart'/);
    const badPort = await runOnex(['kafka', 'start', '--port', 'abc']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr.trim()).toMatch(/^ONEX_CLI_300: .*a port is a whole number from 1 to 65535$/);
  });
});
