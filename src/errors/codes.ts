/**
 * The ONEX error taxonomy: one registry of every code the pipeline can raise.
 *
 * Codes are permanent. A code is never reused for another meaning; a retired code stays here with its description.
 * Codes 001-... in each component are the ones the ONEX protocol registered; codes past them were added by this
 * pipeline (next free number in the component's range). docs/errors.md is generated from this table and a unit test
 * keeps the two in step.
 */

export type Severity = 'CRITICAL' | 'ERROR' | 'WARNING' | 'INFO';
/** No: retrying cannot help. Yes: the caller can go on (degraded). Retry: the same call may succeed later. */
export type Recoverable = 'No' | 'Yes' | 'Retry';

export interface OnexCodeInfo {
  readonly component: Component;
  /** Long form: ONEX_<COMPONENT>_<NNN>_<DESCRIPTION>. */
  readonly name: string;
  readonly description: string;
  readonly severity: Severity;
  readonly recoverable: Recoverable;
}

export const COMPONENTS = {
  STAMP: { title: 'stamper', range: [1, 99] },
  VALID: { title: 'validation', range: [100, 199] },
  REG: { title: 'registry', range: [200, 299] },
  CLI: { title: 'command line', range: [300, 399] },
  RT: { title: 'runtime', range: [400, 499] },
  TELEM: { title: 'telemetry', range: [500, 599] },
  EVENT: { title: 'event system', range: [600, 699] },
  SCHEMA: { title: 'schema', range: [700, 799] },
  FIX: { title: 'fixtures', range: [800, 899] },
  SYS: { title: 'system', range: [900, 999] },
} as const;
export type Component = keyof typeof COMPONENTS;

type Row = readonly [description: string, severity: Severity, recoverable: Recoverable];

const E = (description: string, recoverable: Recoverable = 'No'): Row => [description, 'ERROR', recoverable];
const W = (description: string, recoverable: Recoverable): Row => [description, 'WARNING', recoverable];
const C = (description: string, recoverable: Recoverable = 'No'): Row => [description, 'CRITICAL', recoverable];

