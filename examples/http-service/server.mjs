// @ts-check
// A small fastify service that emits one ONEX event per request through the SDK.
//   KAFKA_BROKERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081 node server.mjs
//   curl -X POST localhost:3000/stamp -H 'content-type: application/json' -d '{"file":"src/app.py"}'
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { isOnexError, OnexProducer } from 'onex-events';

const producer = OnexProducer.fromEnv({ topic: process.env.ONEX_TOPIC ?? 'onex.events' });
await producer.start();

const app = Fastify();
// Closing the app (on SIGTERM below) stops taking requests, then flushes what the producer has buffered.
app.addHook('onClose', () => producer.close());

/** The body fastify validates before the handler runs: a bad body is a 400 from fastify itself. */
const body = { type: 'object', required: ['file'], properties: { file: { type: 'string', minLength: 1 } }, additionalProperties: false };

/** POST /stamp {"file": "..."} -> NODE_START for that file; 202 with the EmitResult once Kafka has it. */
app.post('/stamp', { schema: { body } }, async (req, reply) => {
  const { file } = /** @type {{ file: string }} */ (req.body);
  try {
    const result = await producer.emit({
      node_id: 'stamper_node-001',
      event_type: 'NODE_START',
      correlation_id: String(req.headers['x-correlation-id'] ?? randomUUID()),
      metadata: { input_state: { file } },
    });
    return reply.code(202).send(result);
  } catch (err) {
    // A bad event is the caller's fault (422, with its ONEX code); anything else is ours (503: try again).
    if (isOnexError(err) && err.component === 'VALID') return reply.code(422).send({ code: err.code, error: err.message });
    return reply.code(503).send({ code: isOnexError(err) ? err.code : undefined, error: String(err) });
  }
});

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on ${address}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
