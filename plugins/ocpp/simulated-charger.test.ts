import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { ALERTING_SECURITY_EVENTS } from './security-events.ts';
import simulator from './simulator.ts';
import { eventually, startRig, token, type Rig } from './testing.ts';

/**
 * The chargers of `fleetpulse simulate --ocpp` take local lists and reservations as a charge point
 * does: SIM-00001 (1.6) and SIM-00002 (2.0.1) against the real runtime with `local_list: auto`
 * accept the list pushed at boot, accept a reservation of the whole charger and charge the
 * reserved tag at their next plug-in, which uses the reservation up. They also send security events
 * (stored as ocpp_security_event): StartupOfTheDevice at boot, routine ones, alerting ones only when asked.
 */
const directory = new MemoryDirectory(new Set(['charger']));
let rig: Rig;
const api = async (method: string, path: string, role: 'admin' | 'operator', body?: object) => {
  const res = await fetch(`${rig.url}/api/v1${path}`, {
    method,
    headers: { authorization: token(role), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

beforeAll(async () => {
  rig = await startRig(directory, {
    heartbeat_interval_s: 1,
    unknown_chargers: 'pending',
    password_required: false,
    local_list: 'auto',
  });
  for (const tag of ['TAG-LIST', 'TAG-RES'])
    expect((await api('PUT', `/id-tags/${tag}`, 'admin', { status: 'accepted' })).status).toBe(200);
});
afterAll(() => rig?.stop());

it('simulated chargers of both versions keep the local list and honour a reservation', async () => {
  const stop = new AbortController();
  const counts = new Map<string, number>();
  const run = simulator.run({
    server: rig.url,
    count: 2,
    options: { meter_interval_s: '0.05', plug_in_chance: '1', connectors: '1' },
    progress: { update: () => {}, count: (e, by = 1) => void counts.set(e, (counts.get(e) ?? 0) + by) },
    signal: stop.signal,
  });
  try {
    const lists = () =>
      rig.db.prepare('SELECT charger, entries FROM ocpp_local_lists ORDER BY charger').all() as Array<{
        charger: string;
        entries: string;
      }>;
    expect(await eventually(() => lists().length === 2, 200)).toBe(true);
    expect(lists().every((l) => l.entries.includes('TAG-LIST'))).toBe(true);
    const expires_at = new Date(Date.now() + 3600_000).toISOString();
    for (const charger of ['SIM-00001', 'SIM-00002']) {
      const made = await api('POST', '/reservations', 'operator', { charger, id_tag: 'TAG-RES', expires_at });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
    }
    const used = () =>
      rig.db.prepare("SELECT COUNT(*) FROM ocpp_reservations WHERE state = 'used'").pluck().get() as number;
    expect(await eventually(() => used() === 2, 300)).toBe(true);
    const reserved = rig.db
      .prepare("SELECT DISTINCT charger FROM ocpp_sessions WHERE id_tag = 'TAG-RES' ORDER BY charger")
      .pluck()
      .all();
    expect(reserved).toEqual(['SIM-00001', 'SIM-00002']);
    expect(counts.get('reservation_used')).toBe(2);
  } finally {
    stop.abort();
    await run;
  }
});

it('simulated chargers of both versions send security events, alerting ones only when asked', async () => {
  const eventsOf = (devices: string[]) =>
    rig.lines('ocpp_security_event').filter((l) => devices.some((d) => l.includes(`device=${d},`)));
  const types = (lines: string[], device: string) =>
    lines.filter((l) => l.includes(`device=${device},`)).map((l) => /type="(\w+)"/.exec(l)?.[1]);
  const simulate = async (prefix: string, options: Record<string, string>, until: (lines: string[]) => boolean) => {
    const stop = new AbortController();
    const run = simulator.run({
      server: rig.url,
      count: 2,
      options: { prefix, meter_interval_s: '0.05', plug_in_chance: '0', connectors: '1', ...options },
      progress: { update: () => {}, count: () => {} },
      signal: stop.signal,
    });
    const devices = [`${prefix}00001`, `${prefix}00002`];
    try {
      expect(await eventually(() => until(eventsOf(devices)), 300)).toBe(true);
    } finally {
      stop.abort();
      await run;
    }
    return eventsOf(devices);
  };
  const alerting = new Set(ALERTING_SECURITY_EVENTS);

  // Routine: StartupOfTheDevice at boot (1.6 and 2.0.1), then routine events, never an alerting one.
  const routine = await simulate('SR-', { security_event_chance: '1' }, (lines) => lines.length >= 8);
  for (const device of ['SR-00001', 'SR-00002']) {
    const seen = types(routine, device);
    expect(seen[0], device).toBe('StartupOfTheDevice');
    expect(seen.length, device).toBeGreaterThan(1);
    expect(
      seen.filter((t) => alerting.has(t!)),
      device,
    ).toEqual([]);
  }
  expect(routine.some((l) => l.includes('type="StartupOfTheDevice",critical=true'))).toBe(true);

  // Asked for: alerting events from both versions.
  const asked = await simulate('SA-', { security_event_chance: '0', security_alert_chance: '1' }, (lines) =>
    ['SA-00001', 'SA-00002'].every((d) => types(lines, d).some((t) => alerting.has(t!))),
  );
  expect(asked.length).toBeGreaterThan(2);
});
