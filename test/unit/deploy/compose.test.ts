import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { onexArgsProblems } from '../../support/cli-args.js';
import { KAFKA_IMAGE } from '../../support/kafka-container.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  ports?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  healthcheck?: { test: string[] | string; interval?: string; retries?: number };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
}

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const text = readFileSync(join(REPO, 'docker-compose.yml'), 'utf8');
// `merge: true` resolves the `<<: *onex` anchors the file uses, as Compose does.
const compose = parse(text, { merge: true }) as { services: Record<string, Service> };
const services = Object.entries(compose.services);
const onexServices = services.filter(([, s]) => s.image?.startsWith('onex-events:'));
const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const argValue = (args: string[] | undefined, flag: string) => (args && args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);

/** The Compose Specification JSON schema bundled by dclint (pinned in package.json), compiled once. */
function composeSchemaValidator() {
  const require = createRequire(import.meta.url);
  const schemaPath = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // Draft-07 (Ajv's default dialect), named with an https URL Ajv does not know as an alias of its meta-schema.
  expect(schema.$schema).toMatch(/json-schema\.org\/draft-07\/schema/);
  delete schema.$schema;
  return new Ajv({ allErrors: true, strict: false }).compile(schema);
}

// No Docker engine runs here, so this checks the file's meaning: its shape against the Compose Specification schema,
// the services, ports and health checks it declares, and that every onex command in it is one the CLI accepts.
describe('docker-compose.yml', () => {
  const kafka = compose.services.kafka!;

  it('is valid against the Compose Specification schema, which rejects a broken copy', () => {
    const validate = composeSchemaValidator();
    expect(validate(parse(text, { merge: true })), JSON.stringify(validate.errors)).toBe(true);
    const broken = parse(text, { merge: true }) as { services: Record<string, Record<string, unknown>> };
    broken.services.worker!.depends_on = { registry: { condition: 'service_happy' } };
    broken.services.registry!.healthcheck = { tests: ['CMD', 'true'] };
    expect(validate(broken)).toBe(false);
    expect(JSON.stringify(validate.errors)).toMatch(/service_happy|allowedValues|enum/);
  });

  it('passes dclint with no error (its style warnings are allowed)', () => {
    const bin = join(REPO, 'node_modules', '.bin', 'dclint');
    // Without colours: with CI=true set (as CI sets it) dclint colours its summary, and the codes split `(0 errors,`.
    const env = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
    const r = spawnSync(bin, [join(REPO, 'docker-compose.yml')], { encoding: 'utf8', timeout: 30_000, env });
    expect(r.error).toBeUndefined();
    expect(r.stdout, r.stdout).toMatch(/\(0 errors?,/);
    expect(r.status, r.stdout).toBe(0);
  });

  it('runs the Apache Kafka the pom pins for `onex kafka start`, the same image the tests run in Docker', () => {
    const pom = readFileSync(join(REPO, 'deploy/local-kafka/pom.xml'), 'utf8');
    const pinned = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
    expect(pinned).toMatch(/^4\.\d+\.\d+$/);
    expect(kafka.image).toBe(`apache/kafka:${pinned}`);
    expect(compose.services['kafka-init']!.image).toBe(`apache/kafka:${pinned}`);
    expect(KAFKA_IMAGE).toBe(`apache/kafka:${pinned}`);
  });

  it('runs the official Apache Kafka image in KRaft mode as one node', () => {
    const env = kafka.environment!;
    expect(String(env.KAFKA_PROCESS_ROLES).split(',').sort()).toEqual(['broker', 'controller']);
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`${env.KAFKA_NODE_ID}@kafka:9093`);
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe(1);
    expect(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe(1);
  });

  it('publishes 9092 to the host and advertises an address each side can reach', () => {
    expect(kafka.ports).toContain('127.0.0.1:9092:9092');
    const env = kafka.environment!;
    const listeners = String(env.KAFKA_LISTENERS).split(',');
    const advertised = String(env.KAFKA_ADVERTISED_LISTENERS).split(',');
    expect(advertised).toContain('PLAINTEXT_HOST://localhost:9092');
    expect(advertised).toContain('PLAINTEXT://kafka:19092');
    // Every advertised listener is also a listener, with a protocol in the map.
    const map = Object.fromEntries(String(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP).split(',').map((kv) => kv.split(':')));
    for (const a of advertised) {
      const name = a.split('://')[0]!;
      expect(listeners.some((l) => l.startsWith(`${name}://`))).toBe(true);
      expect(map[name]).toBeDefined();
    }
  });

  it('declares a health check that asks the broker itself', () => {
    const hc = kafka.healthcheck!;
    const test = Array.isArray(hc.test) ? hc.test.join(' ') : hc.test;
    expect(test).toContain('kafka-broker-api-versions.sh --bootstrap-server kafka:19092');
    expect(hc.retries).toBeGreaterThan(0);
  });

  it('has the whole stack: broker, registry, worker, alert processor, demo producer, Prometheus, Grafana, Jaeger', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['alert-processor', 'demo-producer', 'grafana', 'jaeger', 'kafka', 'kafka-init', 'prometheus', 'registry', 'worker'].sort(),
    );
    expect(onexServices.map(([n]) => n).sort()).toEqual(['alert-processor', 'demo-producer', 'registry', 'worker']);
  });

  it('pins every image to a version, and builds the onex services from deploy/Dockerfile at the package version', () => {
    for (const [name, s] of services) expect(s.image, name).toMatch(/^[a-z0-9./-]+:v?\d+\.\d+\.\d+$/);
    for (const [name, s] of onexServices) {
      expect(s.image, name).toBe(`onex-events:${version}`);
      expect(s.build, name).toEqual({ context: '.', dockerfile: 'deploy/Dockerfile' });
    }
    expect(existsSync(join(REPO, 'deploy/Dockerfile'))).toBe(true);
  });

  it('gives every onex service a command the onex CLI accepts, with the brokers and registry of the compose network', () => {
    for (const [name, s] of onexServices) {
      const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
      expect(onexArgsProblems(s.command ?? [], env), name).toEqual([]);
      expect(env.KAFKA_BROKERS, name).toBe('kafka:19092');
      expect(env.SCHEMA_REGISTRY_URL, name).toBe(`http://registry:${argValue(compose.services.registry!.command, '--port')}`);
    }
    expect(argValue(compose.services.worker!.command, '--otlp-endpoint')).toBe('http://jaeger:4318');
    expect(compose.services.jaeger!.ports).toContain('127.0.0.1:4318:4318');
  });

  it('health-checks every onex service that serves HTTP on the port it serves, with the image\'s own script', () => {
    for (const [name, s] of onexServices) {
      const port = argValue(s.command, s.command?.[0] === 'registry' ? '--port' : '--metrics-port');
      if (!port) continue;
      // The worker's and the registry's ports are published to the host; the processor's and the demo producer's are
      // scraped in the network.
      if (name !== 'alert-processor' && name !== 'demo-producer') expect(s.ports, name).toContain(`127.0.0.1:${port}:${port}`);
      expect(s.healthcheck?.test, name).toEqual(['CMD', 'node', '/app/deploy/healthcheck.mjs', `http://127.0.0.1:${port}/healthz`]);
      // The metrics server must listen on the container's interface, or the published port reaches nothing.
      if (name !== 'registry') expect(s.environment?.ONEX_METRICS_HOST, name).toBe('0.0.0.0');
    }
    expect(argValue(compose.services.registry!.command, '--host')).toBe('0.0.0.0');
    for (const name of ['kafka', 'registry', 'worker', 'alert-processor', 'demo-producer', 'prometheus', 'grafana']) expect(compose.services[name]!.healthcheck, name).toBeDefined();
  });

  it('makes every dependant wait for a healthy (or, for one-shot jobs, completed) dependency', () => {
    for (const [name, svc] of services) {
      for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
        const target = compose.services[dep];
        expect(target, `${name} -> ${dep}`).toBeDefined();
        if (target!.healthcheck) expect(condition, `${name} -> ${dep}`).toBe('service_healthy');
        else if (dep === 'kafka-init') expect(condition, `${name} -> ${dep}`).toBe('service_completed_successfully');
        else expect(condition, `${name} -> ${dep}`).toBe('service_started');
      }
      if (name !== 'kafka' && name !== 'jaeger') expect(Object.keys(svc.depends_on ?? {}).length, name).toBeGreaterThan(0);
    }
  });

  it('gives a worker longer than its 30 s shutdown timeout to drain on `docker compose stop`', () => {
    for (const name of ['worker', 'alert-processor']) expect(Number.parseInt(compose.services[name]!.stop_grace_period!, 10), name).toBeGreaterThan(30);
  });

  it('mounts only files and directories that exist in the repository', () => {
    for (const [name, s] of services) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (!source.startsWith('./')) continue;
        expect(existsSync(join(REPO, source)), `${name}: ${source}`).toBe(true);
      }
    }
  });

  it('scrapes with Prometheus (deploy/prometheus/prometheus.yml, mounted with its rules) the ports the services serve', () => {
    const prom = compose.services.prometheus!;
    expect(prom.volumes).toContain('./deploy/prometheus:/etc/prometheus:ro');
    expect(prom.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    const config = parse(readFileSync(join(REPO, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    for (const f of config.rule_files) expect(existsSync(join(REPO, 'deploy/prometheus', f)), f).toBe(true);
    const served = new Map<string, string>();
    for (const [name, s] of onexServices) {
      const port = argValue(s.command, s.command?.[0] === 'registry' ? '--port' : '--metrics-port');
      if (port) served.set(`${name}:${port}`, name);
    }
    const targets = config.scrape_configs.flatMap((j) => j.static_configs.flatMap((c) => c.targets));
    for (const t of targets) expect(compose.services[t.split(':')[0]!], `${t}: no such service`).toBeDefined();
    // Every metrics port a service serves is scraped ...
    for (const t of served.keys()) expect(targets, t).toContain(t);
    // ... and every target is a port a process serves (an unserved one would keep OnexTargetDown firing).
    expect(targets.filter((t) => !served.has(t))).toEqual([]);
  });

  it('provisions Grafana with the compose Prometheus as its datasource and mounts the dashboards where the provider reads', () => {
    const grafana = join(REPO, 'deploy/grafana/provisioning');
    const ds = parse(readFileSync(join(grafana, 'datasources/prometheus.yml'), 'utf8')) as { datasources: { type: string; url: string }[] };
    expect(ds.datasources).toEqual([expect.objectContaining({ type: 'prometheus', url: `http://prometheus:${compose.services.prometheus!.ports![0]!.split(':').at(-1)}` })]);
    const providers = parse(readFileSync(join(grafana, 'dashboards/onex.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
    const volumes = compose.services.grafana!.volumes!;
    expect(volumes).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(volumes).toContain(`./deploy/grafana/dashboards:${providers.providers[0]!.options.path}:ro`);
  });
});

describe('deploy/healthcheck.mjs (the image\'s health check)', () => {
  const SCRIPT = join(REPO, 'deploy/healthcheck.mjs');
  const exitOf = (url: string) =>
    new Promise<number | null>((resolve) => spawn(process.execPath, [SCRIPT, url], { stdio: 'ignore' }).on('exit', (code) => resolve(code)));

  it('exits 0 on a 2xx answer and 1 on an error status or no answer', async () => {
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 503;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await exitOf(`http://127.0.0.1:${port}/healthz`)).toBe(0);
      expect(await exitOf(`http://127.0.0.1:${port}/readyz`)).toBe(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(await exitOf(`http://127.0.0.1:${port}/healthz`)).toBe(1);
  });
});
