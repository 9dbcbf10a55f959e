import { createRequire } from 'node:module';
import client, { type Registry } from 'prom-client';
import { logger } from '../logging/index.js';

/**
 * The one point where this folder's one-pass codecs (record-batch.ts for Produce, fetch-decoder.ts for Fetch) plug
 * into kafkajs: each kafkajs request module builds a request as `protocol({ version })(args)`, and a hook wraps what
 * that returns for the versions it speaks. docs/architecture.md ("The kafkajs seam") says why and the way out.
 *
 * The hooks rest on kafkajs internals, so nothing is installed on trust: the installed kafkajs must be the version
 * they were written against (KAFKAJS_SEAM_VERSION, which package.json pins exactly) and each request module must have
 * the shape the hook needs. When either check fails the hook is not installed, kafkajs does all the work, the reason
 * is logged once, and kafkajsSeam() and the onex_kafkajs_hook_installed gauge say so: a slower path is never silent.
 */

const require = createRequire(import.meta.url);

/** The kafkajs release the hooks were written against and tested with. */
export const KAFKAJS_SEAM_VERSION = '2.2.4';

export type SeamRequest = 'produce' | 'fetch';

export interface SeamStatus {
  readonly installed: boolean;
  /** Why the hook is not installed (undefined while installed or not asked for yet). */
  readonly reason: string | undefined;
  /** Requests (Produce) or responses (Fetch) the hook handled itself. */
  readonly fast: number;
  /** Ones it left to kafkajs because they were not for it (other clients' records or topics). */
  readonly leftToKafkajs: number;
  /** Ones it started and handed back to kafkajs: its encoder threw (Produce, logged), or the response held what its decoder does not read (Fetch). */
  readonly fallbacks: number;
}

type Protocol<Args, Built> = { versions: string[]; protocol(v: { version: number }): (args: Args) => Built };

interface MutableStatus {
  installed: boolean;
  reason: string | undefined;
  fast: number;
  leftToKafkajs: number;
  fallbacks: number;
}

const status = new Map<SeamRequest, MutableStatus>();
const log = logger('kafka');

function statusOf(request: SeamRequest): MutableStatus {
  let s = status.get(request);
  if (!s) status.set(request, (s = { installed: false, reason: undefined, fast: 0, leftToKafkajs: 0, fallbacks: 0 }));
  return s;
}

/** Counts one request or response of a hook: handled here, left to kafkajs, or handed back after a failure. */
export function countSeam(request: SeamRequest, path: 'fast' | 'leftToKafkajs' | 'fallbacks'): void {
  statusOf(request)[path]++;
}

/** What each hook did in this process: installed or why not, and how many requests took which path. */
export function kafkajsSeam(): Record<SeamRequest, SeamStatus> {
  return { produce: { ...statusOf('produce') }, fetch: { ...statusOf('fetch') } };
}

/**
 * Why a hook must not be installed, or undefined when it may: the kafkajs version differs from the one the hooks
 * were written against, or the request module lacks the shape the hook wraps (a `protocol` function, a `versions`
 * list naming a version the hook speaks). Pure, so the refusals are tested without a second kafkajs.
 */
export function seamRefusal(kafkajsVersion: string | undefined, module: unknown, speaks: (version: number) => boolean): string | undefined {
  if (kafkajsVersion !== KAFKAJS_SEAM_VERSION) {
    return `kafkajs ${kafkajsVersion ?? '(version unknown)'} is installed, the hooks were written against ${KAFKAJS_SEAM_VERSION}`;
  }
  const m = module as Partial<Protocol<unknown, unknown>> | undefined;
  if (!m || typeof m.protocol !== 'function') return 'the request module has no protocol() function';
  if (!Array.isArray(m.versions)) return 'the request module has no versions list';
  if (!m.versions.some((v) => speaks(Number(v)))) return `the request module speaks versions ${m.versions.join(', ')}, none of which the hook handles`;
  return undefined;
}

function installedKafkajsVersion(): string | undefined {
  try {
    return (require('kafkajs/package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Refuses a hook: remembered, logged once per request, visible in kafkajsSeam() and the gauge. */
export function refuseSeam(request: SeamRequest, reason: string): false {
  const s = statusOf(request);
  if (s.reason === undefined) {
    log.warn({ request, reason }, `the ${request} fast path is not installed (${reason}); kafkajs's own codec does this work, correctly but slower`);
  }
  s.installed = false;
  s.reason = reason;
  return false;
}

export function hookKafkajsRequest<Args, Built>(
  request: SeamRequest,
  speaks: (version: number) => boolean,
  hook: (built: Built, args: Args) => Built,
): boolean {
  const s = statusOf(request);
  if (s.installed) return true;
  if (s.reason !== undefined) return false;
  let module: unknown;
  try {
    module = require(`kafkajs/src/protocol/requests/${request}/index.js`);
  } catch (err) {
    return refuseSeam(request, `kafkajs/src/protocol/requests/${request} cannot be loaded: ${(err as Error).message}`);
  }
  const refusal = seamRefusal(installedKafkajsVersion(), module, speaks);
  if (refusal) return refuseSeam(request, refusal);
  const protocol = module as Protocol<Args, Built>;
  const original = protocol.protocol.bind(protocol);
  protocol.protocol = ({ version }) => {
    const build = original({ version });
    return speaks(version) ? (args) => hook(build(args), args) : build;
  };
  s.installed = true;
  return true;
}

/**
 * The seam's metrics in a registry: onex_kafkajs_hook_installed{request} (1 or 0) and
 * onex_kafkajs_hook_requests_total{request,path} (fast, left_to_kafkajs, fallback), read from kafkajsSeam() at
 * scrape time. Idempotent per registry.
 */
export function registerSeamMetrics(registry: Registry = client.register): void {
  if (registry.getSingleMetric('onex_kafkajs_hook_installed')) return;
  new client.Gauge({
    name: 'onex_kafkajs_hook_installed',
    help: 'Whether the fast codec hook of a kafkajs request is installed (0: kafkajs does the work, slower; the log says why)',
    labelNames: ['request'],
    registers: [registry],
    collect() {
      for (const [request, s] of Object.entries(kafkajsSeam())) this.set({ request }, s.installed ? 1 : 0);
    },
  });
  new client.Counter({
    name: 'onex_kafkajs_hook_requests_total',
    help: 'Requests (produce) or responses (fetch) by the path they took: fast (our codec), left_to_kafkajs, fallback (our codec failed)',
    labelNames: ['request', 'path'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [request, s] of Object.entries(kafkajsSeam())) {
        this.inc({ request, path: 'fast' }, s.fast);
        this.inc({ request, path: 'left_to_kafkajs' }, s.leftToKafkajs);
        this.inc({ request, path: 'fallback' }, s.fallbacks);
      }
    },
  });
}
