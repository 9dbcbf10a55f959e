import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { KAFKA_IMAGE } from '../../support/kafka-container.js';

interface Service {
  image?: string;
  ports?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] | string; interval?: string; retries?: number };
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(new URL('../../../docker-compose.yml', import.meta.url), 'utf8')) as { services: Record<string, Service> };

// No Docker engine runs here, so this checks the file's meaning: the services, ports and health checks it declares.
describe('docker-compose.yml', () => {
  const kafka = compose.services.kafka!;

  it('runs the Apache Kafka the pom pins for `onex kafka start`, the same image the tests run in Docker', () => {
    const pom = readFileSync(new URL('../../../deploy/local-kafka/pom.xml', import.meta.url), 'utf8');
    const pinned = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
    expect(pinned).toMatch(/^4\.\d+\.\d+$/);
    expect(kafka.image).toBe(`apache/kafka:${pinned}`);
    expect(KAFKA_IMAGE).toBe(`apache/kafka:${pinned}`);
  });

  it('runs the official Apache Kafka image in KRaft mode as one node', () => {
    const env = kafka.environment!;
    expect(String(env.KAFKA_PROCESS_ROLES).split(',').sort()).toEqual(['broker', 'controller']);
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`${env.KAFKA_NODE_ID}@kafka:9093`);
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe(1);
    expect(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe(1);
  });

  it('publishes 9092 to the host and advertises an address each side can reach', () => {
    expect(kafka.ports).toContain('9092:9092');
    const env = kafka.environment!;
    const listeners = String(env.KAFKA_LISTENERS).split(',');
    const advertised = String(env.KAFKA_ADVERTISED_LISTENERS).split(',');
    expect(advertised).toContain('PLAINTEXT_HOST://localhost:9092');
    expect(advertised).toContain('PLAINTEXT://kafka:19092');
    // Every advertised listener is also a listener, with a protocol in the map.
    const map = Object.fromEntries(String(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP).split(',').map((kv) => kv.split(':')));
    for (const a of advertised) {
      const name = a.split('://')[0]!;
      expect(listeners.some((l) => l.startsWith(`${name}://`))).toBe(true);
      expect(map[name]).toBeDefined();
    }
  });

  it('declares a health check that asks the broker itself', () => {
    const hc = kafka.healthcheck!;
    const test = Array.isArray(hc.test) ? hc.test.join(' ') : hc.test;
    expect(test).toContain('kafka-broker-api-versions.sh --bootstrap-server kafka:19092');
    expect(hc.retries).toBeGreaterThan(0);
  });

  it('makes every other service wait for a healthy broker', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (name === 'kafka' || !svc.depends_on) continue;
      expect(svc.depends_on.kafka?.condition, name).toBe('service_healthy');
    }
  });
});
