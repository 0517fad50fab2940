import type { Static } from 'typebox';
import type { Incidents } from '../../../collector/operations/incidents.ts';
import { incidentJson, type IncidentListQuery, type IncidentPage } from './schemas.ts';

/** One page of `GET /incidents`: the route's answer, also read by the operator pages in-process. */
export function incidentList(store: Incidents, query: Static<typeof IncidentListQuery>): Static<typeof IncidentPage> {
  const { cursor, sort, ...filter } = query;
  const page = store.list({ ...filter, order: sort ?? 'newest', ...(cursor ? { after: Number(cursor) } : {}) });
  return { items: page.items.map(incidentJson), next_cursor: page.more ? String(page.items.at(-1)!.id) : null };
}
