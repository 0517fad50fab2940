import type Database from 'better-sqlite3';
import { Type, type Static } from '../../collector/sdk/index.ts';
import type { OcppVersion } from './config.ts';
import type { IdTags } from './id-tags.ts';
import { DEFAULT_ID_TOKEN_TYPE, idTokenType } from './id-token-types.ts';
import type { OcppCall } from './ocpp-call.ts';

/**
 * The local authorization list of each charger: the id tags it may authorize on its own while
 * its uplink is down. Built from the id tags valid on the charger (its customer's and those of no
 * customer) or from an explicit list, pushed as a full or differential update, and versioned: the
 * version and entries the charger accepted are kept per charger, so that the next differential
 * update sends only what changed since.
 */
export interface ListEntry {
  id_tag: string;
  status: 'Accepted' | 'Blocked' | 'Expired';
  /** Epoch ms. */
  expires_at?: number;
  parent_id_tag?: string;
  /** 2.0.1 IdTokenEnumType; default ISO14443 (RFID cards). */
  type?: string;
}

const entrySchema = Type.Object(
  {
    id_tag: Type.String({ minLength: 1, maxLength: 36 }),
    status: Type.Optional(
      Type.Union([Type.Literal('Accepted'), Type.Literal('Blocked'), Type.Literal('Expired')], {
        description: 'Default Accepted',
      }),
    ),
    expires_at: Type.Optional(Type.String({ format: 'date-time' })),
    parent_id_tag: Type.Optional(Type.String({ minLength: 1, maxLength: 36 })),
    type: Type.Optional(idTokenType({ description: `2.0.1 idToken type (default ${DEFAULT_ID_TOKEN_TYPE})` })),
  },
  { additionalProperties: false },
);

