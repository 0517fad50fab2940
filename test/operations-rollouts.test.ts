import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import { Operations, type OperationsOptions } from '../collector/operations/operations.ts';
import { startFleet, until, type Fleet } from '../collector/operations/testing.ts';
import { CommandFailed, type Command } from '../collector/sdk/index.ts';
import type { Inventory } from '../collector/inventory/index.ts';

const SHA = 'a'.repeat(64);
const ids = Array.from({ length: 100 }, (_, i) => `term-${String(i).padStart(3, '0')}`);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function operationsOver(
  inventory: Inventory,
  fleet: Fleet,
  extra: { options?: OperationsOptions; now?: () => number } = {},
): Operations {
  const ops = new Operations({
    inventory,
    bus: fleet.collector.bus,
    plugins: [fleet.plugin],
    emit: (p) => fleet.collector.emitter.system(p),
    log: pino({ level: 'silent' }),
    options: {
      ...extra.options,
      commands: { pollMs: 10, ...extra.options?.commands },
      rollouts: { tickMs: 10, ...extra.options?.rollouts },
    },
    ...(extra.now ? { now: extra.now } : {}),
  });
  ops.start();
  return ops;
}

/** The test drives the rollout ticks itself (the timer's first tick is an hour away). */
const MANUAL_TICKS = { rollouts: { tickMs: 3_600_000 } };

/** Ticks the rollouts until `done` holds. */
const tickUntil = (ops: Operations, done: () => boolean, what: string) =>
  until(() => {
    ops.rollouts.tick();
    return done();
  }, what);

/** `n` TC-200 devices on 1.0.0, connected; behind one gateway when `gateway` is given. */
async function smallFleet(prefix: string, n: number, gateway: string | null = null) {
  const fixture = tempInventory();
  seedOwners(fixture.inventory);
  const devices = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (const id of devices)
    fixture.inventory.devices.create({
      id,
      kind: 'widget',
      model: 'TC-200',
      firmware: '1.0.0',
      site: 'acme-berlin',
      gateway,
    });
  const received = new Map<string, Command[]>();
  const fleet = await startFleet(fixture.inventory, { received });
  for (const id of devices) fleet.connect(id, { firmware: '1.0.0' });
  return { fixture, fleet, received, devices };
}

/** Holds `device`'s update until `release()`, then answers as the fleet does. */
function holdUpdateOf(fleet: Fleet, device: string): { release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const answer = fleet.answer;
  fleet.answer = async (d, command) => {
    if (d === device && command.name === 'update_firmware') await gate;
    return answer(d, command);
  };
  return { release };
}

async function fleetOf100() {
  const fixture = tempInventory();
  seedOwners(fixture.inventory);
  for (const id of ids)
    fixture.inventory.devices.create({ id, kind: 'widget', model: 'TC-200', firmware: '1.0.0', site: 'acme-berlin' });
  const received = new Map<string, Command[]>();
  const fleet = await startFleet(fixture.inventory, { received });
  for (const id of ids) fleet.connect(id, { firmware: '1.0.0' });
  return { fixture, fleet, received };
}

const updates = (received: Map<string, Command[]>, id: string) =>
  (received.get(id) ?? []).filter((c) => c.name === 'update_firmware');