// Short code -> [description, severity, recoverable]. Keep each component's codes in numeric order.
const TABLE = {
  ONEX_STAMP_001: E('file not found'),
  ONEX_STAMP_002: E('file read error', 'Retry'),
  ONEX_STAMP_003: E('file write error', 'Retry'),
  ONEX_STAMP_004: E('permission denied'),
  ONEX_STAMP_005: E('invalid file type'),
  ONEX_STAMP_006: E('metadata parse error'),
  ONEX_STAMP_007: E('metadata validation error'),
  ONEX_STAMP_008: E('handler not found'),
  ONEX_STAMP_009: W('backup failed', 'Yes'),
  ONEX_STAMP_010: E('idempotency check failed'),

  ONEX_VALID_100: E('schema not found'),
  ONEX_VALID_101: E('schema parse error'),
  ONEX_VALID_102: E('validation failed'),
  ONEX_VALID_103: E('missing required field'),
  ONEX_VALID_104: E('invalid field type'),
  ONEX_VALID_105: E('constraint violation'),
  ONEX_VALID_106: E('enum value invalid'),
  ONEX_VALID_107: E('schema version mismatch'),
  ONEX_VALID_110: E('alert rule file invalid'),
  ONEX_VALID_111: E('alert rule expression invalid'),
  ONEX_VALID_120: E('alert rule file is not YAML'),
  ONEX_VALID_121: E('alert rule template invalid'),
  ONEX_VALID_122: E('alert rule name repeated'),

  ONEX_REG_200: E('entry not found'),
  ONEX_REG_201: E('duplicate entry'),
  ONEX_REG_202: C('registry corrupted'),
  ONEX_REG_203: E('registration failed', 'Retry'),
  ONEX_REG_204: E('deregistration failed', 'Retry'),
  ONEX_REG_205: E('handler conflict'),
  ONEX_REG_206: E('schema registry unreachable', 'Retry'),
  ONEX_REG_207: E('schema incompatible with the subject'),
  ONEX_REG_208: E('schema registry rejected the request'),

  ONEX_CLI_300: E('invalid argument'),
  ONEX_CLI_301: E('missing argument'),
  ONEX_CLI_302: E('command not found'),
  ONEX_CLI_303: E('config error'),
  ONEX_CLI_304: E('output format error'),
  ONEX_CLI_310: E('alert test events file invalid'),
  ONEX_CLI_311: E('alert test expectations not met'),
  ONEX_CLI_320: E('replay would write into its source topic'),
  ONEX_CLI_321: E('replay target version has no replay marker'),
  ONEX_CLI_350: E('kafka cluster option invalid'),

  ONEX_RT_400: C('node initialization failed'),
  ONEX_RT_401: E('state serialization error'),
  ONEX_RT_402: E('state deserialization error'),
  ONEX_RT_403: C('dependency missing'),
  ONEX_RT_404: E('version mismatch'),
  ONEX_RT_405: E('local broker failed to start', 'Retry'),
  ONEX_RT_406: E('port already in use'),
  ONEX_RT_407: E('configuration invalid'),
  ONEX_RT_408: E('feature flag source invalid'),
  ONEX_RT_420: E('processor state restore failed', 'Retry'),
  ONEX_RT_421: E('processor transaction aborted', 'Retry'),
  ONEX_RT_422: W('processor partition fenced', 'Yes'),
  ONEX_RT_423: E('processor state encoding failed'),
  ONEX_RT_430: E('correlation index unreadable', 'Retry'),
  ONEX_RT_431: E('correlation id not in the index'),
  ONEX_RT_440: E('keyring invalid'),
  ONEX_RT_441: E('key provider unavailable', 'Retry'),
  ONEX_RT_442: E('local broker TLS or SASL setup failed'),
  ONEX_RT_443: E('SASL user invalid'),
  ONEX_RT_444: E('TLS certificate or key file unreadable'),
  ONEX_RT_470: E('local cluster node did not come back', 'Retry'),

  ONEX_TELEM_500: W('event emission failed', 'Yes'),
  ONEX_TELEM_501: W('handler registration failed', 'Retry'),
  ONEX_TELEM_502: W('correlation id missing', 'Yes'),
  ONEX_TELEM_503: W('event validation failed', 'Yes'),
  ONEX_TELEM_504: E('tracing SDK not installed'),
  ONEX_TELEM_505: E('OTLP endpoint invalid'),
  ONEX_TELEM_506: W('trace export failed', 'Retry'),
  ONEX_TELEM_507: E('profiler option invalid'),

  ONEX_EVENT_600: E('bus unavailable', 'Retry'),
  ONEX_EVENT_601: E('subscription failed', 'Retry'),
  ONEX_EVENT_602: E('event too large'),
  ONEX_EVENT_603: E('serialization failed'),
  ONEX_EVENT_604: E('wire format invalid'),
  ONEX_EVENT_605: E('unknown schema id'),
  ONEX_EVENT_606: E('signature invalid'),
  ONEX_EVENT_607: E('decryption failed'),
  ONEX_EVENT_608: E('producer buffer full', 'Retry'),
  ONEX_EVENT_609: E('producer closed'),
  ONEX_EVENT_610: E('handler failed', 'Retry'),
  ONEX_EVENT_611: C('dead-letter publish failed', 'Retry'),
  ONEX_EVENT_612: E('delivery timed out', 'Retry'),
  ONEX_EVENT_613: E('CloudEvent envelope invalid'),
  ONEX_EVENT_614: E('CloudEvent data is not an ONEX event'),
  ONEX_EVENT_620: E('alert webhook delivery failed', 'Retry'),
  ONEX_EVENT_621: W('alert expression evaluation failed', 'Yes'),
  ONEX_EVENT_630: E('key unknown to the key provider'),
  ONEX_EVENT_631: E('key retired past its rotation window'),
  ONEX_EVENT_632: E('signature missing'),
  ONEX_EVENT_633: E('ciphertext envelope invalid'),
  ONEX_EVENT_634: E('Kafka authentication failed'),
  ONEX_EVENT_635: E('TLS certificate not trusted'),
  ONEX_EVENT_636: E('TLS client certificate refused'),
  ONEX_EVENT_637: E('encrypted fields not decrypted for a replay'),
  ONEX_EVENT_638: E('replay would write a decrypted field in plaintext'),

  ONEX_SCHEMA_700: E('definition invalid'),
  ONEX_SCHEMA_701: E('version incompatible'),
  ONEX_SCHEMA_702: E('migration failed'),
  ONEX_SCHEMA_703: E('transform chain invalid'),
  ONEX_SCHEMA_704: E('schema version unknown'),

  ONEX_SYS_900: C('out of memory'),
  ONEX_SYS_901: C('disk full'),
  ONEX_SYS_902: E('network unavailable', 'Retry'),
  ONEX_SYS_903: E('timeout', 'Retry'),
  ONEX_SYS_904: E('resource exhausted', 'Retry'),
} as const satisfies Record<string, Row>;

export type OnexCode = keyof typeof TABLE;

function longName(code: string, description: string): string {
  return `${code}_${description.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '')}`;
}

export const ONEX_CODES: Readonly<Record<OnexCode, OnexCodeInfo>> = Object.freeze(
  Object.fromEntries(
    Object.entries(TABLE).map(([code, [description, severity, recoverable]]) => [
      code,
      Object.freeze({
        component: code.split('_')[1] as Component,
        name: longName(code, description),
        description,
        severity,
        recoverable,
      }),
    ]),
  ) as Record<OnexCode, OnexCodeInfo>,
);

export function isOnexCode(value: unknown): value is OnexCode {
  return typeof value === 'string' && Object.hasOwn(ONEX_CODES, value);
}

export function codeInfo(code: OnexCode): OnexCodeInfo {
  return ONEX_CODES[code];
}
