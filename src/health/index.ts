import type { FastifyInstance } from 'fastify';
import { flags as defaultFlags, type FlagSet } from '../flags/index.js';
import type { CheckResult, HealthCheck, Readiness } from './types.js';

/**
 * Liveness and readiness of a long-running process, in the Kubernetes sense.
 *
 * - `/healthz` (alive): the process answers HTTP. It never asks Kafka: a broker outage must not make an orchestrator
 *   restart every worker at once, it only takes them out of service (readiness).
 * - `/readyz` (ready): every check passes: connected to Kafka (and the schema registry where the process needs one),
 *   partitions assigned, state restored, and not draining. 200 with the checks as JSON when ready, 503 otherwise.
 *
 * A process builds one Health, adds the checks of its parts (a worker's `readiness()`, a processor's, a registry
 * probe) and serves it with `addHealthRoutes` on its HTTP server, beside /metrics. `drain()` (on SIGTERM) turns
 * readiness false for good while the process finishes what it holds.
 */

export type { CheckResult, HealthCheck, Readiness } from './types.js';

/** A check that takes longer than this counts as failed: a probe must answer within its own timeout. */
const CHECK_TIMEOUT_MS = 2_000;

export interface HealthOptions {
  /** Flag `onex.health.checks` off: readiness is only "not draining". Default: the process's flags. */
  flagSet?: FlagSet;
}

export class Health {
  private readonly checks = new Map<string, HealthCheck>();
  private drainingSince: number | undefined;
  private readonly flagSet: FlagSet;

  constructor(options: HealthOptions = {}) {
    this.flagSet = options.flagSet ?? defaultFlags;
  }

  /** Adds (or replaces) a named readiness check. */
  add(name: string, check: HealthCheck): this {
    this.checks.set(name, check);
    return this;
  }

  /** Adds every check of a source that reports several at once (a worker's or processor's `readiness()`). */
  addAll(prefix: string, source: () => Record<string, CheckResult>): this {
    return this.add(prefix, () => combineChecks(source()));
  }

  /** From now on the process is not ready (it is shutting down); liveness is unchanged. */
  drain(): void {
    this.drainingSince ??= Date.now();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  async readiness(): Promise<Readiness> {
    const checks: Record<string, CheckResult> = {};
    const enabled = this.flagSet.isEnabled('onex.health.checks', true);
    await Promise.all(
      [...this.checks].filter(() => enabled).map(async ([name, check]) => {
        checks[name] = await runCheck(check);
      }),
    );
    if (this.draining) checks.draining = { ok: false, detail: 'shutting down' };
    return { ready: Object.values(checks).every((c) => c.ok), draining: this.draining, checks };
  }
}

/** One result from several: ok when all are; the detail names the failing ones (or, when ok, what each saw). */
export function combineChecks(all: Record<string, CheckResult>): CheckResult {
  const failed = Object.entries(all).filter(([, r]) => !r.ok);
  if (failed.length === 0) return { ok: true, detail: Object.entries(all).map(([k, r]) => (r.detail ? `${k}: ${r.detail}` : k)).join('; ') };
  return { ok: false, detail: failed.map(([k, r]) => `${k}: ${r.detail ?? 'not ready'}`).join('; ') };
}

async function runCheck(check: HealthCheck): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<CheckResult>((r) => {
      timer = setTimeout(() => r({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }), CHECK_TIMEOUT_MS);
      timer.unref();
    });
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** GET /healthz (200 while the process answers) and GET /readyz (200 ready / 503 not, with the checks) on `app`. */
export function addHealthRoutes(app: FastifyInstance, health: Health): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await health.readiness();
    reply.code(r.ready ? 200 : 503);
    return { status: r.ready ? 'ready' : 'not ready', ...r };
  });
}

export interface CachedProbeOptions {
  /** A result is reused for this long, so probes from several sources do not each call out. Default 5000. */
  ttlMs?: number;
}

/** Wraps an outbound probe (the schema registry over HTTP) so it runs at most once per ttl and never overlaps. */
export function cachedCheck(probe: () => Promise<CheckResult>, options: CachedProbeOptions = {}): HealthCheck {
  const ttl = options.ttlMs ?? 5_000;
  let last: { at: number; result: CheckResult } | undefined;
  let inFlight: Promise<CheckResult> | undefined;
  return () => {
    if (last && Date.now() - last.at < ttl) return last.result;
    inFlight ??= probe()
      .catch((e: unknown) => ({ ok: false, detail: (e as Error).message }))
      .then((result) => {
        last = { at: Date.now(), result };
        inFlight = undefined;
        return result;
      });
    return inFlight;
  };
}

export interface RegistryProbeTarget {
  url: string;
  auth?: { username: string; password: string };
}

/** Ready when the schema registry answers GET /subjects with 200 (any registry speaking the Confluent API). */
export function registryCheck(target: RegistryProbeTarget, options: CachedProbeOptions = {}): HealthCheck {
  const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json' };
  if (target.auth) headers.authorization = `Basic ${Buffer.from(`${target.auth.username}:${target.auth.password}`).toString('base64')}`;
  const url = `${target.url.replace(/\/+$/, '')}/subjects`;
  return cachedCheck(async () => {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok ? { ok: true, detail: target.url } : { ok: false, detail: `${target.url} answered ${res.status}` };
  }, options);
}