describe('firmware rollouts over 100 devices', { timeout: 45_000 }, () => {
  it('halts at the failure threshold, retries devices offline at their turn, and a resumed rollout finishes', async () => {
    const { fixture, fleet, received } = await fleetOf100();
    const ops = operationsOver(fixture.inventory, fleet);
    cleanups.push(
      () => fixture.cleanup(),
      () => fleet.stop(),
      () => ops.stop(100),
    );
    // Wave 2 (devices 25-44): every other device fails to flash, 50 % > the 20 % threshold.
    const failing = new Set(ids.slice(25, 45).filter((_, i) => i % 2 === 0));
    const offline = ['term-050', 'term-051', 'term-052']; // wave 3: away at their turn
    const answer = fleet.answer;
    fleet.answer = async (device, command) => {
      if (command.name === 'update_firmware' && failing.has(device)) throw new CommandFailed('flash write error');
      return answer(device, command);
    };
    const fw = ops.firmware.add({
      model: 'TC-200',
      version: '2.0.0',
      url: 'https://fw.example.com/tc200-2.0.0.bin',
      sha256: SHA,
      notes: 'fixes the printer timeout',
    });
    // The URL rule's cases are in collector/sdk/outbound-policy.test.ts; the catalogue applies it.
    for (const url of ['http://127.0.0.1/fw', 'http://localhost./fw', 'file:///fw.bin']) {
      expect(() => ops.firmware.add({ model: 'TC-200', version: '2.0.1', url, sha256: SHA }), url).toThrow(
        expect.objectContaining({ field: 'url' }),
      );
    }
    // The catalogue stores and shows its URLs: credentials in one are refused too.
    expect(() =>
      ops.firmware.add({ model: 'TC-200', version: '2.0.1', url: 'https://user:pw@fw.example.com/a', sha256: SHA }),
    ).toThrow(/credentials/);

    const rollout = ops.rollouts.create({
      firmware_id: fw.id,
      selector: { site: 'acme-berlin' },
      canary: { percent: 5 },
      wave_size: 20,
      failure_threshold: 0.2,
      retry_offline_s: 0.05,
      confirm_timeout_s: 5,
    });
    expect(ops.rollouts.progress(rollout.id)).toMatchObject({ total: 100, waves: 6, done: 0 });
    await until(() => ops.rollouts.get(rollout.id)!.status === 'halted', 'the rollout to halt');
    const halted = ops.rollouts.get(rollout.id)!;
    expect(halted.current_wave).toBe(2);
    expect(halted.halt_reason).toBe('wave 2: 10 of 20 devices failed, more than 20 %');
    // halted: no end to estimate
    expect(ops.rollouts.progress(rollout.id)).toMatchObject({ done: 35, failed: 10, pending: 55, estimated_end: null });
    expect(updates(received, 'term-050')).toEqual([]); // wave 3 never started

    for (const id of offline) fleet.disconnect(id);
    ops.rollouts.resume(rollout.id);
    await until(
      () =>
        ops.rollouts
          .devices(rollout.id)
          .filter((d) => offline.includes(d.device))
          .every((d) => d.attempts > 0),
      'the offline devices to be deferred',
    );
    await until(() => ops.rollouts.get(rollout.id)!.current_wave >= 4, 'the next waves to go on without them');
    for (const id of offline) fleet.connect(id, { firmware: '1.0.0' });
    await until(() => ops.rollouts.get(rollout.id)!.status === 'completed', 'the rollout to complete');

    const p = ops.rollouts.progress(rollout.id);
    expect(p).toMatchObject({ total: 100, done: 90, failed: 10, pending: 0, percent: 90, estimated_end: null });
    for (const id of offline)
      expect(ops.rollouts.devices(rollout.id).find((d) => d.device === id)).toMatchObject({ state: 'done' });
    for (const id of ids) expect(updates(received, id)).toHaveLength(1); // nobody flashed twice
    expect(updates(received, ids[0])[0].params).toEqual({
      version: '2.0.0',
      url: 'https://fw.example.com/tc200-2.0.0.bin',
      sha256: SHA,
    });
    expect(fixture.inventory.devices.all({ firmware: '2.0.0' })).toHaveLength(90);
    expect(fleet.sink.lines.some((l) => l.startsWith('rollout_progress,') && l.includes('status="completed"'))).toBe(
      true,
    );
  });

  it('pause, abort, and refusals', async () => {
    const { fixture, fleet } = await fleetOf100();
    const ops = operationsOver(fixture.inventory, fleet);
    cleanups.push(
      () => fixture.cleanup(),
      () => fleet.stop(),
      () => ops.stop(100),
    );
    const fw = ops.firmware.add({
      model: 'TC-200',
      version: '3.0.0',
      url: 'https://fw.example.com/3.bin',
      sha256: SHA,
    });
    expect(() => ops.rollouts.create({ firmware_id: fw.id, selector: { site: 'volt-lyon' } })).toThrow(
      expect.objectContaining({ field: 'selector' }),
    );
    expect(() => ops.rollouts.create({ firmware_id: 'nope', selector: {} })).toThrow(
      expect.objectContaining({ field: 'firmware_id' }),
    );
    const r = ops.rollouts.create({
      firmware_id: fw.id,
      selector: {},
      canary: { count: 2 },
      wave_size: 50,
      wave_interval_s: 3600,
    });
    await until(() => ops.rollouts.progress(r.id).done === 2, 'the canary');
    expect(ops.rollouts.pause(r.id).status).toBe('paused');
    expect(() => ops.rollouts.pause(r.id)).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(ops.rollouts.resume(r.id).status).toBe('running');
    expect(ops.rollouts.get(r.id)!.current_wave).toBe(0); // the pace holds the next wave for an hour
    expect(ops.rollouts.progress(r.id).estimated_end).toBeNull();
    expect(ops.rollouts.abort(r.id).status).toBe('aborted');
    expect(() => ops.rollouts.resume(r.id)).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => ops.firmware.delete(fw.id)).toThrow(expect.objectContaining({ code: 'conflict' }));
  });

  it('a restart in the middle of a rollout loses nothing and sends nobody the update twice', async () => {
    const { fixture, fleet, received } = await fleetOf100();
    const ops = operationsOver(fixture.inventory, fleet);
    const fw = ops.firmware.add({
      model: 'TC-200',
      version: '2.5.0',
      url: 'https://fw.example.com/2.5.bin',
      sha256: SHA,
    });
    // Wave 1's devices answer slowly: the process dies with some of them in flight.
    const hold: Array<() => void> = [];
    const answer = fleet.answer;
    fleet.answer = (device, command) =>
      ids.indexOf(device) >= 10 && ids.indexOf(device) < 40
        ? new Promise(() => hold.push(() => {}))
        : answer(device, command);
    const r = ops.rollouts.create({
      firmware_id: fw.id,
      selector: {},
      canary: { count: 10 },
      wave_size: 30,
      failure_threshold: 1,
      confirm_timeout_s: 0.5,
    });
    await until(() => ops.rollouts.get(r.id)!.current_wave === 1 && hold.length >= 10, 'wave 1 in flight');
    await ops.stop(0);
    await fleet.stop();

    const inventory = fixture.reopen();
    const fleet2 = await startFleet(inventory, { received });
    for (const id of ids) fleet2.connect(id, { firmware: inventory.devices.get(id)!.firmware ?? undefined });
    const ops2 = operationsOver(inventory, fleet2);
    cleanups.push(
      () => fixture.cleanup(),
      () => fleet2.stop(),
      () => ops2.stop(100),
    );
    await until(() => ops2.rollouts.get(r.id)!.status === 'completed', 'the rollout to complete after the restart');
    const p = ops2.rollouts.progress(r.id);
    expect(p.total).toBe(100);
    expect(p.done + p.failed).toBe(100);
    for (const id of ids) expect(updates(received, id).length).toBeLessThanOrEqual(1);
    // Devices whose update was in flight at the crash: outcome unknown, not resent, failed after the confirm timeout.
    const inFlight = ops2.rollouts
      .devices(r.id)
      .filter((d) => updates(received, d.device).length === 1 && d.state === 'failed');
    expect(inFlight.length).toBeGreaterThan(0);
    expect(inFlight.every((d) => d.error?.startsWith('did not report version'))).toBe(true);
    expect(ids.filter((id) => updates(received, id).length === 0)).toEqual([]); // nobody was forgotten
  });
});

