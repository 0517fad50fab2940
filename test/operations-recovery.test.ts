import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Inventory } from '../collector/inventory/index.ts';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import type { RecoveryRule } from '../collector/sdk/index.ts';
import { Operations } from '../collector/operations/operations.ts';
import { startFleet, until, type Fleet } from '../collector/operations/testing.ts';

const DAY = 86_400_000;

/** Each test gets its own inventory, fleet and operations: nothing carries over between tests. */
async function setup(
  devices: Array<{ id: string; labels?: Record<string, string> }>,
  rules: RecoveryRule[],
  /** `plugin`: the rules are the plugin's declared `recovery`, and Operations gets none of its own. */
  from: 'options' | 'plugin' = 'options',
): Promise<{ fleet: Fleet; ops: Operations; inventory: Inventory; stop: () => Promise<void> }> {
  const f = tempInventory();
  seedOwners(f.inventory);
  for (const d of devices)
    f.inventory.devices.create({
      id: d.id,
      kind: 'widget',
      site: 'acme-berlin',
      ...(d.labels ? { labels: d.labels } : {}),
    });
  const fleet = await startFleet(f.inventory);
  const ops = new Operations({
    inventory: f.inventory,
    bus: fleet.collector.bus,
    plugins: [from === 'plugin' ? { ...fleet.plugin, recovery: rules } : fleet.plugin],
    emit: (p) => fleet.collector.emitter.system(p),
    log: pino({ level: 'silent' }),
    state: (id) => fleet.collector.liveness.state(id)?.state,
    // The test drives check() itself with its own clock.
    options: {
      commands: { pollMs: 10 },
      recovery: { checkEveryMs: 3_600_000, ...(from === 'options' ? { rules } : {}) },
    },
  });
  ops.start();
  return {
    fleet,
    ops,
    inventory: f.inventory,
    async stop() {
      await ops.stop(100);
      await fleet.stop();
      f.cleanup();
    },
  };
}

