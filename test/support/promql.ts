import { parser } from '@prometheus-io/lezer-promql';

/**
 * What a PromQL expression names, read with Prometheus's own Lezer grammar (the one its web UI uses): the metric
 * names of its selectors (`name{...}` and `{__name__="name"}`) and the text of any syntax error. The grammar
 * recovers from errors, so an error is reported, never thrown. The exact check is Prometheus's: the tests also load
 * every expression into promtool or a real server.
 */
export interface PromqlNames {
  metrics: string[];
  errors: string[];
}

export function promqlNames(expr: string): PromqlNames {
  const metrics = new Set<string>();
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) errors.push(`syntax error at ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 20), node.to + 20))}`);
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) metrics.add(expr.slice(id.from, id.to));
      }
      if (node.name === 'UnquotedLabelMatcher' || node.name === 'QuotedLabelMatcher') {
        const text = expr.slice(node.from, node.to);
        const m = /^"?__name__"?\s*=\s*"([^"]+)"$/.exec(text);
        if (m) metrics.add(m[1]!);
      }
    },
  });
  return { metrics: [...metrics], errors };
}
