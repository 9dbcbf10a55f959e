import { codeInfo, type Component, type OnexCode, type Recoverable, type Severity } from './codes.js';

export interface OnexErrorOptions extends ErrorOptions {
  /** Structured facts about the failure (sizes, limits, field paths); safe to log, never secrets. */
  details?: Record<string, unknown>;
}

/**
 * The one error class of the pipeline. Every error we throw carries an ONEX code; callers branch on `code` (or on
 * `retriable`), never on message text. The message is one sentence meant for a person.
 */
export class OnexError extends Error {
  readonly code: OnexCode;
  readonly component: Component;
  readonly severity: Severity;
  readonly recoverable: Recoverable;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: OnexCode, message: string, options: OnexErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const info = codeInfo(code);
    this.name = new.target.name;
    this.code = code;
    this.component = info.component;
    this.severity = info.severity;
    this.recoverable = info.recoverable;
    this.details = options.details;
  }

  /** True when the same operation may succeed if tried again. */
  get retriable(): boolean {
    return this.recoverable === 'Retry';
  }

  /** `ONEX_EVENT_602: event is 2.1 MB, over the 1 MB limit` — the one line the CLI prints. */
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      severity: this.severity,
      recoverable: this.recoverable,
      message: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export class StamperError extends OnexError {}
export class ValidationError extends OnexError {}
export class RegistryError extends OnexError {}
export class CliError extends OnexError {}
export class OnexRuntimeError extends OnexError {}
export class TelemetryError extends OnexError {}
export class EventError extends OnexError {}
export class SchemaError extends OnexError {}
export class FixtureError extends OnexError {}
export class OnexSystemError extends OnexError {}

const CLASS_BY_COMPONENT: Record<Component, new (code: OnexCode, message: string, options?: OnexErrorOptions) => OnexError> = {
  STAMP: StamperError,
  VALID: ValidationError,
  REG: RegistryError,
  CLI: CliError,
  RT: OnexRuntimeError,
  TELEM: TelemetryError,
  EVENT: EventError,
  SCHEMA: SchemaError,
  FIX: FixtureError,
  SYS: OnexSystemError,
};

/** Builds the error of the code's component: `onexError('ONEX_EVENT_602', ...)` is an EventError. */
export function onexError(code: OnexCode, message: string, options?: OnexErrorOptions): OnexError {
  const Cls = CLASS_BY_COMPONENT[codeInfo(code).component];
  return new Cls(code, message, options);
}

export function isOnexError(value: unknown, code?: OnexCode): value is OnexError {
  return value instanceof OnexError && (code === undefined || value.code === code);
}

/** Wraps anything thrown into an OnexError with the given code, keeping an existing ONEX code. */
export function asOnexError(value: unknown, fallback: OnexCode, message?: string): OnexError {
  if (value instanceof OnexError) return value;
  const text = message ?? (value instanceof Error ? value.message : String(value));
  return onexError(fallback, text, { cause: value });
}

/** One problem a schema validator (zod) found in options: where, and what. */
export interface OptionIssue {
  readonly path: ReadonlyArray<PropertyKey>;
  readonly message: string;
}

/**
 * ONEX_RT_407 for options that failed validation: `${prefix} ${where}: ${message}` about the first issue (where is its
 * dotted path, or `whole` when the options as a whole are wrong), every issue in details.
 */
export function invalidOptions(prefix: string, whole: string, issues: ReadonlyArray<OptionIssue>): OnexError {
  const dotted = (path: ReadonlyArray<PropertyKey>) => path.map(String).join('.');
  const first = issues[0];
  return onexError('ONEX_RT_407', `${prefix} ${first && first.path.length ? dotted(first.path) : whole}: ${first?.message ?? 'invalid'}`, {
    details: { issues: issues.map((i) => ({ path: dotted(i.path), message: i.message })) },
  });
}
