import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { createKafka } from '../../../src/kafka/index.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { REPO_ROOT, runOnex } from '../../support/cli.js';
import { kafkaBrokers, uniqueTopic } from '../../support/kafka.js';

// `onex registry serve` as a user runs it: its own process, stopped with SIGTERM and started again on the same topic.

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

async function serve(args: string[]): Promise<{ url: string; child: ChildProcess; exited: Promise<number | null>; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'registry', 'serve', '--port', '0', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(line.trim()));
    void exited.then((code) => reject(new Error(`registry exited with ${code}: ${stderr}`)));
  });
  return { url, child, exited, stderr: () => stderr };
}

describe('onex registry serve', () => {
  it('serves from Kafka, stops cleanly on SIGTERM, and a restarted server still resolves every id', async () => {
    const topic = uniqueTopic('registry-cli');
    const brokers = kafkaBrokers().join(',');
    const first = await serve(['--bootstrap-server', brokers, '--topic', topic]);
    const client = new RegistryClient({ url: first.url });
    // Any failure below shows what the server said on stderr.
    onTestFailed(() => {
      process.stderr.write(`first server stderr:\n${first.stderr()}\n`);
    });
    await client.setCompatibility('NONE');
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await client.register(`cli-${i}`, { type: 'enum', name: `E${i}`, symbols: ['A', 'B'] }));
    const bytes = await client.encode(ids[2]!, 'B');
    first.child.kill('SIGTERM');
    expect(await first.exited, first.stderr()).toBe(0);

    const second = await serve(['-b', brokers, '--topic', topic]);
    const after = new RegistryClient({ url: second.url });
    for (const [i, id] of ids.entries()) expect(JSON.parse((await after.getSchema(id)).schema).name).toBe(`E${i}`);
    expect((await after.decode(bytes)).value).toBe('B');
    expect(await after.getCompatibility()).toBe('NONE');
    second.child.kill('SIGTERM');
    expect(await second.exited, second.stderr()).toBe(0);
  });

  it('refuses to start without a store, or on a topic with more than one partition, with one ONEX line', async () => {
    const noStore = await runOnex(['registry', 'serve', '--port', '0'], { env: { ...process.env, KAFKA_BROKERS: '' } });
    expect(noStore.code).not.toBe(0);
    expect(noStore.stderr).toMatch(/^ONEX_CLI_301: .*--memory/m);

    const topic = uniqueTopic('registry-2p');
    const admin = createKafka({ brokers: kafkaBrokers().join(','), clientId: 'registry-test' }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const twoPartitions = await runOnex(['registry', 'serve', '--port', '0', '--kafka', kafkaBrokers().join(','), '--topic', topic]);
    expect(twoPartitions.code).not.toBe(0);
    expect(twoPartitions.stderr).toMatch(/^ONEX_RT_407: .*exactly one/m);
  });
});
