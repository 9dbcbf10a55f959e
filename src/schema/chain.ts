import type avro from 'avsc';
import { isOnexError, onexError } from '../errors/index.js';
import { compareVersions, majorOf, parseVersion, SCHEMA_VERSIONS, type AnyOnexEvent, type OnexEventV1_3, type OnexEventV2_0, type SchemaVersion } from '../event/index.js';
import { knownSchema } from './known-schemas.js';
import { downcastToV1_3, upcastToV2 } from './v2-bridge.js';
import { resolutionPlan } from './plan.js';

/**
 * The upcast / downcast chain: one step between each pair of neighbouring versions, both ways. A step within a
 * major is Avro schema resolution (no code: the schemas are the truth); a step across majors is a registered
 * transform function. The chain is checked when it is built, so that a worker refuses to start with a broken one:
 * every version known, no step onto its own version (a cycle), no step that skips a version (it would make two
 * routes, one of them unchecked), no duplicate, no gap, a function on every MAJOR step and none on MINOR steps.
 *
 * Running a route, neighbouring MINOR steps collapse into one resolution: Avro resolution is transitive within a
 * major, which the compatibility matrix checks (every MINOR step BACKWARD and FORWARD compatible).
 */
export type TransformFunction = (event: AnyOnexEvent) => AnyOnexEvent;

export interface TransformStep {
  readonly from: SchemaVersion;
  readonly to: SchemaVersion;
  /** Required on MAJOR steps, absent on MINOR steps. */
  readonly transform?: TransformFunction;
}

export interface CompiledRoute {
  readonly steps: readonly TransformStep[];
  readonly run: (event: AnyOnexEvent) => AnyOnexEvent;
}

export class TransformChain {
  private readonly next = new Map<SchemaVersion, TransformStep>();
  private readonly prev = new Map<SchemaVersion, TransformStep>();
  private readonly compiled = new Map<string, CompiledRoute>();

  private constructor(readonly versions: readonly SchemaVersion[], steps: readonly TransformStep[]) {
    for (const step of steps) {
      const up = versions.indexOf(step.to) > versions.indexOf(step.from);
      (up ? this.next : this.prev).set(step.from, step);
    }
  }

  /** Validates the steps (ONEX_SCHEMA_703 on gaps, duplicates, cycles, skips; 704 on unknown versions). */
  static build(steps: readonly TransformStep[], versions: readonly SchemaVersion[] = SCHEMA_VERSIONS): TransformChain {
    const index = new Map(versions.map((v, i) => [v, i]));
    if (index.size !== versions.length) throw invalid(`the version list has duplicates: ${versions.join(', ')}`);
    for (let i = 1; i < versions.length; i++) {
      const a = parseVersion(versions[i - 1]!);
      const b = parseVersion(versions[i]!);
      if (!a || !b || compareVersions(a, b) >= 0) {
        throw invalid(`the version list is not in ascending order at ${versions[i]}`);
      }
    }
    const seen = new Set<string>();
    for (const step of steps) {
      for (const v of [step.from, step.to]) {
        if (!index.has(v)) throw onexError('ONEX_SCHEMA_704', `The transform step ${step.from} -> ${step.to} names version ${v}, which the chain does not know.`);
      }
      const name = `${step.from} -> ${step.to}`;
      if (step.from === step.to) throw invalid(`the step ${name} leads back to its own version (a cycle)`);
      if (Math.abs(index.get(step.from)! - index.get(step.to)!) !== 1) {
        throw invalid(`the step ${name} skips a version; steps join neighbouring versions only`);
      }
      if (seen.has(name)) throw invalid(`the step ${name} is registered twice`);
      seen.add(name);
      const major = majorOf(step.from) !== majorOf(step.to);
      if (major && typeof step.transform !== 'function') throw invalid(`the MAJOR step ${name} has no transform function`);
      if (!major && step.transform !== undefined) {
        throw invalid(`the MINOR step ${name} has a transform function; MINOR steps are Avro schema resolution`);
      }
    }
    for (let i = 1; i < versions.length; i++) {
      const [a, b] = [versions[i - 1]!, versions[i]!];
      if (!seen.has(`${a} -> ${b}`)) throw invalid(`there is no step from ${a} to ${b} (a gap)`);
      if (!seen.has(`${b} -> ${a}`)) throw invalid(`there is no step from ${b} to ${a} (a gap)`);
    }
    return new TransformChain(versions, steps);
  }

