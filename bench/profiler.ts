/**
 * What the profiler costs per measured call, beside the bare call in the same run: a trivial synchronous function
 * called N times directly, through profile() with no profiler started, and through a started profiler (every call
 * measured, CPU read on 1 in 16, the default). Best of 5 interleaved rounds each; the target is under 1 µs added per
 * measured call. No broker: the profile events go to a sink that drops them.
 *
 *   node --import tsx bench/profiler.ts   (BENCH_CALLS, default 2,000,000)
 */
import { performance } from 'node:perf_hooks';
import { profile, startProfiler } from '../src/telemetry/index.js';

const N = Number(process.env.BENCH_CALLS ?? 2_000_000);
let sink = 0;
const work = () => (sink = (sink + 1) | 0);

function time(run: () => void): number {
  const t = performance.now();
  run();
  return ((performance.now() - t) * 1000) / N;
}
const bare = () => time(() => { for (let i = 0; i < N; i++) work(); });
const noProfiler = () => time(() => { for (let i = 0; i < N; i++) profile('op', work); });
const best = { bare: Infinity, none: Infinity, on: Infinity, onEvery: Infinity };
for (let round = 0; round < 6; round++) {
  const b = bare();
  const n = noProfiler();
  const p = startProfiler({ emit: () => undefined, windowMs: 600_000 });
  const on = time(() => { for (let i = 0; i < N; i++) profile('op', work); });
  await p.close();
  const p1 = startProfiler({ emit: () => undefined, windowMs: 600_000, cpuSampleEvery: 1 });
  const onEvery = time(() => { for (let i = 0; i < N / 10; i++) profile('op', work); }) * 10;
  await p1.close();
  if (round === 0) continue; // warm-up
  best.bare = Math.min(best.bare, b);
  best.none = Math.min(best.none, n);
  best.on = Math.min(best.on, on);
  best.onEvery = Math.min(best.onEvery, onEvery);
}
const row = (name: string, us: number, target = '') => `| ${name} | ${us.toFixed(3)} | ${(us - best.bare).toFixed(3)} | ${target} |`;
process.stdout.write(
  [
    `${N.toLocaleString('en-US')} calls of a trivial function per round, best of 5 rounds; node ${process.version}${sink ? '' : ' '}`,
    '',
    '| call | µs/call | added µs/call | target |',
    '|---|---|---|---|',
    row('bare call (baseline)', best.bare),
    row('profile() with no profiler started', best.none),
    row('profile() measured (CPU on 1 in 16, the default)', best.on, best.on - best.bare < 1 ? '< 1 µs met' : '< 1 µs NOT met'),
    row('profile() measured, CPU on every call (cpuSampleEvery: 1)', best.onEvery),
    '',
  ].join('\n'),
);
