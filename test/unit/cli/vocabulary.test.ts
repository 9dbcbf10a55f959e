import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { bootstrapServerOf, registryOf } from '../../../src/cli/args.js';
import { buildProgram } from '../../../src/cli/main.js';

/** Every command of the program, by its path ("registry serve"). */
function commands(cmd: Command, prefix = ''): Map<string, Command> {
  const found = new Map<string, Command>();
  for (const sub of cmd.commands) {
    const path = `${prefix}${sub.name()}`;
    found.set(path, sub);
    for (const [p, c] of commands(sub, `${path} `)) found.set(p, c);
  }
  return found;
}

// Every command is in one of these two lists, so a new command has to say whether it talks to Kafka.
// onex dev talks to Kafka: its local broker, or an existing cluster named by -b / KAFKA_BROKERS.
const TALK_TO_KAFKA = ['produce', 'consume', 'worker', 'dlq redrive', 'registry serve', 'dev', 'alerts run', 'profile', 'replay', 'trace', 'correlations run', 'inspect serve'];
// onex kafka runs (and finds) its own broker by data dir; the rest read files or the keyring only.
const NO_KAFKA = ['kafka', 'kafka start', 'kafka stop', 'kafka status', 'schema', 'schema check', 'schema compat', 'schema list', 'alerts', 'alerts check', 'alerts test', 'keys', 'keys list', 'keys rotate', 'dlq', 'registry', 'correlations', 'inspect'];
// The commands that decode events through a schema registry (registry serve is one; dlq redrive copies bytes and
// decodes nothing; onex dev serves its own, on --registry-port).
const TALK_TO_REGISTRY = ['produce', 'consume', 'worker', 'alerts run', 'profile', 'replay', 'trace', 'correlations run', 'inspect serve'];

describe('one CLI vocabulary for Kafka', () => {
  const all = commands(buildProgram());

  it('every command is listed as talking to Kafka or not, and only those that do take the flag', () => {
    expect([...all.keys()].sort()).toEqual([...TALK_TO_KAFKA, ...NO_KAFKA].sort());
    for (const path of NO_KAFKA) expect(all.get(path)!.options.some((o) => o.long === '--bootstrap-server'), `onex ${path}`).toBe(false);
  });

  it.each(TALK_TO_KAFKA)('%s takes -b / --bootstrap-server, and the older --brokers / --kafka hidden', (path) => {
    const cmd = all.get(path);
    expect(cmd, `onex ${path} exists`).toBeDefined();
    const flags = cmd!.options.map((o) => o.flags);
    expect(flags).toContain('-b, --bootstrap-server <list>');
    expect(flags).toContain('--brokers <list>');
    expect(flags).toContain('--kafka <list>');
    expect(cmd!.helpInformation()).toContain('--bootstrap-server');
    expect(cmd!.helpInformation()).not.toMatch(/--brokers|--kafka /);
  });

  it.each([
    [['-b', 'h1:9092'], 'h1:9092'],
    [['--bootstrap-server', 'h2:9092'], 'h2:9092'],
    [['--brokers', 'h3:9092'], 'h3:9092'],
    [['--kafka', 'h4:9092'], 'h4:9092'],
  ])('onex consume %j names the brokers %s', (argv, expected) => {
    const consume = all.get('consume')!;
    consume.parseOptions(argv as string[]);
    expect(bootstrapServerOf(consume.opts(), {})).toBe(expected);
    for (const key of ['bootstrapServer', 'brokers', 'kafka']) consume.setOptionValue(key, undefined);
  });

  it('falls back to KAFKA_BROKERS, and a flag wins over it', () => {
    expect(bootstrapServerOf({}, { KAFKA_BROKERS: 'env:9092' })).toBe('env:9092');
    expect(bootstrapServerOf({ bootstrapServer: 'flag:9092' }, { KAFKA_BROKERS: 'env:9092' })).toBe('flag:9092');
    expect(bootstrapServerOf({}, {})).toBeUndefined();
  });
});

describe('one CLI vocabulary for the schema registry', () => {
  const all = commands(buildProgram());

  it.each(TALK_TO_REGISTRY)('%s takes --registry <url>, falling back to SCHEMA_REGISTRY_URL', (path) => {
    const option = all.get(path)!.options.find((o) => o.long === '--registry');
    expect(option?.flags).toBe('--registry <url>');
    expect(option?.description).toMatch(/^schema registry URL \(default: SCHEMA_REGISTRY_URL/);
  });

  it('no other command spells the registry differently', () => {
    for (const [path, cmd] of all) {
      const odd = cmd.options.filter((o) => /registry/i.test(o.long ?? '') && o.long !== '--registry' && o.long !== '--registry-port');
      expect(odd.map((o) => o.long), `onex ${path}`).toEqual([]);
    }
  });

  it('a flag wins over SCHEMA_REGISTRY_URL', () => {
    expect(registryOf({}, { SCHEMA_REGISTRY_URL: 'http://env:8081' })).toBe('http://env:8081');
    expect(registryOf({ registry: 'http://flag:8081' }, { SCHEMA_REGISTRY_URL: 'http://env:8081' })).toBe('http://flag:8081');
    expect(registryOf({}, {})).toBeUndefined();
  });
});
