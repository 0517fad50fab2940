/**
 * Which contact points Grafana's notification policy tree sends an alert to: the first matching
 * child route at each level (and the next ones while a match says `continue`), else the route's own
 * receiver. A label the alert lacks matches as ''. Used by the proofs, like evaluate.ts; not a
 * runtime component.
 */
export interface Route {
  receiver?: string;
  object_matchers?: [string, string, string][];
  routes?: Route[];
  continue?: boolean;
  group_wait?: string;
}

function matches(route: Route, labels: Record<string, string>): boolean {
  return (route.object_matchers ?? []).every(([name, op, value]) => {
    const v = labels[name] ?? '';
    switch (op) {
      case '=':
        return v === value;
      case '!=':
        return v !== value;
      case '=~':
        return new RegExp(`^(?:${value})$`).test(v);
      case '!~':
        return !new RegExp(`^(?:${value})$`).test(v);
      default:
        throw new Error(`matcher ${op} not supported`);
    }
  });
}

/** The routes that deliver the alert (each with its inherited receiver), in order. */
export function routeAlert(root: Route, labels: Record<string, string>, inherited = root.receiver): Route[] {
  const out: Route[] = [];
  for (const child of root.routes ?? []) {
    if (!matches(child, labels)) continue;
    out.push(...routeAlert(child, labels, child.receiver ?? inherited));
    if (!child.continue) break;
  }
  return out.length > 0 ? out : [{ ...root, receiver: inherited }];
}
