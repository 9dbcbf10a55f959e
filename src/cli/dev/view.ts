import { createLogUpdate } from 'log-update';
import pc from 'picocolors';

/** What `onex dev` shows, sampled once per tick. Counts are totals since start. */
/** What the dev view shows of the alert processor onex dev runs (the session fills it). */
export interface DevAlerts {
  rules: number;
  topic: string;
  transitions: Record<string, { pending: number; firing: number; resolved: number }>;
  firing: Array<{ rule: string; key: Record<string, string>; since: string }>;
}

export interface DevSnapshot {
  elapsedMs: number;
  produced: number;
  sampledOut: number;
  rejected: number;
  consumed: number;
  deadLettered: number;
  /** Consumed events by the schema version they were written in. */
  byVersion: Record<string, number>;
  lag: number;
  brokers: string;
  registryUrl: string;
  metricsUrl: string;
  /** null when the session runs no alert rules. */
  alerts: DevAlerts | null;
}

export interface Rates {
  producedPerSec: number;
  consumedPerSec: number;
}

/** Events per second between two snapshots. */
export function ratesBetween(prev: DevSnapshot | undefined, next: DevSnapshot): Rates {
  const dt = prev ? (next.elapsedMs - prev.elapsedMs) / 1000 : next.elapsedMs / 1000;
  if (dt <= 0) return { producedPerSec: 0, consumedPerSec: 0 };
  return {
    producedPerSec: (next.produced - (prev?.produced ?? 0)) / dt,
    consumedPerSec: (next.consumed - (prev?.consumed ?? 0)) / dt,
  };
}

const num = (n: number) => Math.round(n).toLocaleString('en-US');

function versionLine(byVersion: Record<string, number>): string {
  const total = Object.values(byVersion).reduce((a, b) => a + b, 0);
  const parts = Object.keys(byVersion)
    .sort()
    .map((v) => `${v} ${num(byVersion[v]!)}${total ? ` (${Math.round((100 * byVersion[v]!) / total)}%)` : ''}`);
  return parts.length ? parts.join('  ') : 'none yet';
}

/** `firing 2: operation-error-rate, deprecated-schema{node_id=stamper_node-001} +5 more`, or `none firing`. */
export function alertsLine(a: DevAlerts | null, max = 4): string {
  if (!a) return 'off';
  const keyText = (k: Record<string, string>) => (Object.keys(k).length ? `{${Object.entries(k).map(([n, v]) => `${n}=${v}`).join(',')}}` : '');
  const shown = a.firing.slice(0, max).map((f) => `${f.rule}${keyText(f.key)}`);
  const more = a.firing.length > max ? ` +${a.firing.length - max} more` : '';
  return a.firing.length ? `firing ${a.firing.length}: ${shown.join(', ')}${more}` : `none firing (${a.rules} rules)`;
}

/** The multi-line frame for a terminal. */
export function renderFrame(s: DevSnapshot, r: Rates, color = true): string {
  const c = color ? pc : { bold: (x: string) => x, dim: (x: string) => x, green: (x: string) => x, yellow: (x: string) => x, red: (x: string) => x, cyan: (x: string) => x };
  const dl = s.deadLettered > 0 ? c.yellow(num(s.deadLettered)) : num(s.deadLettered);
  return [
    `${c.bold('onex dev')} ${c.dim(`${(s.elapsedMs / 1000).toFixed(0)} s — Ctrl-C stops everything in order`)}`,
    `  produced   ${c.green(num(s.produced).padStart(10))}  ${num(r.producedPerSec).padStart(8)} ev/s   sampled out ${num(s.sampledOut)}   rejected ${num(s.rejected)}`,
    `  consumed   ${c.green(num(s.consumed).padStart(10))}  ${num(r.consumedPerSec).padStart(8)} ev/s   dead letters ${dl}   lag ${num(s.lag)}`,
    `  versions   ${versionLine(s.byVersion)}`,
    `  alerts     ${s.alerts?.firing.length ? c.red(alertsLine(s.alerts)) : alertsLine(s.alerts)}`,
    `  ${c.dim(`kafka ${s.brokers}   registry ${s.registryUrl}   metrics ${s.metricsUrl}`)}`,
  ].join('\n');
}

/** One plain line for logs and pipes. */
export function renderLine(s: DevSnapshot, r: Rates): string {
  return (
    `[${(s.elapsedMs / 1000).toFixed(0)}s] produced=${s.produced} (${Math.round(r.producedPerSec)}/s) sampled_out=${s.sampledOut} ` +
    `rejected=${s.rejected} consumed=${s.consumed} (${Math.round(r.consumedPerSec)}/s) dead_letters=${s.deadLettered} lag=${s.lag} ` +
    `versions=${Object.keys(s.byVersion)
      .sort()
      .map((v) => `${v}:${s.byVersion[v]}`)
      .join(',')} alerts_firing=${s.alerts ? s.alerts.firing.length : 'off'}`
  );
}

export interface DevView {
  update(snapshot: DevSnapshot): void;
  /** Leaves the last frame on screen. */
  done(): void;
}

/**
 * A live frame redrawn in place when `out` is a terminal; otherwise one plain line every `plainEveryMs`, so a log or
 * a CI job gets a readable trace instead of escape codes.
 */
export function createDevView(out: NodeJS.WriteStream = process.stderr, plainEveryMs = 5_000): DevView {
  let prev: DevSnapshot | undefined;
  let lastPlain = -Infinity;
  if (out.isTTY) {
    const draw = createLogUpdate(out);
    return {
      update(s) {
        draw(renderFrame(s, ratesBetween(prev, s)));
        prev = s;
      },
      done() {
        draw.done();
      },
    };
  }
  let lastPlainSnapshot: DevSnapshot | undefined;
  return {
    update(s) {
      if (s.elapsedMs - lastPlain >= plainEveryMs) {
        out.write(`${renderLine(s, ratesBetween(lastPlainSnapshot, s))}\n`);
        lastPlain = s.elapsedMs;
        lastPlainSnapshot = s;
      }
      prev = s;
    },
    done() {},
  };
}
