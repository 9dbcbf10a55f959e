import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, freePort } from '../../src/dev/index.js';
import { goModuleVersionOf } from './go-tool.js';

/**
 * Jaeger v2 all-in-one (an OpenTelemetry Collector distribution with Jaeger's storage and query extensions) as a
 * real trace backend for the end-to-end tracing test. Nothing is downloaded per run: the binary is built once per
 * machine from the Go module proxy into the onex cache (ONEX_CACHE_DIR, else ~/.cache/onex-events):
 *
 *   <cache>/jaeger/go.mod   a module whose only job is `tool github.com/jaegertracing/jaeger/cmd/jaeger` at JAEGER_VERSION
 *   <cache>/bin/jaeger      the built binary
 *
 * The cache is keyed by version through the binary's own Go build info (the `mod github.com/jaegertracing/jaeger
 * vX.Y.Z` line every Go binary carries, read without needing Go): a binary of another version is rebuilt. A cold
 * build downloads about 1.3 GB of modules and takes about 5 minutes on two cores; `npm run setup:jaeger` does it
 * ahead of the tests.
 *
 * Started, it listens on 127.0.0.1 only, with a config of its own rather than the embedded all-in-one one: that one
 * binds a dozen fixed ports (Jaeger/Zipkin receivers, sampling, metrics, zpages), which collide when two runs share
 * a machine. Here OTLP/HTTP (4318 by convention) and the query API (16686 by convention) take free ports unless
 * asked for those, traces are kept in memory, and the batch processor flushes every 200 ms so a test reads its spans
 * promptly.
 */

export const JAEGER_VERSION = 'v1.76.0';
const MODULE = 'github.com/jaegertracing/jaeger';

export function jaegerBinaryPath(): string {
  return join(cacheDir(), 'bin', 'jaeger');
}

/** The jaeger module version a Go binary was built from, from its embedded build info; undefined when absent. */
export function jaegerVersionOf(binary: string): string | undefined {
  return goModuleVersionOf(binary, MODULE);
}

/**
 * The path of a Jaeger binary of `version`: the cached one when its build info says so, else built now with the Go
 * toolchain (`go get -tool` pins the version in the cache's module, `go build` writes the binary). Throws with what
 * to install when Go is missing.
 */
export function ensureJaegerBinary(version = JAEGER_VERSION, say: (line: string) => void = () => undefined): string {
  const binary = jaegerBinaryPath();
  const found = jaegerVersionOf(binary);
  if (found === version) return binary;
  say(found ? `cached jaeger is ${found}, building ${version}` : `no cached jaeger, building ${version} (cold: ~1.3 GB of Go modules, ~5 min)`);
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) throw new Error(`building Jaeger ${version} needs the Go toolchain (go 1.24 or newer on PATH), which was not found`);

  const moduleDir = join(cacheDir(), 'jaeger');
  mkdirSync(moduleDir, { recursive: true });
  mkdirSync(join(cacheDir(), 'bin'), { recursive: true });
  const run = (args: string[]) => {
    const r = spawnSync('go', args, { cwd: moduleDir, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, GOFLAGS: '-mod=mod' } });
    if (r.status !== 0) throw new Error(`go ${args.join(' ')} failed in ${moduleDir} (exit ${r.status})`);
  };
  if (!existsSync(join(moduleDir, 'go.mod'))) run(['mod', 'init', 'onex-events-jaeger-tool']);
  run(['get', '-tool', `${MODULE}/cmd/jaeger@${version}`]);
  // Built beside the target and renamed over it, so a concurrent run never starts a half-written binary.
  const partial = `${binary}.${process.pid}.partial`;
  try {
    run(['build', '-o', partial, `${MODULE}/cmd/jaeger`]);
    renameSync(partial, binary);
  } finally {
    rmSync(partial, { force: true });
  }
  const built = jaegerVersionOf(binary);
  if (built !== version) throw new Error(`built ${binary}, but its build info names jaeger ${built ?? 'no version'}, not ${version}`);
  return binary;
}

export interface JaegerInstance {
  /** OTLP/HTTP base URL, e.g. http://127.0.0.1:4318 (what --otlp-endpoint takes). */
  readonly otlpEndpoint: string;
  /** Query API base URL, e.g. http://127.0.0.1:16686. */
  readonly queryUrl: string;
  /** GET on the query API, JSON; throws on a non-2xx answer. */
  query<T = unknown>(path: string): Promise<T>;
  /** Jaeger's own log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface JaegerOptions {
  readonly otlpPort?: number;
  readonly queryPort?: number;
  readonly version?: string;
  readonly say?: (line: string) => void;
}

/** Starts Jaeger on 127.0.0.1 and resolves once its health check answers and the query API serves. */
export async function startJaeger(options: JaegerOptions = {}): Promise<JaegerInstance> {
  const binary = ensureJaegerBinary(options.version, options.say);
  const otlpPort = options.otlpPort ?? (await freePort());
  const queryPort = options.queryPort ?? (await freePort());
  const grpcPort = await freePort();
  const healthPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'onex-jaeger-'));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, configYaml({ otlpPort, queryPort, grpcPort, healthPort }));
  const logFile = join(dir, 'jaeger.log');
  const fd = openSync(logFile, 'w');
  const child: ChildProcess = spawn(binary, ['--config', `file:${config}`], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`jaeger exited (${exited}) before it was ready:\n${log().slice(-2000)}`);
    const ok = await fetch(`http://127.0.0.1:${healthPort}/status`).then((r) => r.ok, () => false);
    if (ok && (await fetch(`http://127.0.0.1:${queryPort}/api/services`).then((r) => r.ok, () => false))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`jaeger did not become healthy within 30 s:\n${log().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  const queryUrl = `http://127.0.0.1:${queryPort}`;
  return {
    otlpEndpoint: `http://127.0.0.1:${otlpPort}`,
    queryUrl,
    async query<T>(path: string): Promise<T> {
      const res = await fetch(`${queryUrl}${path}`);
      if (!res.ok) throw new Error(`GET ${queryUrl}${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    log,
    async stop() {
      if (exited === undefined) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function configYaml(p: { otlpPort: number; queryPort: number; grpcPort: number; healthPort: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${p.healthPort}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${p.queryPort}
    grpc:
      endpoint: 127.0.0.1:${p.grpcPort}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${p.otlpPort}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}
