import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { OutboundPolicy } from '../sdk/index.ts';
import { Refusal } from '../errors.ts';

export interface Firmware {
  id: string;
  /** The device model it is for (inventory `model`). */
  model: string;
  /** The version devices report once it is installed. */
  version: string;
  /** Where devices download the image (http/https, passing the outbound policy; no credentials). */
  url: string;
  /** SHA-256 of the image, lowercase hex. */
  sha256: string;
  notes: string | null;
  created_at: number;
}

export class FirmwareError extends Refusal {
  override name = 'FirmwareError';
}

/** The firmware catalogue (`firmware`, inventory migration 5). */
export class FirmwareCatalogue {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
    /** Where image URLs may point: default public addresses only (`operations.firmware.allowed_networks`). */
    private readonly policy = new OutboundPolicy({ setting: 'operations.firmware.allowed_networks' }),
  ) {}

  /**
   * `add`, after the URL's host is resolved here too: refused when any address it resolves to is
   * forbidden (devices resolve it themselves; a name we cannot resolve is let through). The API uses this.
   */
  async submit(input: Parameters<FirmwareCatalogue['add']>[0]): Promise<Firmware> {
    const bad = await this.policy.deviceUrlRefusal(input.url);
    if (bad) throw new FirmwareError('invalid', `url: ${bad}`, 'url');
    return this.add(input);
  }

  /** Adds an image; the URL is checked without DNS (literal hosts, refused names). */
  add(input: Omit<Firmware, 'id' | 'created_at' | 'notes'> & { notes?: string | null }): Firmware {
    const bad = this.unsafeImageUrl(input.url);
    if (bad) throw new FirmwareError('invalid', `url: ${bad}`, 'url');
    if (!/^[0-9a-fA-F]{64}$/.test(input.sha256))
      throw new FirmwareError('invalid', 'sha256 must be 64 hex digits', 'sha256');
    const fw: Firmware = {
      id: randomUUID(),
      ...input,
      sha256: input.sha256.toLowerCase(),
      notes: input.notes ?? null,
      created_at: this.now(),
    };
    try {
      this.db
        .prepare(
          'INSERT INTO firmware (id, model, version, url, sha256, notes, created_at) VALUES (@id, @model, @version, @url, @sha256, @notes, @created_at)',
        )
        .run(fw);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new FirmwareError(
          'conflict',
          `firmware ${input.version} for model ${input.model} is already in the catalogue`,
          'version',
        );
      }
      throw err;
    }
    return fw;
  }

  /** A catalogue URL is stored and shown: credentials in it would leak, on top of the policy. */
  private unsafeImageUrl(location: string): string | undefined {
    const bad = this.policy.urlRefusal(location);
    if (bad) return bad;
    const u = new URL(location);
    return u.username || u.password
      ? 'credentials in the URL are refused (they would be stored and sent in clear)'
      : undefined;
  }

  get(id: string): Firmware | undefined {
    return this.db.prepare('SELECT * FROM firmware WHERE id = ?').get(id) as Firmware | undefined;
  }

  require(id: string): Firmware {
    const fw = this.get(id);
    if (!fw) throw new FirmwareError('not_found', `no firmware ${id}`);
    return fw;
  }

  list(model?: string): Firmware[] {
    return (
      model === undefined
        ? this.db.prepare('SELECT * FROM firmware ORDER BY model, created_at').all()
        : this.db.prepare('SELECT * FROM firmware WHERE model = ? ORDER BY created_at').all(model)
    ) as Firmware[];
  }

  /** Refused while a rollout refers to it (its history would lose its target). */
  delete(id: string): void {
    this.require(id);
    const used = this.db.prepare('SELECT count(*) FROM rollouts WHERE firmware_id = ?').pluck().get(id) as number;
    if (used > 0) throw new FirmwareError('conflict', `firmware ${id} is used by ${used} rollout(s)`);
    this.db.prepare('DELETE FROM firmware WHERE id = ?').run(id);
  }
}

/**
 * The parameters of a plugin's firmware command, by the names its schema declares: OCPP takes
 * `location`, the TC-200 `url`, `version` and `sha256`.
 */
export function firmwareParams(
  schema: { properties?: Record<string, unknown> } | undefined,
  fw: Firmware,
): Record<string, unknown> {
  const names = new Set(Object.keys(schema?.properties ?? {}));
  const params: Record<string, unknown> = {};
  if (names.has('location')) params.location = fw.url;
  if (names.has('url')) params.url = fw.url;
  if (names.has('version')) params.version = fw.version;
  if (names.has('sha256')) params.sha256 = fw.sha256;
  if (names.has('checksum')) params.checksum = fw.sha256;
  return params;
}