describe('auto-recovery', { timeout: 30_000 }, () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  it('reboots a device in error for the whole period, at most max_per_day times, noting and auditing each attempt', async () => {
    const t = await setup(
      [{ id: 'kiosk-1' }],
      [
        {
          name: 'widget_error_reboot',
          kinds: ['widget'],
          state: 'error',
          for_s: 600,
          command: 'reboot',
          max_per_day: 2,
        },
      ],
    );
    stop = t.stop;
    const { ops, fleet } = t;
    fleet.connect('kiosk-1', { state: 'error' });
    const { incident } = ops.incidents.record({
      status: 'firing',
      labels: { alertname: 'DeviceError', severity: 'warning', device: 'kiosk-1' },
      startsAt: new Date().toISOString(),
      fingerprint: 'k1',
    });
    const t0 = Date.now();
    expect(ops.recovery!.check(t0)).toEqual([]);
    expect(ops.recovery!.check(t0 + 599_000)).toEqual([]); // not for long enough yet
    const [first] = ops.recovery!.check(t0 + 600_000);
    expect(first).toBeDefined();
    await until(() => ops.commands.get(first)!.status === 'succeeded', 'the reboot');
    expect(ops.commands.get(first)).toMatchObject({ device: 'kiosk-1', name: 'reboot', source: 'recovery' });
    expect(ops.recovery!.check(t0 + 900_000)).toEqual([]); // the condition must hold another period
    const [second] = ops.recovery!.check(t0 + 1_200_000);
    expect(second).toBeDefined();
    expect(ops.recovery!.check(t0 + 1_800_000)).toEqual([]); // capped: 2 a day
    expect(ops.recovery!.check(t0 + 600_000 + DAY)).toHaveLength(1); // the first attempt is more than 24 hours old
    const notes = ops.incidents.events(incident.id).filter((e) => e.type === 'recovery');
    expect(notes).toHaveLength(3);
    expect(notes[0].text).toContain('widget_error_reboot: reboot sent to kiosk-1');
    const audit = t.inventory.audit.list({ action: 'recovery.attempt', limit: 10 }).items.reverse();
    expect(audit).toHaveLength(3);
    expect(audit[0]).toMatchObject({
      at: t0 + 600_000,
      target: 'kiosk-1',
      actor_name: 'recovery widget_error_reboot',
      result: 'ok',
      source: 'recovery',
      details: {
        rule: 'widget_error_reboot',
        command: 'reboot',
        sent_to: 'kiosk-1',
        command_id: first,
        incident: incident.id,
      },
    });
  });

  it('runs the rules the plugins declare (`recovery`) when Operations is given none', async () => {
    const rule: RecoveryRule = {
      name: 'widget_error_reboot',
      kinds: ['widget'],
      state: 'error',
      for_s: 600,
      command: 'reboot',
    };
    const t = await setup([{ id: 'kiosk-1' }], [rule], 'plugin');
    stop = t.stop;
    t.fleet.connect('kiosk-1', { state: 'error' });
    const t0 = Date.now();
    expect(t.ops.recovery!.check(t0)).toEqual([]);
    const [sent] = t.ops.recovery!.check(t0 + 600_000);
    expect(sent).toBeDefined();
    expect(t.ops.commands.get(sent)).toMatchObject({ device: 'kiosk-1', name: 'reboot', source: 'recovery' });
  });

  it('power-cycles through the device named in a label; attempts that cannot run are recorded, audited and noted', async () => {
    const t = await setup(
      [
        { id: 'pc-1', labels: { plug: 'plug-1' } },
        { id: 'plug-1' },
        { id: 'pc-2' },
        { id: 'pc-3', labels: { plug: 'plug-gone' } },
      ],
      [
        {
          name: 'widget_silent_plug',
          kinds: ['widget'],
          state: 'offline',
          for_s: 900,
          command: 'reboot',
          via_label: 'plug',
        },
      ],
    );
    stop = t.stop;
    const { ops, fleet } = t;
    fleet.connect('plug-1');
    // pc-1, pc-2 and pc-3 never report: offline from the first check on.
    const onPc2 = ops.incidents.record({
      status: 'firing',
      labels: { alertname: 'AgentSilent', severity: 'critical', device: 'pc-2' },
      startsAt: new Date().toISOString(),
      fingerprint: 'p2',
    }).incident;
    const t0 = Date.now();
    expect(ops.recovery!.check(t0)).toEqual([]);
    const created = ops.recovery!.check(t0 + 900_000);
    expect(created).toHaveLength(1); // pc-1's, through its plug; pc-2 and pc-3 could not run
    expect(ops.commands.get(created[0])).toMatchObject({ device: 'plug-1', name: 'reboot', source: 'recovery' });
    await until(() => ops.commands.get(created[0])!.status === 'succeeded', 'the plug to answer');

    const rows = t.inventory.db.prepare('SELECT device, command_id FROM recovery_attempts ORDER BY device').all();
    expect(rows).toEqual([
      { device: 'pc-1', command_id: created[0] },
      { device: 'pc-2', command_id: null },
      { device: 'pc-3', command_id: null },
    ]);
    const audit = new Map(
      t.inventory.audit.list({ action: 'recovery.attempt', limit: 10 }).items.map((e) => [e.target, e]),
    );
    expect(audit.get('pc-1')).toMatchObject({ result: 'ok', details: { sent_to: 'plug-1', command_id: created[0] } });
    expect(audit.get('pc-2')).toMatchObject({
      result: 'failed',
      actor_name: 'recovery widget_silent_plug',
      details: {
        rule: 'widget_silent_plug',
        command: 'reboot',
        sent_to: null,
        command_id: null,
        error: "no label 'plug' names the device to send reboot to",
        incident: onPc2.id,
      },
    });
    // The queue refuses a command for a device that does not exist: audited with the queue's reason.
    expect(audit.get('pc-3')).toMatchObject({
      result: 'failed',
      details: {
        sent_to: 'plug-gone',
        command_id: null,
        error: expect.stringContaining("device 'plug-gone' does not exist"),
      },
    });
    expect(
      ops.incidents
        .events(onPc2.id)
        .filter((e) => e.type === 'recovery')
        .map((e) => e.text),
    ).toEqual(["auto-recovery widget_silent_plug could not run: no label 'plug' names the device to send reboot to"]);
  });

  it('caps attempts per device and day across rules', async () => {
    const t = await setup(
      [{ id: 'kiosk-2' }],
      [
        {
          name: 'widget_error_reboot',
          kinds: ['widget'],
          state: 'error',
          for_s: 600,
          command: 'reboot',
          max_per_day: 3,
        },
        {
          name: 'widget_error_quiet',
          kinds: ['widget'],
          state: 'error',
          for_s: 600,
          command: 'set_volume',
          params: { level: 0 },
          max_per_day: 3,
        },
      ],
    );
    stop = t.stop;
    const { ops, fleet } = t;
    fleet.connect('kiosk-2', { state: 'error' });
    const t0 = Date.now();
    ops.recovery!.check(t0);
    expect(ops.recovery!.check(t0 + 600_000)).toHaveLength(2); // both rules
    expect(ops.recovery!.check(t0 + 1_200_000)).toHaveLength(1); // the third attempt of the day, whichever rule
    expect(ops.recovery!.check(t0 + 1_800_000)).toEqual([]);
    expect(ops.recovery!.check(t0 + 2_400_000)).toEqual([]);
    const attempts = t.inventory.db
      .prepare('SELECT rule FROM recovery_attempts WHERE device = ? ORDER BY id')
      .pluck()
      .all('kiosk-2');
    expect(attempts).toEqual(['widget_error_reboot', 'widget_error_quiet', 'widget_error_reboot']);
    expect(t.inventory.audit.list({ action: 'recovery.attempt', target: 'kiosk-2', limit: 10 }).items).toHaveLength(3);
  });
});
