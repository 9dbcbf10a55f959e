/**
 * The inspect page: one HTML document with its style and script inline (nothing to fetch but the API), so the
 * server stays one file of routes. `/flows/{id}` draws the trace of a correlation id as a waterfall: one row per
 * flow and one per node span beneath it, each bar placed by its start and sized by its duration on the trace's time
 * axis (as Jaeger draws spans); failures red, unfinished spans amber; a click shows the bar's events; a replay button
 * with a speed field starts a replay of the flow and follows it.
 */
const STYLE = `
body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #1d2330; }
h1 { font-size: 1.2rem; margin: 0 0 .8rem; }
form { margin-bottom: 1rem; display: flex; gap: .5rem; align-items: center; }
input { font: inherit; padding: .2rem .4rem; }
#summary { color: #555; margin-bottom: .6rem; }
.row { display: grid; grid-template-columns: 22rem 1fr; align-items: center; height: 1.6rem; border-bottom: 1px solid #eee; }
.label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-family: ui-monospace, monospace; font-size: 12px; }
.lane { position: relative; height: 1rem; background: #f6f7f9; }
.bar { position: absolute; top: 0; height: 100%; min-width: 2px; border-radius: 2px; cursor: pointer; background: #3b82f6; }
.bar.flow { background: #94a3b8; }
.bar.status-failure { background: #dc2626; }
.bar.status-open { background: #f59e0b; }
.bar .t { position: absolute; left: 100%; margin-left: .3rem; font-size: 11px; color: #333; white-space: nowrap; }
#details { white-space: pre-wrap; font: 12px ui-monospace, monospace; background: #f6f7f9; padding: .6rem; margin-top: 1rem; min-height: 2rem; }
#error { color: #b91c1c; }
`;

const SCRIPT = `
const $ = (s) => document.querySelector(s);
const idFromPath = () => { const m = location.pathname.match(/^\\/flows\\/([^/]+)/); return m ? decodeURIComponent(m[1]) : null; };
const fmt = (ms) => ms === null ? 'running' : ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(2) + ' s';
function row(label, depth, bar, tree) {
  const total = Math.max(1, tree.end_ms - tree.start_ms);
  const r = document.createElement('div'); r.className = 'row';
  const l = document.createElement('div'); l.className = 'label'; l.style.paddingLeft = (depth * 1.2) + 'rem'; l.textContent = label; l.title = label;
  const lane = document.createElement('div'); lane.className = 'lane';
  const b = document.createElement('div');
  b.className = 'bar ' + bar.kind + ' status-' + bar.status;
  const dur = bar.end - bar.start;
  b.style.left = ((bar.start - tree.start_ms) / total * 100) + '%';
  b.style.width = (dur / total * 100) + '%';
  for (const [k, v] of Object.entries(bar.data)) b.dataset[k] = String(v);
  const t = document.createElement('span'); t.className = 't'; t.textContent = fmt(bar.duration); b.appendChild(t);
  b.addEventListener('click', () => { $('#details').textContent = JSON.stringify(bar.details, null, 2); });
  lane.appendChild(b); r.append(l, lane); return r;
}
function draw(tree) {
  const w = $('#waterfall'); w.textContent = '';
  $('#summary').textContent = tree.flows + ' flows, ' + tree.events + ' events, ' + fmt(tree.end_ms - tree.start_ms) + ' (' + tree.records_read + ' records read)';
  const flow = (n, depth) => {
    w.appendChild(row('flow ' + n.correlation_id, depth, { kind: 'flow', status: n.status, start: n.start_ms, end: n.end_ms, duration: n.duration_ms,
      data: { correlationId: n.correlation_id, status: n.status, startMs: n.start_ms - tree.start_ms, durationMs: n.duration_ms },
      details: { correlation_id: n.correlation_id, parent_correlation_id: n.parent_correlation_id, trace_id: n.trace_id, count: n.count, replays: n.replays } }, tree));
    const items = [...n.nodes.map((s) => ({ s, at: s.start_ms })), ...n.children.map((c) => ({ c, at: c.start_ms }))].sort((a, b) => a.at - b.at);
    for (const it of items) {
      if (it.c) { flow(it.c, depth + 1); continue; }
      const s = it.s;
      w.appendChild(row(s.node_id, depth + 1, { kind: 'span', status: s.status, start: s.start_ms, end: s.end_ms, duration: s.duration_ms,
        data: { node: s.node_id, correlationId: n.correlation_id, status: s.status, startMs: s.start_ms - tree.start_ms, durationMs: s.duration_ms === null ? '' : s.duration_ms },
        details: s.events }, tree));
    }
  };
  tree.roots.forEach((r) => flow(r, 0));
  document.body.dataset.loaded = 'true';
}
async function load(id) {
  $('#id').value = id;
  const res = await fetch('/api/correlations/' + encodeURIComponent(id));
  const body = await res.json();
  if (!res.ok) { $('#error').textContent = body.code + ': ' + body.message; document.body.dataset.loaded = 'error'; return; }
  draw(body);
}
async function replay() {
  const id = idFromPath(); if (!id) return;
  const res = await fetch('/api/replays', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ correlation_id: id, speed: $('#speed').value }) });
  const job = await res.json();
  if (!res.ok) { $('#replay-status').textContent = job.code + ': ' + job.message; return; }
  const poll = async () => {
    const j = await (await fetch('/api/replays/' + job.id)).json();
    $('#replay-status').textContent = j.state === 'running' ? 'replaying ' + (j.progress ? j.progress.emitted + '/' + j.progress.total : '') : j.state === 'done' ? 'replayed ' + j.summary.emitted + ' events to ' + j.summary.to_topic : 'failed: ' + j.error.code + ' ' + j.error.message;
    $('#replay-status').dataset.state = j.state;
    if (j.state === 'running') setTimeout(poll, 200);
  };
  poll();
}
$('#open').addEventListener('submit', (e) => { e.preventDefault(); location.href = '/flows/' + encodeURIComponent($('#id').value.trim()); });
$('#replay').addEventListener('click', replay);
const id = idFromPath(); if (id) load(id);
`;

export function inspectPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>onex inspect</title><style>${STYLE}</style></head>
<body>
<h1>onex inspect</h1>
<form id="open"><label>correlation id <input id="id" size="40"></label><button>show</button>
<label>speed <input id="speed" value="1" size="5"></label><button type="button" id="replay">replay</button><span id="replay-status"></span></form>
<div id="error"></div><div id="summary"></div><div id="waterfall"></div><div id="details"></div>
<script type="module">${SCRIPT}</script>
</body></html>`;
}
