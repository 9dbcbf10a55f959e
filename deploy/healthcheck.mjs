// The image's health check: GET the URL given (default: the metrics port's /healthz) and exit 0 on a 2xx answer,
// 1 on anything else or no answer within 3 s. Plain Node, so the slim runtime image needs no curl or wget.
// Used by the Dockerfile's HEALTHCHECK and by docker-compose.yml, which names each service's own port.
const url = process.argv[2] ?? process.env.ONEX_HEALTHCHECK_URL ?? 'http://127.0.0.1:9464/healthz';
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
