import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { seedOwners, tempInventory } from '../collector/inventory/test-helpers.ts';
import { unsafeDeviceUrl } from '../collector/sdk/index.ts';
import { Operations } from '../collector/operations/operations.ts';
import { startFleet, until, type Fleet } from '../collector/operations/test-helpers.ts';
import { CommandFailed, type Command } from '../collector/sdk/index.ts';
import type { Inventory } from '../collector/inventory/index.ts';

const SHA = 'a'.repeat(64);
const ids = Array.from({ length: 100 }, (_, i) => `term-${String(i).padStart(3, '0')}`);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function operationsOver(inventory: Inventory, fleet: Fleet): Operations {
  const ops = new Operations({
    inventory,
    bus: fleet.collector.bus,
    plugins: [fleet.plugin],
    emit: (p) => fleet.collector.emitter.system(p),
    log: pino({ level: 'silent' }),
    options: { commands: { pollMs: 10 }, rollouts: { tickMs: 10 } },
  });
  ops.start();
  return ops;
}

async function fleetOf100() {
  const fixture = tempInventory();
  seedOwners(fixture.inventory);
  for (const id of ids) fixture.inventory.devices.create({ id, kind: 'widget', model: 'TC-200', firmware: '1.0.0', site: 'acme-berlin' });
  const received = new Map<string, Command[]>();
  const fleet = await startFleet(fixture.inventory, { received });
  for (const id of ids) fleet.connect(id, { firmware: '1.0.0' });
  return { fixture, fleet, received };
}

const updates = (received: Map<string, Command[]>, id: string) => (received.get(id) ?? []).filter((c) => c.name === 'update_firmware');

describe('firmware catalogue', () => {
  it('refuses loopback, link-local, file: and other unsafe image URLs', () => {
    for (const url of ['http://127.0.0.1/fw.bin', 'http://localhost:8080/fw', 'https://[::1]/x', 'http://169.254.169.254/latest', 'http://[fe80::1]/x', 'http://[::ffff:127.0.0.1]/x', 'file:///etc/passwd', 'ftp://fw.example.com/a', 'http://0.0.0.0/x', 'http://2130706433/x']) {
      expect(unsafeDeviceUrl(url), url).toBeDefined();
    }
    expect(unsafeDeviceUrl('https://fw.example.com/tc200/2.0.0.bin')).toBeUndefined();
    expect(unsafeDeviceUrl('ftp://fw.example.com/a', ['ftp:'])).toBeUndefined();
  });
});

