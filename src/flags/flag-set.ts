import { OpenFeature, ProviderEvents, type Client, type Provider } from '@openfeature/server-sdk';
import { logger } from '../logging/index.js';
import { FLAG_DEFINITIONS, flagDefinition } from './definitions.js';
import { FileFlagProvider } from './file-provider.js';
import type { FlagListener, FlagValue } from './types.js';

export interface FlagSetOptions {
  /** The OpenFeature domain whose provider this set reads; default the global (default) provider. */
  readonly domain?: string;
  /**
   * The provider to install when the domain has none of its own yet (OpenFeature's no-op provider), on first use;
   * default FileFlagProvider.fromEnv(). An application that installed its own provider keeps it.
   */
  readonly defaultProvider?: () => Provider;
}

const NOOP_PROVIDER_NAME = 'No-op Provider';

/**
 * OpenFeature flags as the hot path reads them: every flag's current value sits in a Map, so `isEnabled(key)` is a
 * lookup, not an OpenFeature evaluation (which is asynchronous in the server SDK). The Map is refreshed from the
 * provider when it becomes ready and on every ConfigurationChanged event, and onChange listeners hear each value that
 * changed. Flags are evaluated without an evaluation context: they switch a feature for a process, not per event.
 */
export class FlagSet {
  private readonly values = new Map<string, FlagValue>();
  private readonly listeners = new Map<string, Set<FlagListener>>();
  private readonly domain: string | undefined;
  private readonly defaultProvider: () => Provider;
  private client: Client | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  private readonly log = logger('flags');

  constructor(options: FlagSetOptions = {}) {
    this.domain = options.domain;
    this.defaultProvider = options.defaultProvider ?? (() => FileFlagProvider.fromEnv());
    for (const def of FLAG_DEFINITIONS) this.values.set(def.key, def.defaultValue);
  }

  /** The flag's value; `fallback` (else false) for a key no definition and no provider gives a boolean. */
  isEnabled(key: string, fallback = false): boolean {
    if (this.client === undefined) this.connect();
    const v = this.values.get(key);
    return typeof v === 'boolean' ? v : fallback;
  }

  number(key: string, fallback = 0): number {
    if (this.client === undefined) this.connect();
    const v = this.values.get(key);
    return typeof v === 'number' ? v : fallback;
  }

  string(key: string, fallback = ''): string {
    if (this.client === undefined) this.connect();
    const v = this.values.get(key);
    return typeof v === 'string' ? v : fallback;
  }

  /** Calls `listener` with each new value of `key`; returns the unsubscribe. Listener errors are logged, never thrown. */
  onChange<V extends FlagValue = boolean>(key: string, listener: FlagListener<V>): () => void {
    if (this.client === undefined) this.connect();
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener as FlagListener);
    return () => set.delete(listener as FlagListener);
  }

  /**
   * Installs an OpenFeature provider for this set's domain (flagd, LaunchDarkly, a FileFlagProvider over another
   * file) and resolves once its values are in the cache.
   */
  async useProvider(provider: Provider): Promise<void> {
    this.connect(provider);
    if (this.domain === undefined) await OpenFeature.setProviderAndWait(provider);
    else await OpenFeature.setProviderAndWait(this.domain, provider);
    await this.refresh();
  }

  /** Re-evaluates every known flag through OpenFeature; resolves when the cache and listeners are up to date. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing
      .then(() => this.evaluateAll())
      .catch((err: unknown) => this.log.error({ err }, 'flags not re-evaluated; keeping the last values'));
    return this.refreshing;
  }

  private connect(provider?: Provider): void {
    if (this.client) {
      if (provider instanceof FileFlagProvider) this.seed(provider);
      return;
    }
    this.client = this.domain === undefined ? OpenFeature.getClient() : OpenFeature.getClient(this.domain);
    this.client.addHandler(ProviderEvents.Ready, () => void this.refresh());
    this.client.addHandler(ProviderEvents.ConfigurationChanged, () => void this.refresh());
    if (provider) {
      if (provider instanceof FileFlagProvider) this.seed(provider);
      return;
    }
    const current = this.domain === undefined ? OpenFeature.getProviderMetadata() : OpenFeature.getProviderMetadata(this.domain);
    if (current.name !== NOOP_PROVIDER_NAME) {
      void this.refresh();
      return;
    }
    // Throws ONEX_RT_408 for a bad flags file or variable: the first caller (a constructor) reports it.
    const installed = this.defaultProvider();
    if (installed instanceof FileFlagProvider) this.seed(installed);
    const done = this.domain === undefined ? OpenFeature.setProviderAndWait(installed) : OpenFeature.setProviderAndWait(this.domain, installed);
    done.catch((err: unknown) => this.log.error({ err }, 'flag provider failed to start; flags keep their defaults'));
  }

  /** Our own provider's values are known synchronously, so the cache is right before the first evaluation. */
  private seed(provider: FileFlagProvider): void {
    for (const [key, value] of provider.snapshot()) {
      const def = flagDefinition(key);
      if (!def || def.kind === typeof value) this.set(key, value);
    }
  }

  private async evaluateAll(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const keys = new Set([...this.values.keys(), ...this.listeners.keys()]);
    for (const key of keys) {
      const def = flagDefinition(key);
      const current = this.values.get(key);
      const fallback = def?.defaultValue ?? current ?? false;
      const value =
        typeof fallback === 'boolean'
          ? await client.getBooleanValue(key, fallback)
          : typeof fallback === 'number'
            ? await client.getNumberValue(key, fallback)
            : await client.getStringValue(key, fallback);
      this.set(key, value);
    }
  }

  private set(key: string, value: FlagValue): void {
    if (this.values.get(key) === value) return;
    this.values.set(key, value);
    const set = this.listeners.get(key);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(value, key);
      } catch (err) {
        this.log.error({ err, flag: key }, 'a flag listener threw');
      }
    }
  }
}
