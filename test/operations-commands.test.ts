import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandCatalogue } from '../collector/commands/command-catalogue.ts';
import { CommandQueue, CommandQueueError, type CommandQueueOptions } from '../collector/commands/command-queue.ts';
import type { CommandRecord } from '../collector/commands/command-store.ts';
import type { Inventory } from '../collector/inventory/index.ts';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import { startFleet, until, type Fleet } from '../collector/operations/testing.ts';
import { CommandRejected, type Command } from '../collector/sdk/index.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function queueFor(inventory: Inventory, fleet: Fleet, extra: Partial<CommandQueueOptions> = {}): CommandQueue {
  const queue = new CommandQueue({
    db: inventory.db,
    bus: fleet.collector.bus,
    catalogue: new CommandCatalogue([fleet.plugin]),
    lookup: (id) => inventory.directory.lookup(id),
    audit: (e) => inventory.audit.record(e),
    emit: (p) => fleet.collector.emitter.system(p),
    log: pino({ level: 'silent' }),
    pollMs: 20,
    ...extra,
  });
  return queue;
}

async function setup(devices: string[], opts: { gateway?: string; queue?: Partial<CommandQueueOptions> } = {}) {
  const fixture = tempInventory();
  seedOwners(fixture.inventory);
  for (const id of devices)
    fixture.inventory.devices.create({ id, kind: 'widget', site: 'acme-berlin', gateway: opts.gateway ?? null });
  const fleet = await startFleet(fixture.inventory);
  const queue = queueFor(fixture.inventory, fleet, opts.queue);
  queue.start();
  cleanups.push(
    () => fixture.cleanup(),
    () => fleet.stop(),
    () => queue.stop(100),
  );
  return { inventory: fixture.inventory, fixture, fleet, queue };
}

/** The devices' answers, held until released one at a time; `most` is the most in flight at once. */
function holdAnswers(fleet: Fleet) {
  const held = { now: 0, most: 0, release: [] as Array<() => void> };
  fleet.answer = () =>
    new Promise((resolve) => {
      held.most = Math.max(held.most, ++held.now);
      held.release.push(() => {
        held.now--;
        resolve('ok');
      });
    });
  return held;
}

async function releaseOneByOne(queue: CommandQueue, created: CommandRecord[], held: ReturnType<typeof holdAnswers>) {
  const done = () => created.every((c) => queue.get(c.id)!.status === 'succeeded');
  while (!done()) {
    await until(() => held.release.length > 0 || done(), 'a command in flight');
    held.release.shift()?.();
  }
}

