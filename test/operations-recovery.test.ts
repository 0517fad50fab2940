import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOwners, tempInventory } from '../collector/inventory/test-helpers.ts';
import { Operations } from '../collector/operations/operations.ts';
import { startFleet, until, type Fleet } from '../collector/operations/test-helpers.ts';

describe('auto-recovery', { timeout: 30_000 }, () => {
  let fleet: Fleet;
  let ops: Operations;
  let cleanup: () => void;

  beforeAll(async () => {
    const f = tempInventory();
    cleanup = f.cleanup;
    seedOwners(f.inventory);
    f.inventory.devices.create({ id: 'kiosk-1', kind: 'widget', site: 'acme-berlin' });
    f.inventory.devices.create({ id: 'pc-1', kind: 'widget', site: 'acme-berlin', labels: { plug: 'plug-1' } });
    f.inventory.devices.create({ id: 'plug-1', kind: 'widget', site: 'acme-berlin' });
    f.inventory.devices.create({ id: 'pc-2', kind: 'widget', site: 'acme-berlin' }); // no plug label
    fleet = await startFleet(f.inventory);
    ops = new Operations({
      inventory: f.inventory,
      bus: fleet.collector.bus,
      plugins: [fleet.plugin],
      emit: (p) => fleet.collector.emitter.system(p),
      log: pino({ level: 'silent' }),
      state: (id) => fleet.collector.liveness.state(id)?.state,
      options: {
        commands: { pollMs: 10 },
        recovery: {
          checkEveryMs: 3_600_000, // the test drives check() itself
          rules: [
            { name: 'widget_error_reboot', kinds: ['widget'], state: 'error', for_s: 600, command: 'reboot', max_per_day: 2 },
            { name: 'widget_silent_plug', kinds: ['widget'], state: 'offline', for_s: 900, command: 'reboot', via_label: 'plug' },
          ],
        },
      },
    });
    ops.start();
  });
  afterAll(async () => {
    await ops?.stop(100);
    await fleet?.stop();
    cleanup?.();
  });

  it('reboots a device in error for the whole period, at most max_per_day times, noting each attempt on its incident', async () => {
    fleet.connect('kiosk-1', { state: 'error' });
    fleet.connect('plug-1');
    const { incident } = ops.incidents.record({ status: 'firing', labels: { alertname: 'DeviceError', severity: 'warning', device: 'kiosk-1' }, startsAt: new Date().toISOString(), fingerprint: 'k1' });
    const t0 = Date.now();
    // Only kiosk-1's commands: pc-1 and pc-2 (never seen: offline) have their own rule.
    const kiosk = (ids: string[]) => ids.filter((id) => ops.commands.get(id)!.device === 'kiosk-1');
    expect(kiosk(ops.recovery!.check(t0))).toEqual([]);
    expect(kiosk(ops.recovery!.check(t0 + 599_000))).toEqual([]); // not for long enough yet
    const [first] = kiosk(ops.recovery!.check(t0 + 600_000));
    expect(first).toBeDefined();
    await until(() => ops.commands.get(first!)!.status === 'succeeded', 'the reboot');
    expect(ops.commands.get(first!)).toMatchObject({ device: 'kiosk-1', name: 'reboot', source: 'recovery' });
    expect(kiosk(ops.recovery!.check(t0 + 900_000))).toEqual([]); // the condition must hold another period
    expect(kiosk(ops.recovery!.check(t0 + 1_200_000))).toHaveLength(1);
    expect(kiosk(ops.recovery!.check(t0 + 1_800_000))).toEqual([]); // capped: 2 a day
    const notes = ops.incidents.events(incident.id).filter((e) => e.type === 'recovery');
    expect(notes).toHaveLength(2);
    expect(notes[0]!.text).toContain('widget_error_reboot: reboot sent to kiosk-1');
  });

  it('power-cycles through the device named in a label, and notes when there is none', async () => {
    // pc-1 and pc-2 never reported: offline since the first check of the test above.
    const rows = () =>
      ops.inventory.db.prepare("SELECT device, command_id FROM recovery_attempts WHERE rule = 'widget_silent_plug' ORDER BY id").all() as Array<{ device: string; command_id: string | null }>;
    await until(() => rows().some((r) => r.device === 'pc-1'), 'an attempt for pc-1');
    const viaPlug = rows().find((r) => r.device === 'pc-1')!;
    expect(ops.commands.get(viaPlug.command_id!)).toMatchObject({ device: 'plug-1', name: 'reboot', source: 'recovery' });
    await until(() => ops.commands.get(viaPlug.command_id!)!.status === 'succeeded', 'the plug to answer');
    expect(rows().find((r) => r.device === 'pc-2')).toEqual({ device: 'pc-2', command_id: null }); // no plug label: recorded, nothing sent
  });
});
