import { roleRank, type Role } from '../collector/inventory/index.ts';

/** Who may call a route: at least this role, or anyone (`public`). */
export type Access = Role | 'public';

/**
 * Who may call which API route, as the routes declare it (`config.minRole`), filled while the API
 * registers them. Other parts of serve (the operator pages) ask it before they show or offer an
 * action, so there is one table of roles, the routes' own.
 */
export class AccessTable {
  private readonly rules = new Map<string, Access>();

  record(method: string, url: string, minRole: Access): void {
    this.rules.set(`${method.toUpperCase()} ${url}`, minRole);
  }

  /** Whether `role` may call the route `method url` (the url as registered, e.g. `/api/v1/incidents/:id/ack`). */
  allows(role: Role | null, method: string, url: string): boolean {
    const minRole = this.rules.get(`${method.toUpperCase()} ${url}`);
    if (minRole === undefined) throw new Error(`no API route ${method} ${url}`);
    if (minRole === 'public') return true;
    return role !== null && roleRank(role) >= roleRank(minRole);
  }
}
