import type avro from 'avsc';
import type { Health } from '../health/index.js';
import type { SchemaReference } from './state.js';

/** The registry module's types that other modules (the codec, the CLI, onex dev) use. */

export interface RegisteredSchema {
  id: number;
  /** Canonical text as the registry returns it. */
  schema: string;
  references: SchemaReference[];
  type: avro.Type;
}

export interface SubjectVersionInfo {
  subject: string;
  version: number;
  id: number;
  schema: string;
  references?: SchemaReference[];
}

export interface CompatibilityAnswer {
  compatible: boolean;
  messages: string[];
}

export type SchemaInput = string | object;

/** HTTP basic auth of the registry server. */
export interface BasicAuthOptions {
  /** user -> password */
  users: Record<string, string>;
  /** 'all': every request needs credentials; 'writes': only POST, PUT and DELETE do. */
  scope: 'all' | 'writes';
  realm?: string;
}

/** A registry server started by startRegistry. */
export interface RunningRegistry {
  url: string;
  store: string;
  /** /healthz and /readyz of this server; drain() turns readiness false ahead of close(). */
  health: Health;
  close(): Promise<void>;
}