describe('rollout controls', { timeout: 30_000 }, () => {
  it('a paused rollout sends nothing more until resumed: updates queued behind a busy gateway are withdrawn, deferred devices wait', async () => {
    const { fixture, fleet, received, devices } = await smallFleet('hub', 6, 'hub-1');
    // One update at a time through the gateway: while hub-0's is held, the others wait in the queue.
    const ops = operationsOver(fixture.inventory, fleet, { options: { ...MANUAL_TICKS, commands: { perGateway: 1 } } });
    cleanups.push(
      () => fixture.cleanup(),
      () => fleet.stop(),
      () => ops.stop(100),
    );
    const held = holdUpdateOf(fleet, 'hub-0');
    fleet.disconnect('hub-3'); // away at its turn: deferred
    const fw = ops.firmware.add({
      model: 'TC-200',
      version: '2.0.0',
      url: 'https://fw.example.com/2.bin',
      sha256: SHA,
    });
    const r = ops.rollouts.create({
      firmware_id: fw.id,
      selector: {},
      canary: { count: 4 },
      wave_size: 2,
      retry_offline_s: 0.01,
    });
    await until(() => updates(received, 'hub-0').length === 1, "hub-0's update in flight");
    const state = (id: string) => ops.rollouts.devices(r.id).find((d) => d.device === id)!;
    const queuedCommands = ['hub-1', 'hub-2'].map((id) => state(id).command_id!);
    expect(queuedCommands.map((c) => ops.commands.get(c)!.status)).toEqual(['queued', 'queued']);
    expect(state('hub-3')).toMatchObject({ state: 'pending', attempts: 1 });

    expect(ops.rollouts.pause(r.id).status).toBe('paused');
    expect(queuedCommands.map((c) => ops.commands.get(c)!.status)).toEqual(['cancelled', 'cancelled']);
    for (const id of ['hub-1', 'hub-2'])
      expect(state(id)).toMatchObject({
        state: 'pending',
        error: 'not sent: the rollout was paused; it is sent on resume',
      });
    fleet.connect('hub-3', { firmware: '1.0.0' }); // back, and its retry time has come
    held.release();
    // The update already sent runs its course and is confirmed while paused.
    await tickUntil(ops, () => state('hub-0').state === 'done', "hub-0's update to be confirmed");
    await until(
      () => ops.commands.pending.inFlight === 0 && ops.commands.pending.scheduled === 0,
      'the command queue to be idle',
    );
    for (let i = 0; i < 5; i++) ops.rollouts.tick();
    expect(devices.filter((id) => updates(received, id).length > 0)).toEqual(['hub-0']); // nothing more was sent
    expect(ops.rollouts.get(r.id)).toMatchObject({ status: 'paused', current_wave: 0 });
    expect(ops.rollouts.progress(r.id)).toMatchObject({ done: 1, pending: 5, estimated_end: null });

    expect(ops.rollouts.resume(r.id).status).toBe('running');
    await tickUntil(ops, () => ops.rollouts.get(r.id)!.status === 'completed', 'the resumed rollout to complete');
    for (const id of devices) expect(updates(received, id), id).toHaveLength(1); // each device flashed once
    expect(ops.rollouts.progress(r.id)).toMatchObject({ done: 6, failed: 0, pending: 0 });
  });

  it('abort cancels the updates still queued for the rollout; the one already sent runs its course', async () => {
    const { fixture, fleet, received, devices } = await smallFleet('gw', 5, 'hub-1');
    const ops = operationsOver(fixture.inventory, fleet, { options: { ...MANUAL_TICKS, commands: { perGateway: 1 } } });
    cleanups.push(
      () => fixture.cleanup(),
      () => fleet.stop(),
      () => ops.stop(100),
    );
    const held = holdUpdateOf(fleet, 'gw-0');
    const fw = ops.firmware.add({
      model: 'TC-200',
      version: '2.0.0',
      url: 'https://fw.example.com/2.bin',
      sha256: SHA,
    });
    const r = ops.rollouts.create({ firmware_id: fw.id, selector: {}, canary: { count: 5 } });
    await until(() => updates(received, 'gw-0').length === 1, "gw-0's update in flight");
    const commandOf = (id: string) => ops.rollouts.devices(r.id).find((d) => d.device === id)!.command_id!;
    const queued = devices.slice(1).map(commandOf);
    expect(queued.map((c) => ops.commands.get(c)!.status)).toEqual(['queued', 'queued', 'queued', 'queued']);

    expect(ops.rollouts.abort(r.id).status).toBe('aborted');
    for (const c of queued)
      expect(ops.commands.get(c)).toMatchObject({ status: 'cancelled', error: 'cancelled before it was sent' });
    const audit = fixture.inventory.audit.list({ target: 'gw-1', limit: 10 }).items;
    expect(audit[0]).toMatchObject({ action: 'command.cancelled', actor_name: `rollout ${r.id} aborted` });
    for (const d of ops.rollouts.devices(r.id).slice(1))
      expect(d).toMatchObject({ state: 'pending', error: 'not sent: the rollout was aborted' });
    expect(ops.commands.get(commandOf('gw-0'))!.status).toBe('sent');
    held.release();
    await until(() => ops.commands.get(commandOf('gw-0'))!.status === 'succeeded', "gw-0's update to finish");
    await until(
      () => ops.commands.pending.inFlight === 0 && ops.commands.pending.scheduled === 0,
      'the command queue to be idle',
    );
    expect(devices.filter((id) => updates(received, id).length > 0)).toEqual(['gw-0']);
    expect(ops.rollouts.progress(r.id).estimated_end).toBeNull();
    expect(() => ops.rollouts.pause(r.id)).toThrow(expect.objectContaining({ code: 'conflict' }));
  });

  it('estimates the end from the finished waves while running, and not while paused, halted or aborted', async () => {
    const { fixture, fleet } = await smallFleet('eta', 8);
    const t0 = Date.parse('2026-10-06T09:00:00Z');
    const clock = { ms: t0 };
    const ops = operationsOver(fixture.inventory, fleet, { options: MANUAL_TICKS, now: () => clock.ms });
    cleanups.push(
      () => fixture.cleanup(),
      () => fleet.stop(),
      () => ops.stop(100),
    );
    const failing = new Set<string>();
    const answer = fleet.answer;
    fleet.answer = async (device, command) => {
      if (command.name === 'update_firmware' && failing.has(device)) throw new CommandFailed('flash write error');
      return answer(device, command);
    };
    const fw = ops.firmware.add({
      model: 'TC-200',
      version: '2.0.0',
      url: 'https://fw.example.com/2.bin',
      sha256: SHA,
    });
    // Waves of 2 devices (0 = canary, 1, 2, 3), at least 10 minutes apart.
    const r = ops.rollouts.create({
      firmware_id: fw.id,
      selector: {},
      canary: { count: 2 },
      wave_size: 2,
      wave_interval_s: 600,
    });
    failing.add(ops.rollouts.devices(r.id).find((d) => d.wave === 2)!.device);
    const waveDone = (wave: number) =>
      ops.rollouts
        .devices(r.id)
        .filter((d) => d.wave === wave)
        .every((d) => d.state === 'done' || d.state === 'failed');
    // nothing finished to estimate from
    expect(ops.rollouts.progress(r.id)).toMatchObject({ waves: 4, current_wave: 0, estimated_end: null });
    await tickUntil(ops, () => waveDone(0), 'the canary');
    expect(ops.rollouts.progress(r.id).estimated_end).toBeNull();

    clock.ms = t0 + 600_000; // the pace allows wave 1
    ops.rollouts.tick();
    // One wave took 10 minutes; 3 of 4 waves are left (the current one included).
    const eta = new Date(t0 + 600_000 + 3 * 600_000).toISOString();
    expect(ops.rollouts.progress(r.id)).toMatchObject({ current_wave: 1, estimated_end: eta });
    ops.rollouts.pause(r.id);
    expect(ops.rollouts.progress(r.id).estimated_end).toBeNull();
    ops.rollouts.resume(r.id);
    expect(ops.rollouts.progress(r.id).estimated_end).toBe(eta);
    await tickUntil(ops, () => waveDone(1), 'wave 1');

    clock.ms = t0 + 1_200_000;
    ops.rollouts.tick();
    // Two waves in 20 minutes: still 10 minutes a wave, 2 waves left: the same end.
    expect(ops.rollouts.progress(r.id)).toMatchObject({ current_wave: 2, estimated_end: eta });
    await tickUntil(ops, () => ops.rollouts.get(r.id)!.status === 'halted', 'wave 2 to halt the rollout');
    expect(ops.rollouts.progress(r.id)).toMatchObject({ pending: 2, estimated_end: null });
    ops.rollouts.abort(r.id);
    expect(ops.rollouts.progress(r.id)).toMatchObject({ pending: 2, estimated_end: null });
  });
});
