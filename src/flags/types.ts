/** The kinds of value a flag can carry; each maps to one OpenFeature resolve call. */
export type FlagKind = 'boolean' | 'number' | 'string';
export type FlagValue = boolean | number | string;

export interface FlagDefinition<V extends FlagValue = FlagValue> {
  /** Dotted key, `onex.<module>.<feature>`; the name in the flags file and in any OpenFeature provider. */
  readonly key: string;
  readonly kind: FlagKind;
  /** The value when no provider, file or environment variable sets the flag. */
  readonly defaultValue: V;
  /** What the flag changes, as one sentence an operator reads in docs/flags.md. */
  readonly changes: string;
  /** Where the flag is read (a source file), so a reader can follow it. */
  readonly readIn: string;
}

/** Hears a flag's new value after the source changed it (never for an unchanged value). */
export type FlagListener<V extends FlagValue = FlagValue> = (value: V, key: string) => void;
