import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { FLAG_DEFINITIONS } from '../../../src/flags/definitions.js';
import { loadHandlerModule } from '../../../src/worker/handlers.js';
import { resolveWorkerOptions } from '../../../src/worker/options.js';
import { onexArgsProblems } from '../../support/cli-args.js';
import { exportedSeriesNames } from '../../support/exported-metrics.js';
import { ensureKubernetesValidate, ensureKustomize, KUBERNETES_VERSION, kubernetesValidate, kustomizeBuild } from '../../support/k8s.js';

// deploy/k8s rendered by the real kustomize and validated offline by kubernetes-validate against the Kubernetes
// schemas (no cluster here), then read for what the schemas cannot know: that probes, ports, flags, secrets and
// autoscaling agree with the code. Both tools are installed by the unit project's global setup (test/support/k8s.ts).

const K8S = fileURLToPath(new URL('../../../deploy/k8s/', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const RENDERED = ['base', 'overlays/example', 'overlays/example-hpa'] as const;

// The rendered objects are walked loosely: the schema check above guarantees their shape.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = Record<string, any>;
interface Container { name: string; image: string; args?: string[]; ports?: { name: string; containerPort: number }[]; env?: Obj[]; envFrom?: Obj[]; resources?: Obj; livenessProbe?: Obj; readinessProbe?: Obj; startupProbe?: Obj; securityContext?: Obj; volumeMounts?: Obj[] }

const render = (dir: string) => parseAllDocuments(kustomizeBuild(`${K8S}${dir}`)).map((d) => d.toJS() as Obj);
const ofKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const byName = (objs: Obj[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);
const containers = (objs: Obj[]): [Obj, Container][] => ofKind(objs, 'Deployment').flatMap((d) => (d.spec.template.spec.containers as Container[]).map((c) => [d, c] as [Obj, Container]));
/** The value after `flag` in an argument list. */
const argValue = (args: string[] | undefined, flag: string) => (args && args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
/** The literal environment a container gets from its ConfigMaps and plain env entries. */
function plainEnv(objs: Obj[], c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) Object.assign(env, byName(objs, 'ConfigMap', from.configMapRef.name)?.data ?? {});
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

describe('deploy/k8s', () => {
  const out: Record<string, Obj[]> = {};
  beforeAll(async () => {
    ensureKustomize();
    await ensureKubernetesValidate();
    for (const dir of RENDERED) out[dir] = render(dir);
  });

  it.each(RENDERED)(`%s renders and validates against the Kubernetes ${KUBERNETES_VERSION} schemas (strict: no unknown field)`, (dir) => {
    const objs = out[dir]!;
    const r = kubernetesValidate(objs.map((o) => stringify(o)).join('---\n'));
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toMatch(/^ERROR/m);
    // Every object of a built-in kind was checked against its schema; only KEDA's custom resource has none there
    // (it is checked by hand below).
    for (const o of objs) {
      const line = new RegExp(`passed for resource ${o.kind.toLowerCase()}/${o.metadata.name} `);
      if (o.apiVersion === 'keda.sh/v1alpha1') expect(r.out).toMatch(new RegExp(`Couldn't find schema for kind ${o.kind}`));
      else expect(r.out, `${o.kind}/${o.metadata.name}`).toMatch(line);
    }
  });

  it('the validator rejects what the schemas forbid (so the check above can fail)', () => {
    const objs = structuredClone(out.base!);
    const worker = byName(objs, 'Deployment', 'onex-worker')!;
    worker.spec.template.spec.containers[0].livenessProbe.httpGet.paht = '/healthz';
    const r = kubernetesValidate(objs.map((o) => stringify(o)).join('---\n'));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/paht/);
  });

  it('runs a worker Deployment, the registry Deployment + Service and the alert processor in every rendering', () => {
    for (const dir of RENDERED) {
      const objs = out[dir]!;
      expect(byName(objs, 'Deployment', 'onex-worker'), dir).toBeDefined();
      expect(byName(objs, 'PodDisruptionBudget', 'onex-worker'), dir).toBeDefined();
      expect(byName(objs, 'Deployment', 'onex-registry'), dir).toBeDefined();
      expect(byName(objs, 'Service', 'onex-registry')?.spec.ports[0].port, dir).toBe(8081);
      expect(byName(objs, 'Deployment', 'onex-alerts'), dir).toBeDefined();
    }
    expect(byName(out['overlays/example']!, 'Deployment', 'onex-worker')!.metadata.namespace).toBe('onex');
  });

  it.each(RENDERED)('%s: every container command is one the onex CLI accepts', (dir) => {
    const objs = out[dir]!;
    for (const [d, c] of containers(objs)) {
      expect(c.image, d.metadata.name).toMatch(/(^|\/)onex-events:\d+\.\d+\.\d+$/);
      expect(onexArgsProblems(c.args ?? [], plainEnv(objs, c)), d.metadata.name).toEqual([]);
    }
  });

  it('pins the image to the package version', () => {
    const version = (JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as { version: string }).version;
    for (const [d, c] of containers(out.base!)) expect(c.image, d.metadata.name).toBe(`onex-events:${version}`);
  });

  it('probes /healthz (liveness, startup) and /readyz (readiness) on the port the process serves them', () => {
    for (const [d, c] of containers(out.base!)) {
      expect(c.ports?.length, `${d.metadata.name} serves no health port`).toBeGreaterThan(0);
      const port = c.ports![0]!;
      const served = c.args?.[0] === 'registry' ? argValue(c.args, '--port') : argValue(c.args, '--metrics-port');
      expect(String(port.containerPort), d.metadata.name).toBe(served);
      expect(c.livenessProbe?.httpGet, d.metadata.name).toEqual({ path: '/healthz', port: port.name });
      expect(c.startupProbe?.httpGet, d.metadata.name).toEqual({ path: '/healthz', port: port.name });
      expect(c.readinessProbe?.httpGet, d.metadata.name).toEqual({ path: '/readyz', port: port.name });
      expect(d.spec.template.metadata.annotations['prometheus.io/port'], d.metadata.name).toBe(served);
    }
    // The metrics server listens on every interface, or the kubelet's probes (to the pod IP) could not reach it.
    for (const [d, c] of containers(out.base!)) {
      if (argValue(c.args, '--metrics-port')) expect(plainEnv(out.base!, c).ONEX_METRICS_HOST, d.metadata.name).toBe('0.0.0.0');
    }
    expect(argValue(byName(out.base!, 'Deployment', 'onex-registry')!.spec.template.spec.containers[0].args, '--host')).toBe('0.0.0.0');
  });

  it('gives a worker longer than its shutdown timeout to drain before SIGKILL', () => {
    const worker = byName(out.base!, 'Deployment', 'onex-worker')!;
    const c = worker.spec.template.spec.containers[0] as Container;
    const shutdownMs = resolveWorkerOptions({ groupId: argValue(c.args, '--group')!, topics: [argValue(c.args, '--topic')!], handlers: { '*': () => undefined }, kafka: { brokers: ['kafka:9092'] }, registry: 'http://onex-registry:8081' } as never).shutdownTimeoutMs;
    expect(worker.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs + 10_000);
    expect(worker.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    // The registry answers /readyz 503 for --shutdown-delay before it closes: the grace period covers that too.
    const registry = byName(out.base!, 'Deployment', 'onex-registry')!;
    const delayMs = Number(argValue(registry.spec.template.spec.containers[0].args, '--shutdown-delay'));
    expect(delayMs).toBeGreaterThan(0);
    expect(registry.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(delayMs + 10_000);
  });

  it('sets requests and a memory limit on every container, and runs it as non-root with a read-only root', () => {
    for (const [d, c] of containers(out.base!)) {
      expect(c.resources?.requests?.cpu, d.metadata.name).toBeDefined();
      expect(c.resources?.requests?.memory, d.metadata.name).toBeDefined();
      expect(c.resources?.limits?.memory, d.metadata.name).toBeDefined();
      expect(d.spec.template.spec.securityContext.runAsNonRoot, d.metadata.name).toBe(true);
      expect(c.securityContext?.readOnlyRootFilesystem, d.metadata.name).toBe(true);
    }
  });

  it('references Secrets and embeds none: every credential comes from a secretKeyRef', () => {
    for (const dir of RENDERED) {
      const objs = out[dir]!;
      expect(ofKind(objs, 'Secret'), dir).toEqual([]);
      for (const [d, c] of containers(objs)) {
        for (const e of c.env ?? []) {
          if (/PASSWORD|USER_INFO|USERS|KEYRING|TOKEN|SECRET|SASL_USERNAME/.test(e.name)) expect(e.valueFrom?.secretKeyRef?.name, `${d.metadata.name} ${e.name}`).toBeDefined();
        }
        for (const key of Object.keys(plainEnv(objs, c))) expect(key, `${d.metadata.name}: a credential in a ConfigMap`).not.toMatch(/PASSWORD|USER_INFO|USERS|KEYRING|TOKEN|SECRET/);
      }
    }
  });

  it('mounts the flags file the processes read, naming only flags the code defines', () => {
    const objs = out.base!;
    const flagsMap = byName(objs, 'ConfigMap', 'onex-flags')!;
    const file = JSON.parse(flagsMap.data['flags.json']) as Record<string, unknown>;
    const known = new Set(FLAG_DEFINITIONS.map((f) => f.key));
    for (const key of Object.keys(file)) expect(known.has(key as never), key).toBe(true);
    for (const [d, c] of containers(objs)) {
      const path = plainEnv(objs, c).ONEX_FLAGS_FILE!;
      const mount = c.volumeMounts!.find((m) => path.startsWith(`${m.mountPath}/`))!;
      expect(mount, d.metadata.name).toBeDefined();
      const volume = d.spec.template.spec.volumes.find((v: Obj) => v.name === mount.name);
      // Mounted as a directory, without subPath: a ConfigMap edit then reaches the watched file.
      expect(volume.configMap.name, d.metadata.name).toBe('onex-flags');
      expect(mount.subPath, d.metadata.name).toBeUndefined();
      expect(path.slice(mount.mountPath.length + 1), d.metadata.name).toBe('flags.json');
    }
  });

  it('ships alert rules that `onex alerts check` accepts and a handler module the worker loads', async () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', `${REPO}src/cli/main.ts`, 'alerts', 'check', `${K8S}base/alert-rules.yaml`], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const alerts = byName(out.base!, 'Deployment', 'onex-alerts')!;
    expect(argValue(alerts.spec.template.spec.containers[0].args, '--rules')).toBe('/etc/onex/rules/alert-rules.yaml');
    const mod = await loadHandlerModule(`${K8S}base/handlers.mjs`);
    expect(typeof mod.handlers['*']).toBe('function');
  });

  it('scales workers on consumer lag with KEDA (example) or a plain HPA (example-hpa), never past the partitions', async () => {
    const exported = await exportedSeriesNames();
    for (const dir of ['overlays/example', 'overlays/example-hpa'] as const) {
      const objs = out[dir]!;
      const worker = byName(objs, 'Deployment', 'onex-worker')!;
      const partitions = Number(worker.metadata.annotations['onex-events/topic-partitions']);
      expect(partitions).toBeGreaterThan(0);
      const args = worker.spec.template.spec.containers[0].args as string[];
      const scaled = ofKind(objs, 'ScaledObject');
      const hpas = ofKind(objs, 'HorizontalPodAutoscaler');
      expect(scaled.length + hpas.length, `${dir}: exactly one autoscaler`).toBe(1);
      for (const so of scaled) {
        expect(so.spec.scaleTargetRef.name).toBe(worker.metadata.name);
        expect(so.spec.maxReplicaCount).toBeLessThanOrEqual(partitions);
        const t = so.spec.triggers[0].metadata;
        expect(so.spec.triggers[0].type).toBe('kafka');
        expect(t.consumerGroup).toBe(argValue(args, '--group'));
        expect(t.topic).toBe(argValue(args, '--topic'));
        expect(t.allowIdleConsumers).toBe('false');
        expect(Number(t.lagThreshold)).toBeGreaterThan(0);
        // KEDA reads the lag from the same brokers the workers consume from.
        expect(t.bootstrapServers).toBe(plainEnv(objs, worker.spec.template.spec.containers[0]).KAFKA_BROKERS);
      }
      for (const hpa of hpas) {
        expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: worker.metadata.name });
        expect(hpa.spec.maxReplicas).toBeLessThanOrEqual(partitions);
        const metric = hpa.spec.metrics[0].external.metric;
        expect(exported.has(metric.name), metric.name).toBe(true);
        expect(metric.selector.matchLabels.topic).toBe(argValue(args, '--topic'));
      }
    }
  });
});