export const localListSpecs = {
  send_local_list: {
    description:
      "Pushes the charger's local authorization list (SendLocalList): from the id tags valid on the charger, or `id_tags`",
    params: Type.Object(
      {
        update: Type.Union([Type.Literal('full'), Type.Literal('differential')], { default: 'full' }),
        id_tags: Type.Optional(
          Type.Array(entrySchema, {
            maxItems: 10_000,
            description: 'Explicit entries (full: the whole list; differential: the entries to add or change)',
          }),
        ),
        remove: Type.Optional(
          Type.Array(Type.String({ minLength: 1, maxLength: 36 }), {
            maxItems: 10_000,
            description: 'Differential with id_tags: entries to delete from the list',
          }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  get_local_list_version: {
    description: "Reads the version of the charger's local list (GetLocalListVersion) and compares it with ours",
    params: Type.Object({}, { additionalProperties: false }),
  },
};

export type SendLocalListParams = Static<typeof localListSpecs.send_local_list.params>;

/** What one push will send and what the charger's list is once it accepts. */
export interface ListPlan {
  version: number;
  update: 'Full' | 'Differential';
  /** The list after the update. */
  entries: ListEntry[];
  /** What goes in the message: every entry (full) or the changes (differential; no status = delete). */
  changes: Array<ListEntry | { id_tag: string; removed: true; type?: string }>;
}

export class LocalLists {
  private readonly s: Record<string, Database.Statement>;

  constructor(
    db: Database.Database,
    private readonly idTags: IdTags,
    private readonly now: () => number,
  ) {
    this.s = {
      get: db.prepare('SELECT version, entries FROM ocpp_local_lists WHERE charger = ?'),
      put: db.prepare(
        `INSERT INTO ocpp_local_lists (charger, version, entries, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (charger) DO UPDATE SET version = excluded.version, entries = excluded.entries, updated_at = excluded.updated_at`,
      ),
    };
  }

  /** The version and entries the charger last accepted, if we ever pushed a list. */
  stored(charger: string): { version: number; entries: ListEntry[] } | undefined {
    const row = this.s.get.get(charger) as { version: number; entries: string } | undefined;
    return row && { version: row.version, entries: JSON.parse(row.entries) as ListEntry[] };
  }

  /** The entries built from the id tags valid on a charger of `customer`, now. */
  fromIdTags(customer: string | undefined): ListEntry[] {
    const now = this.now();
    return this.idTags.validOn(customer).map((t) => {
      const status =
        t.status === 'blocked' ? 'Blocked' : t.expires_at !== null && t.expires_at <= now ? 'Expired' : 'Accepted';
      return {
        id_tag: t.id_tag,
        status,
        ...(t.expires_at !== null ? { expires_at: t.expires_at } : {}),
        ...(t.parent_id_tag ? { parent_id_tag: t.parent_id_tag } : {}),
      };
    });
  }

  plan(charger: string, customer: string | undefined, p: SendLocalListParams): ListPlan {
    const before = this.stored(charger);
    const version = (before?.version ?? 0) + 1;
    const explicit = p.id_tags?.map((e): ListEntry => ({
      id_tag: e.id_tag.toUpperCase(),
      status: e.status ?? 'Accepted',
      ...(e.expires_at ? { expires_at: Date.parse(e.expires_at) } : {}),
      ...(e.parent_id_tag ? { parent_id_tag: e.parent_id_tag.toUpperCase() } : {}),
      ...(e.type ? { type: e.type } : {}),
    }));
    if (p.update === 'full') {
      const entries = explicit ?? this.fromIdTags(customer);
      return { version, update: 'Full', entries, changes: entries };
    }
    const old = new Map((before?.entries ?? []).map((e) => [e.id_tag, e]));
    let changes: ListPlan['changes'];
    if (explicit) {
      const gone = (p.remove ?? []).map((t) => t.toUpperCase());
      changes = [...explicit, ...gone.map((id) => ({ id_tag: id, removed: true as const, type: old.get(id)?.type }))];
    } else {
      const target = new Map(this.fromIdTags(customer).map((e) => [e.id_tag, e]));
      changes = [...target.values()].filter((e) => JSON.stringify(old.get(e.id_tag)) !== JSON.stringify(e));
      for (const [id, e] of old) if (!target.has(id)) changes.push({ id_tag: id, removed: true, type: e.type });
    }
    for (const c of changes) {
      if ('removed' in c) old.delete(c.id_tag);
      else old.set(c.id_tag, c);
    }
    return { version, update: 'Differential', entries: [...old.values()], changes };
  }

  /** The SendLocalList call of a plan; an Accepted answer stores the plan as the charger's list. */
  sendCall(charger: string, version: OcppVersion, plan: ListPlan): OcppCall {
    const v16 = version === 'ocpp1.6';
    // 1.6 idTag is at most 20 characters: longer tags cannot be in a 1.6 list.
    const changes = v16 ? plan.changes.filter((c) => c.id_tag.length <= 20) : plan.changes;
    const list = changes.map((c) => ('removed' in c ? removal(c.id_tag, c.type, v16) : authorizationData(c, v16)));
    const payload = v16
      ? { listVersion: plan.version, updateType: plan.update, ...(list.length ? { localAuthorizationList: list } : {}) }
      : {
          versionNumber: plan.version,
          updateType: plan.update,
          ...(list.length ? { localAuthorizationList: list } : {}),
        };
    return {
      action: 'SendLocalList',
      payload,
      interpret: (a) => {
        if (a.status !== 'Accepted')
          return { outcome: a.status === 'Failed' ? 'failed' : 'rejected', result: a, reason: String(a.status) };
        this.s.put.run(charger, plan.version, JSON.stringify(plan.entries), this.now());
        return { outcome: 'ok', result: { ...a, version: plan.version, entries: plan.entries.length } };
      },
    };
  }

  versionCall(charger: string, version: OcppVersion): OcppCall {
    return {
      action: 'GetLocalListVersion',
      payload: {},
      interpret: (a) => {
        const theirs = Number(version === 'ocpp1.6' ? a.listVersion : a.versionNumber);
        const ours = this.stored(charger)?.version ?? 0;
        return { outcome: 'ok', result: { version: theirs, pushed_version: ours, in_sync: theirs === ours } };
      },
    };
  }
}

/** A differential entry without its info: the charger deletes it from its list. */
function removal(idTag: string, type: string | undefined, v16: boolean): Record<string, unknown> {
  return v16 ? { idTag } : { idToken: { idToken: idTag, type: type ?? DEFAULT_ID_TOKEN_TYPE } };
}

function authorizationData(e: ListEntry, v16: boolean): Record<string, unknown> {
  const expiry = e.expires_at !== undefined ? new Date(e.expires_at).toISOString() : undefined;
  if (v16)
    return {
      idTag: e.id_tag,
      idTagInfo: {
        status: e.status,
        ...(expiry ? { expiryDate: expiry } : {}),
        ...(e.parent_id_tag && e.parent_id_tag.length <= 20 ? { parentIdTag: e.parent_id_tag } : {}),
      },
    };
  return {
    idToken: { idToken: e.id_tag, type: e.type ?? DEFAULT_ID_TOKEN_TYPE },
    idTokenInfo: {
      status: e.status,
      ...(expiry ? { cacheExpiryDateTime: expiry } : {}),
      ...(e.parent_id_tag ? { groupIdToken: { idToken: e.parent_id_tag, type: 'Central' } } : {}),
    },
  };
}
