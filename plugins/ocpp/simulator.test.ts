import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import simulator from './simulator.ts';
import { eventually, startRig, type Rig } from './testing.ts';

/**
 * The simulator against the real runtime, as `fleetpulse simulate --ocpp` runs it against
 * `serve` with auto-accept: chargers of both versions charge, resend, and send garbage; the
 * plugin records every session once and keeps serving.
 */
const directory = new MemoryDirectory(new Set(['charger']));
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, { heartbeat_interval_s: 1, unknown_chargers: 'pending', password_required: false });
});
afterAll(() => rig?.stop());

it('runs chargers of both versions through sessions with resend and malformed-frame faults', async () => {
  const stop = new AbortController();
  const counts = new Map<string, number>();
  const run = simulator.run({
    server: rig.url,
    count: 6,
    options: {
      meter_interval_s: '0.05',
      plug_in_chance: '1',
      fault_resend: '0.5',
      fault_malformed: '0.2',
      connectors: '2',
    },
    progress: { update: () => {}, count: (e, by = 1) => void counts.set(e, (counts.get(e) ?? 0) + by) },
    signal: stop.signal,
  });
  const ended = (protocol: string) =>
    rig.db
      .prepare("SELECT COUNT(*) FROM ocpp_sessions WHERE state = 'ended' AND protocol = ?")
      .pluck()
      .get(protocol) as number;
  const enough = await eventually(() => ended('ocpp1.6') >= 3 && ended('ocpp2.0.1') >= 3, 300);
  stop.abort();
  await run;
  expect(enough).toBe(true);
  expect(counts.get('boot_accepted')).toBeGreaterThanOrEqual(6);
  expect(counts.get('fault_resend')).toBeGreaterThan(0);
  // Every resend the chargers saw answered was answered from the stored reply (the server may
  // have answered one more that the run's end cut off).
  expect(await rig.events('resend_answered')).toBeGreaterThanOrEqual(counts.get('fault_resend')!);
  expect(await rig.events('malformed_frame')).toBeLessThanOrEqual(counts.get('fault_malformed') ?? 0);
  // Every ended session has its energy and a summary point; no transaction was recorded twice.
  const rows = rig.db.prepare("SELECT * FROM ocpp_sessions WHERE state = 'ended'").all() as Array<{
    charger: string;
    transaction_id: string;
    energy_wh: number;
    complete: number;
  }>;
  expect(rows.every((r) => r.energy_wh > 0 && r.complete === 1)).toBe(true);
  // A session the run's end cut off may be ended in SQLite with its summary still waiting for the
  // spool's next commit (its StopTransaction answer waits for it too): give that commit its turn.
  const summarized = () => {
    const summaries = new Set(
      rig
        .lines('ocpp_session')
        .map((l) => /device=([^, ]+)/.exec(l)![1] + '/' + /transaction_id="([^"]+)"/.exec(l)![1]),
    );
    return rows.every((r) => summaries.has(`${r.charger}/${r.transaction_id}`));
  };
  expect(await eventually(summarized, 40)).toBe(true);
});
