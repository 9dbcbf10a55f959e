import type { OnexEventType } from '../event/index.js';

/**
 * Flow-consistent sampling. Every flow (trace id, else correlation id) maps to one number u in [0, 1) by a fixed
 * hash, the same in every producer instance and every process; an event is kept when u < the rate of its type. So:
 * - a whole flow is kept or dropped together: its events share u;
 * - with different rates per type, a kept flow keeps every event whose type has a rate at least as high (the
 *   decisions nest, as in OpenTelemetry's trace-id ratio sampler), and nothing is kept for a flow it would not keep
 *   at the lowest rate involved;
 * - sampling the same flow twice (a relay behind a producer) keeps it with probability min(rate1, rate2), which is
 *   why the recorded sample_rate is the minimum of the two.
 * Events with an error code, or of a failure type, are always kept, and record the rate they had before (1 unless
 * someone sampled them earlier): they were not subject to sampling here.
 */

export interface SamplerConfig {
  readonly enabled: boolean;
  readonly defaultRate: number;
  readonly rates: Partial<Record<OnexEventType, number>>;
  readonly alwaysKeep: readonly OnexEventType[];
}

export type SampleDecision =
  | { readonly keep: true; readonly rate: number; readonly forced: boolean }
  | { readonly keep: false; readonly rate: number };

export interface SampledFacts {
  readonly eventType: string;
  /** trace id if the event has one, else correlation id, else undefined (then the event is its own flow). */
  readonly flowKey: string | undefined;
  /** The event's own id: the flow key of an event that belongs to no flow. */
  readonly eventId: string;
  readonly hasError: boolean;
  /** sample_rate already on the event (sampled upstream), else undefined. */
  readonly priorRate: number | undefined;
}

const KEEP_ALL: SampleDecision = Object.freeze({ keep: true, rate: 1, forced: false });

export class Sampler {
  private readonly rates: Map<string, number>;
  private readonly alwaysKeep: Set<string>;
  /**
   * Off, or no rate below 1 (the default): every event is kept at the rate it came with, whatever its facts, so the
   * caller need not gather them (flow key, error code) per event.
   */
  readonly keepsAll: boolean;

  constructor(private readonly config: SamplerConfig) {
    this.rates = new Map(Object.entries(config.rates).filter((e): e is [string, number] => e[1] !== undefined));
    this.alwaysKeep = new Set(config.alwaysKeep);
    this.keepsAll = !config.enabled || (config.defaultRate >= 1 && [...this.rates.values()].every((r) => r >= 1));
  }

  /** The decision for an event no sampling applies to: kept, at the rate it came with (1 unless sampled upstream). */
  unsampled(priorRate: number | undefined): SampleDecision {
    return priorRate === undefined || priorRate === 1 ? KEEP_ALL : { keep: true, rate: priorRate, forced: false };
  }

  rateOf(eventType: string): number {
    return this.rates.get(eventType) ?? this.config.defaultRate;
  }

  decide(facts: SampledFacts): SampleDecision {
    const prior = facts.priorRate ?? 1;
    if (!this.config.enabled) return this.unsampled(prior);
    if (facts.hasError || this.alwaysKeep.has(facts.eventType)) return { keep: true, rate: prior, forced: true };
    const rate = this.rateOf(facts.eventType);
    if (rate >= 1) return prior === 1 ? KEEP_ALL : { keep: true, rate: prior, forced: false };
    const effective = Math.min(rate, prior);
    if (rate <= 0) return { keep: false, rate: 0 };
    return flowPosition(facts.flowKey ?? facts.eventId) < rate ? { keep: true, rate: effective, forced: false } : { keep: false, rate: effective };
  }

  /** Describes the configuration, for logs and `onex produce --help` style output. */
  toString(): string {
    if (!this.config.enabled) return 'Sampler{off}';
    const rates = [...this.rates].map(([t, r]) => `${t}=${r}`).join(',');
    return `Sampler{default=${this.config.defaultRate}${rates ? `,${rates}` : ''},alwaysKeep=${[...this.alwaysKeep].join('|')}}`;
  }
}

/**
 * The flow's position u in [0, 1): FNV-1a (32 bit) over the key's UTF-8 bytes, then murmur3's finaliser so that keys
 * differing in their last characters (sequential ids) spread over the whole range. Stable across processes,
 * versions of Node and languages: it depends on nothing but the bytes.
 */
export function flowPosition(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
    } else {
      for (const byte of Buffer.from(key.slice(i, i + (c >= 0xd800 && c < 0xdc00 ? 2 : 1)), 'utf8')) {
        h = Math.imul(h ^ byte, 0x01000193);
      }
      if (c >= 0xd800 && c < 0xdc00) i++;
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}
