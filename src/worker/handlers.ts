import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ALL_EVENT_TYPES,
  isSchemaVersion,
  onexError,
  UNKNOWN_EVENT_TYPE,
  type SchemaVersion,
} from '../event/index.js';
import type { EventHandler, HandlerMap } from './types.js';

const KNOWN_TYPES = new Set<string>([...ALL_EVENT_TYPES, UNKNOWN_EVENT_TYPE]);

/** The handler for an event type; `known` is false for a type outside the ONEX list (it goes to the catch-all). */
export interface Route {
  handler: EventHandler | undefined;
  known: boolean;
}

/** Looks a handler up by event type: its own handler, else the catch-all. */
export class HandlerRouter {
  private readonly byType = new Map<string, EventHandler>();
  private readonly catchAll: EventHandler | undefined;
  /** Routes are looked up per record: built once per type, not per call. */
  private readonly routes = new Map<string, Route>();
  private readonly unknownRoute: Route;

  constructor(handlers: HandlerMap) {
    for (const [type, handler] of Object.entries(handlers)) {
      if (typeof handler !== 'function') {
        throw onexError('ONEX_RT_407', `the handler for ${type} is a ${typeof handler}, not a function`);
      }
      if (type === '*') continue;
      if (!KNOWN_TYPES.has(type)) {
        throw onexError('ONEX_RT_407', `there is a handler for ${JSON.stringify(type)}, which is no ONEX event type (known: ${[...KNOWN_TYPES].join(', ')}; '*' is the catch-all)`);
      }
      this.byType.set(type, handler);
    }
    this.catchAll = handlers['*'];
    this.unknownRoute = { handler: this.byType.get(UNKNOWN_EVENT_TYPE) ?? this.catchAll, known: false };
  }

  route(eventType: unknown): Route {
    const known = typeof eventType === 'string' && KNOWN_TYPES.has(eventType) && eventType !== UNKNOWN_EVENT_TYPE;
    if (!known) return this.unknownRoute;
    let r = this.routes.get(eventType as string);
    if (!r) this.routes.set(eventType as string, (r = { handler: this.byType.get(eventType as string) ?? this.catchAll, known: true }));
    return r;
  }
}

/** What a handler module gives the `onex worker` command. */
export interface HandlerModule {
  handlers: HandlerMap;
  /** The version the module's handlers speak; a --target-version flag wins over it. */
  targetVersion?: SchemaVersion;
}

function isHandlerMapLike(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Loads a handler module for `onex worker --handlers PATH`. Accepted shapes, in this order:
 *   export const handlers = { NODE_START: fn, '*': fn }   (plus optional `export const targetVersion = '2.0.0'`)
 *   export default { handlers: {...}, targetVersion? }
 *   export default { NODE_START: fn, '*': fn }
 *   export default function (event, ctx) {...}            (a catch-all for every event)
 */
export async function loadHandlerModule(specifier: string, cwd: string = process.cwd()): Promise<HandlerModule> {
  const path = isAbsolute(specifier) ? specifier : resolve(cwd, specifier);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (cause) {
    const notFound = (cause as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((cause as Error).message).includes(path);
    throw onexError(
      'ONEX_CLI_300',
      notFound ? `the handler module ${path} does not exist` : `the handler module ${path} failed to load: ${(cause as Error).message}`,
      { cause },
    );
  }
  const def = mod.default;
  let handlers: unknown;
  let targetVersion: unknown = mod.targetVersion;
  if (mod.handlers !== undefined) handlers = mod.handlers;
  else if (typeof def === 'function') handlers = { '*': def };
  else if (isHandlerMapLike(def) && 'handlers' in def) {
    handlers = def.handlers;
    targetVersion ??= def.targetVersion;
  } else if (isHandlerMapLike(def)) handlers = def;
  if (!isHandlerMapLike(handlers) || Object.keys(handlers).length === 0) {
    throw onexError('ONEX_CLI_303', `the handler module ${path} exports no handlers: export \`handlers\` ({ EVENT_TYPE: fn, '*': fn }) or a default function`);
  }
  if (targetVersion !== undefined && !isSchemaVersion(targetVersion)) {
    throw onexError('ONEX_CLI_303', `the handler module ${path} names target version ${JSON.stringify(targetVersion)}, which is no ONEX schema version`);
  }
  try {
    new HandlerRouter(handlers as HandlerMap);
  } catch (e) {
    throw onexError('ONEX_CLI_303', `the handler module ${path}: ${(e as Error).message}`, { cause: e });
  }
  return { handlers: handlers as HandlerMap, ...(targetVersion ? { targetVersion: targetVersion as SchemaVersion } : {}) };
}