describe('durable commands', { timeout: 30_000 }, () => {
  it('validates against the declared schema even for an offline device, and refuses unknown devices', async () => {
    const { queue } = await setup(['w1']);
    expect(() => queue.create([{ device: 'w1', name: 'set_volume', params: { level: 11 } }])).toThrow(
      expect.objectContaining({ code: 'invalid', field: 'params.level' }),
    );
    expect(() => queue.create([{ device: 'w1', name: 'self_destruct' }])).toThrow(
      expect.objectContaining({ code: 'invalid', field: 'name' }),
    );
    expect(() => queue.create([{ device: 'ghost', name: 'reboot' }])).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
    expect(() => queue.create([{ device: 'w1', name: 'reboot', expires_in_s: -1 }])).toThrow(CommandQueueError);
    expect(queue.list({ limit: 10 }).items).toEqual([]); // nothing queued by a refused request
  });

  it('waits for an offline device, sends once it attaches, and audits and emits every state change', async () => {
    const { queue, fleet, inventory } = await setup(['w1']);
    const [cmd] = queue.create([{ device: 'w1', name: 'set_volume', params: { level: 3 }, actor: 'ops-key' }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(queue.get(cmd.id)!.status).toBe('queued');
    fleet.connect('w1');
    await until(() => queue.get(cmd.id)!.status === 'succeeded', 'the command to succeed');
    const done = queue.get(cmd.id)!;
    expect(done).toMatchObject({ result: 'ok', error: null, created_by: 'ops-key' });
    expect(done.sent_at).toBeGreaterThanOrEqual(done.created_at);
    expect(fleet.received.get('w1')!.map((c) => [c.id, c.params])).toEqual([[cmd.id, { level: 3 }]]);
    const audit = inventory.audit
      .list({ target: 'w1', limit: 10 })
      .items.map((e) => e.action)
      .reverse();
    expect(audit).toEqual(['command.queued', 'command.sent', 'command.succeeded']);
    const lines = fleet.sink.lines.filter((l) => l.startsWith('command_outcome,'));
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/command=set_volume,.*status=succeeded.* count=1i,latency_ms=/);
    expect(lines[2]).toContain('kind=widget'); // enriched with inventory tags
  });

  it('expires a command whose device never came back, and cancels a queued one', async () => {
    const { queue } = await setup(['w1', 'w2']);
    const [short] = queue.create([{ device: 'w1', name: 'reboot', expires_in_s: 0.1 }]);
    const [later] = queue.create([{ device: 'w2', name: 'reboot' }]);
    await until(() => queue.get(short.id)!.status === 'expired', 'expiry');
    expect(queue.cancel(later.id, 'ops-key').status).toBe('cancelled');
    expect(() => queue.cancel(later.id)).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => queue.cancel('nope')).toThrow(expect.objectContaining({ code: 'not_found' }));
  });

  it('cancels a command in flight', async () => {
    const { queue, fleet } = await setup(['w1']);
    fleet.answer = () => new Promise(() => {});
    fleet.connect('w1');
    const [cmd] = queue.create([{ device: 'w1', name: 'reboot' }]);
    await until(() => queue.get(cmd.id)!.status === 'sent', 'sent');
    queue.cancel(cmd.id);
    await until(() => queue.get(cmd.id)!.status === 'cancelled', 'cancelled');
  });

  it('maps device failures and timeouts to their terminal states', async () => {
    const { queue, fleet } = await setup(['w1', 'w2']);
    fleet.answer = async (device) => {
      if (device === 'w1') throw new Error('flash busy');
      return new Promise(() => {});
    };
    fleet.connect('w1');
    fleet.connect('w2');
    const [a, b] = queue.create([
      { device: 'w1', name: 'reboot' },
      { device: 'w2', name: 'reboot', timeout_s: 0.1 },
    ]);
    await until(
      () => queue.get(a.id)!.status === 'failed' && queue.get(b.id)!.status === 'timed_out',
      'failed and timed_out',
    );
    expect(queue.get(a.id)!.error).toBe('flash busy');
  });

  it('ends a command the device rejects as rejected, with its audit entry and command_outcome point', async () => {
    const { queue, fleet, inventory } = await setup(['w1']);
    fleet.answer = async () =>
      Promise.reject(new CommandRejected('busy: a payment is in progress', { code: 'Rejected' }));
    fleet.connect('w1');
    const [cmd] = queue.create([{ device: 'w1', name: 'reboot', actor: 'ops-key' }]);
    await until(() => queue.get(cmd.id)!.status === 'rejected', 'the command to be rejected');
    const ended = queue.get(cmd.id)!;
    expect(ended).toMatchObject({ error: 'busy: a payment is in progress', result: { code: 'Rejected' } });
    expect(ended.ended_at).toBeGreaterThanOrEqual(ended.sent_at!);
    const audit = inventory.audit.list({ target: 'w1', limit: 10 }).items.reverse();
    expect(audit.map((e) => e.action)).toEqual(['command.queued', 'command.sent', 'command.rejected']);
    expect(audit[0]).toMatchObject({ actor_name: 'ops-key', source: null, details: { source: 'api' } });
    expect(audit[2]).toMatchObject({
      result: 'failed',
      source: null,
      actor_name: 'fleetpulse',
      details: { command: cmd.id, name: 'reboot', source: 'api', error: 'busy: a payment is in progress' },
    });
    const lines = fleet.sink.lines.filter((l) => l.startsWith('command_outcome,'));
    expect(lines.map((l) => /status=(\w+)/.exec(l)![1])).toEqual(['queued', 'sent', 'rejected']);
    expect(lines[2]).toMatch(/command=reboot,.*source=api.*status=rejected.* count=1i,latency_ms=[\d.]+,wait_ms=/);
    expect(fleet.received.get('w1')).toHaveLength(1); // rejected is terminal: never sent again
  });

  it('re-queues, audits and reports a command whose device went offline as it was sent, and sends it once it is back', async () => {
    const { queue, fleet, inventory } = await setup(['w1']);
    fleet.connect('w1');
    // The device goes away between the `sent` commit and the bus (here: as the sent change is reported).
    let dropped = false;
    queue.onChange((r) => {
      if (r.status === 'sent' && !dropped) {
        dropped = true;
        fleet.disconnect('w1');
      }
    });
    const [cmd] = queue.create([{ device: 'w1', name: 'set_volume', params: { level: 4 } }]);
    await until(
      () => inventory.audit.list({ target: 'w1', limit: 10 }).items.some((e) => e.action === 'command.requeued'),
      'the re-queue to be audited',
    );
    expect(queue.get(cmd.id)).toMatchObject({ status: 'queued', sent_at: null, error: null });
    expect(fleet.received.get('w1')).toBeUndefined(); // nothing reached the device
    const requeued = inventory.audit.list({ target: 'w1', limit: 10 }).items[0];
    expect(requeued).toMatchObject({
      action: 'command.requeued',
      result: 'ok',
      details: { command: cmd.id, error: expect.stringMatching(/^not sent: the device went offline/) },
    });

    fleet.connect('w1');
    await until(() => queue.get(cmd.id)!.status === 'succeeded', 'the command to succeed once the device is back');
    const actions = inventory.audit
      .list({ target: 'w1', limit: 10 })
      .items.map((e) => e.action)
      .reverse();
    expect(actions).toEqual([
      'command.queued',
      'command.sent',
      'command.requeued',
      'command.sent',
      'command.succeeded',
    ]);
    const statuses = fleet.sink.lines
      .filter((l) => l.startsWith('command_outcome,'))
      .map((l) => /status=(\w+)/.exec(l)![1]);
    expect(statuses).toEqual(['queued', 'sent', 'queued', 'sent', 'succeeded']);
    expect(fleet.received.get('w1')!.map((c) => c.id)).toEqual([cmd.id]); // sent exactly once
  });

  it('sends the commands of one device one at a time in creation order, also those created in the same millisecond', async () => {
    const clock = { ms: Date.parse('2026-10-01T08:00:00Z') };
    const { queue, fleet } = await setup(['w1'], { queue: { now: () => clock.ms } });
    const order: number[] = [];
    let inFlight = 0;
    let most = 0;
    fleet.answer = async (_device, command) => {
      most = Math.max(most, ++inFlight);
      order.push((command.params as { level: number }).level);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return 'ok';
    };
    // Eleven commands with one created_at: their random ids would order them 1 in 11! times.
    const created: CommandRecord[] = [];
    for (let level = 0; level <= 10; level++)
      created.push(...queue.create([{ device: 'w1', name: 'set_volume', params: { level } }]));
    expect(new Set(created.map((c) => c.created_at)).size).toBe(1);
    fleet.connect('w1');
    await until(() => created.every((c) => queue.get(c.id)!.status === 'succeeded'), 'every command to succeed');
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(most).toBe(1);
  });

  it('bounds commands in flight overall, across gateways', async () => {
    // Twelve devices without a gateway: each is its own, so only the overall bound (2 here) holds them back.
    const ids = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const { queue, fleet } = await setup(ids, { queue: { concurrency: 2 } });
    const held = holdAnswers(fleet);
    for (const id of ids) fleet.connect(id);
    const created = queue.create(ids.map((device) => ({ device, name: 'reboot' })));
    await until(() => held.release.length === 2, 'two commands in flight');
    expect(created.filter((c) => queue.get(c.id)!.status === 'queued')).toHaveLength(10); // the rest wait, still queued
    await releaseOneByOne(queue, created, held);
    expect(held.most).toBe(2);
    for (const id of ids) expect(fleet.received.get(id)).toHaveLength(1);
  });

  it('bounds commands in flight per gateway', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `t${i}`);
    const { queue, fleet } = await setup(ids, { gateway: 'agent-1' });
    const held = holdAnswers(fleet);
    for (const id of ids) fleet.connect(id);
    const created = queue.create(ids.map((device) => ({ device, name: 'reboot' })));
    await releaseOneByOne(queue, created, held);
    expect(held.most).toBe(4); // perGateway default
  });

  it('survives a restart mid-way: queued commands are kept, sent ones are never sent again', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const fixture = tempInventory();
    seedOwners(fixture.inventory);
    for (const id of ids) fixture.inventory.devices.create({ id, kind: 'widget', site: 'acme-berlin' });
    const received = new Map<string, Command[]>();
    const first = await startFleet(fixture.inventory, { received });
    first.answer = () => new Promise(() => {}); // the first ten hang: the process dies with them in flight
    const q1 = queueFor(fixture.inventory, first);
    q1.start();
    for (const id of ids.slice(0, 10)) first.connect(id);
    const created = q1.create(ids.map((device) => ({ device, name: 'reboot' })));
    await until(() => created.slice(0, 10).every((c) => q1.get(c.id)!.status === 'sent'), 'ten sent');
    await q1.stop(0); // "crash": nothing waits for the devices
    await first.stop();

    const inventory = fixture.reopen();
    const second = await startFleet(inventory, { received });
    const q2 = queueFor(inventory, second);
    cleanups.push(
      () => fixture.cleanup(),
      () => second.stop(),
      () => q2.stop(100),
    );
    q2.start();
    for (const id of ids) second.connect(id);
    await until(() => created.every((c) => !['queued', 'sent'].includes(q2.get(c.id)!.status)), 'every command ended');
    for (const c of created.slice(0, 10))
      expect(q2.get(c.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^outcome unknown/) });
    for (const c of created.slice(10)) expect(q2.get(c.id)!.status).toBe('succeeded');
    for (const id of ids) expect(received.get(id)!.length).toBe(1); // each device got its command exactly once
  });
});