  /** The single steps from one version to another, in order; empty when they are the same. */
  route(from: SchemaVersion, to: SchemaVersion): TransformStep[] {
    const steps: TransformStep[] = [];
    const up = this.versions.indexOf(to) > this.versions.indexOf(from);
    for (let at = from; at !== to; ) {
      const step = (up ? this.next : this.prev).get(at);
      if (!step) throw onexError('ONEX_SCHEMA_704', `No route from ${from} to ${to}: ${at} has no step onwards.`);
      steps.push(step);
      at = step.to;
    }
    return steps;
  }

  /**
   * The version in `from`'s major where a route to `to` leaves that major (the route's last version in it): the
   * version to decode bytes of `from` into before transforming further.
   */
  exitVersion(from: SchemaVersion, to: SchemaVersion): SchemaVersion {
    let at = from;
    for (const step of this.route(from, to)) {
      if (majorOf(step.to) !== majorOf(from)) break;
      at = step.to;
    }
    return at;
  }

  /** A route as one function, cached: MINOR runs collapse into one resolution, MAJOR steps call their function. */
  compile(from: SchemaVersion, to: SchemaVersion): CompiledRoute {
    const key = `${from}>${to}`;
    let route = this.compiled.get(key);
    if (route) return route;
    const steps = this.route(from, to);
    const stages: ((e: AnyOnexEvent) => AnyOnexEvent)[] = [];
    for (let i = 0; i < steps.length; ) {
      const step = steps[i]!;
      if (step.transform) {
        stages.push(guard(step.transform, step.from, step.to));
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < steps.length && !steps[j + 1]!.transform) j++;
      stages.push(resolution(step.from, steps[j]!.to));
      i = j + 1;
    }
    const run =
      stages.length === 0
        ? (e: AnyOnexEvent) => e
        : stages.length === 1
          ? stages[0]!
          : (e: AnyOnexEvent) => stages.reduce((acc, stage) => stage(acc), e);
    route = { steps, run };
    this.compiled.set(key, route);
    return route;
  }
}

function invalid(why: string) {
  return onexError('ONEX_SCHEMA_703', `The transform chain is invalid: ${why}.`);
}

function guard(fn: TransformFunction, from: SchemaVersion, to: SchemaVersion): (e: AnyOnexEvent) => AnyOnexEvent {
  return (event) => {
    try {
      return fn(event);
    } catch (cause) {
      if (isOnexError(cause) && cause.code === 'ONEX_SCHEMA_702') throw cause;
      throw onexError('ONEX_SCHEMA_702', `The ${from} -> ${to} transform failed: ${(cause as Error).message}`, { cause });
    }
  };
}

/** The cached avsc resolver reading data of a known writer version with a known reader version (see plan.ts). */
export function resolverBetween(writer: SchemaVersion, reader: SchemaVersion): avro.Resolver | undefined {
  return resolutionPlan(knownSchema(writer), writer, knownSchema(reader), reader).resolver;
}

/**
 * A run of MINOR steps in memory: the pair's resolution plan reads the event as the target would (compiled Avro
 * resolution of values when the schemas allow it, else encoded with its version's schema and read with the target's).
 */
function resolution(from: SchemaVersion, to: SchemaVersion): (e: AnyOnexEvent) => AnyOnexEvent {
  return resolutionPlan(knownSchema(from), from, knownSchema(to), to).readValue;
}

/** The chain of the shipped versions: Avro resolution within 1.x, the registered 1.3.0 <-> 2.0.0 transforms. */
export function defaultSteps(): TransformStep[] {
  return [
    { from: '1.0.0', to: '1.1.0' },
    { from: '1.1.0', to: '1.2.0' },
    { from: '1.2.0', to: '1.3.0' },
    { from: '1.3.0', to: '2.0.0', transform: (e) => upcastToV2(e as OnexEventV1_3) },
    { from: '2.0.0', to: '1.3.0', transform: (e) => downcastToV1_3(e as OnexEventV2_0) },
    { from: '1.3.0', to: '1.2.0' },
    { from: '1.2.0', to: '1.1.0' },
    { from: '1.1.0', to: '1.0.0' },
  ];
}