describe('firmware rollouts over 100 devices', { timeout: 45_000 }, () => {
  it('halts at the failure threshold, retries devices offline at their turn, and a resumed rollout finishes', async () => {
    const { fixture, fleet, received } = await fleetOf100();
    const ops = operationsOver(fixture.inventory, fleet);
    cleanups.push(() => fixture.cleanup(), () => fleet.stop(), () => ops.stop(100));
    // Wave 2 (devices 25-44): every other device fails to flash, 50 % > the 20 % threshold.
    const failing = new Set(ids.slice(25, 45).filter((_, i) => i % 2 === 0));
    const offline = ['term-050', 'term-051', 'term-052']; // wave 3: away at their turn
    const answer = fleet.answer;
    fleet.answer = async (device, command) => {
      if (command.name === 'update_firmware' && failing.has(device)) throw new CommandFailed('flash write error');
      return answer(device, command);
    };
    const fw = ops.firmware.add({ model: 'TC-200', version: '2.0.0', url: 'https://fw.example.com/tc200-2.0.0.bin', sha256: SHA, notes: 'fixes the printer timeout' });
    expect(() => ops.firmware.add({ model: 'TC-200', version: '2.0.1', url: 'http://127.0.0.1/fw', sha256: SHA })).toThrow(expect.objectContaining({ field: 'url' }));
    // The catalogue stores and shows its URLs: credentials in one are refused too.
    expect(() => ops.firmware.add({ model: 'TC-200', version: '2.0.1', url: 'https://user:pw@fw.example.com/a', sha256: SHA })).toThrow(/credentials/);

    const rollout = ops.rollouts.create({ firmware_id: fw.id, selector: { site: 'acme-berlin' }, canary: { percent: 5 }, wave_size: 20, failure_threshold: 0.2, retry_offline_s: 0.05, confirm_timeout_s: 5 });
    expect(ops.rollouts.progress(rollout.id)).toMatchObject({ total: 100, waves: 6, done: 0 });
    await until(() => ops.rollouts.get(rollout.id)!.status === 'halted', 'the rollout to halt');
    const halted = ops.rollouts.get(rollout.id)!;
    expect(halted.current_wave).toBe(2);
    expect(halted.halt_reason).toBe('wave 2: 10 of 20 devices failed, more than 20 %');
    expect(ops.rollouts.progress(rollout.id)).toMatchObject({ done: 35, failed: 10, pending: 55 });
    expect(updates(received, 'term-050')).toEqual([]); // wave 3 never started

    for (const id of offline) fleet.disconnect(id);
    ops.rollouts.resume(rollout.id);
    await until(() => ops.rollouts.devices(rollout.id).filter((d) => offline.includes(d.device)).every((d) => d.attempts > 0), 'the offline devices to be deferred');
    await until(() => ops.rollouts.get(rollout.id)!.current_wave >= 4, 'the next waves to go on without them');
    for (const id of offline) fleet.connect(id, { firmware: '1.0.0' });
    await until(() => ops.rollouts.get(rollout.id)!.status === 'completed', 'the rollout to complete');

    const p = ops.rollouts.progress(rollout.id);
    expect(p).toMatchObject({ total: 100, done: 90, failed: 10, pending: 0, percent: 90, estimated_end: null });
    for (const id of offline) expect(ops.rollouts.devices(rollout.id).find((d) => d.device === id)).toMatchObject({ state: 'done' });
    for (const id of ids) expect(updates(received, id)).toHaveLength(1); // nobody flashed twice
    expect(updates(received, ids[0]!)[0]!.params).toEqual({ version: '2.0.0', url: 'https://fw.example.com/tc200-2.0.0.bin', sha256: SHA });
    expect(fixture.inventory.devices.all({ firmware: '2.0.0' })).toHaveLength(90);
    expect(fleet.sink.lines.some((l) => l.startsWith('rollout_progress,') && l.includes('status="completed"'))).toBe(true);
  });

  it('pause, abort, and refusals', async () => {
    const { fixture, fleet } = await fleetOf100();
    const ops = operationsOver(fixture.inventory, fleet);
    cleanups.push(() => fixture.cleanup(), () => fleet.stop(), () => ops.stop(100));
    const fw = ops.firmware.add({ model: 'TC-200', version: '3.0.0', url: 'https://fw.example.com/3.bin', sha256: SHA });
    expect(() => ops.rollouts.create({ firmware_id: fw.id, selector: { site: 'volt-lyon' } })).toThrow(expect.objectContaining({ field: 'selector' }));
    expect(() => ops.rollouts.create({ firmware_id: 'nope', selector: {} })).toThrow(expect.objectContaining({ field: 'firmware_id' }));
    const r = ops.rollouts.create({ firmware_id: fw.id, selector: {}, canary: { count: 2 }, wave_size: 50, wave_interval_s: 3600 });
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
    const fw = ops.firmware.add({ model: 'TC-200', version: '2.5.0', url: 'https://fw.example.com/2.5.bin', sha256: SHA });
    // Wave 1's devices answer slowly: the process dies with some of them in flight.
    const hold: Array<() => void> = [];
    const answer = fleet.answer;
    fleet.answer = (device, command) => (ids.indexOf(device) >= 10 && ids.indexOf(device) < 40 ? new Promise(() => hold.push(() => {})) : answer(device, command));
    const r = ops.rollouts.create({ firmware_id: fw.id, selector: {}, canary: { count: 10 }, wave_size: 30, failure_threshold: 1, confirm_timeout_s: 0.5 });
    await until(() => ops.rollouts.get(r.id)!.current_wave === 1 && hold.length >= 10, 'wave 1 in flight');
    await ops.stop(0);
    await fleet.stop();

    const inventory = fixture.reopen();
    const fleet2 = await startFleet(inventory, { received });
    for (const id of ids) fleet2.connect(id, { firmware: inventory.devices.get(id)!.firmware ?? undefined });
    const ops2 = operationsOver(inventory, fleet2);
    cleanups.push(() => fixture.cleanup(), () => fleet2.stop(), () => ops2.stop(100));
    await until(() => ops2.rollouts.get(r.id)!.status === 'completed', 'the rollout to complete after the restart');
    const p = ops2.rollouts.progress(r.id);
    expect(p.total).toBe(100);
    expect(p.done + p.failed).toBe(100);
    for (const id of ids) expect(updates(received, id).length).toBeLessThanOrEqual(1);
    // Devices whose update was in flight at the crash: outcome unknown, not resent, failed after the confirm timeout.
    const inFlight = ops2.rollouts.devices(r.id).filter((d) => updates(received, d.device).length === 1 && d.state === 'failed');
    expect(inFlight.length).toBeGreaterThan(0);
    expect(inFlight.every((d) => d.error?.startsWith('did not report version'))).toBe(true);
    expect(ids.filter((id) => updates(received, id).length === 0)).toEqual([]); // nobody was forgotten
  });
});
