/**
 * How often the schema engine left its compiled codecs to avsc. The compiled readers and writers (compile.ts,
 * value-resolver.ts) are what the benchmarks measure; avsc is correct but several times slower, so every time it
 * does the work is counted here, by path and reason, and exported as onex_schema_avsc_fallbacks_total by the
 * producer's and the worker's metrics. A stream that silently went slow shows up as a rising counter.
 *
 * Only the slow paths count (a plain integer increment beside an avsc call), so the fast paths pay nothing.
 */

/** Which operation avsc did: write an event, read bytes of the reader's own schema, read bytes of another writer schema, or resolve an event in memory between two versions. */
export type AvscPath = 'encode' | 'decode' | 'resolve' | 'value_resolve';

/** Why: the schema (or the pair) has no compiled codec, or the compiled codec gave up on this one value (avsc then has the final say and the precise error). */
export type AvscFallbackReason = 'not_compiled' | 'gave_up';

export type SchemaEngineStats = Record<AvscPath, Record<AvscFallbackReason, number>>;

const counts: SchemaEngineStats = {
  encode: { not_compiled: 0, gave_up: 0 },
  decode: { not_compiled: 0, gave_up: 0 },
  resolve: { not_compiled: 0, gave_up: 0 },
  value_resolve: { not_compiled: 0, gave_up: 0 },
};

/** Counts one value avsc handled instead of a compiled codec. */
export function countAvscFallback(path: AvscPath, reason: AvscFallbackReason): void {
  counts[path][reason]++;
}

/** The fallbacks to avsc since the process started, by path and reason (a copy). */
export function schemaEngineStats(): SchemaEngineStats {
  return { encode: { ...counts.encode }, decode: { ...counts.decode }, resolve: { ...counts.resolve }, value_resolve: { ...counts.value_resolve } };
}
