import { describe, expect, it } from 'vitest';
import {
  CommandFailed,
  CommandRejected,
  DeviceUnreachable,
  Type,
  type Command,
  type CommandSpec,
} from '../sdk/index.ts';
import { CommandBus, InvalidCommand, type CommandOutcome, type CommandTarget } from './command-bus.ts';

const commands: Record<string, CommandSpec> = {
  ping: { description: 'answer', params: Type.Object({}, { additionalProperties: false }), timeout_s: 0.2 },
  set_interval: {
    description: 'report interval',
    params: Type.Object(
      {
        interval_s: Type.Integer({ minimum: 1, maximum: 3600 }),
        nested: Type.Optional(Type.Object({ level: Type.Integer() })),
      },
      { additionalProperties: false },
    ),
  },
};

/** Parameters with defaults: the bus fills them in. */
const defaulted: Record<string, CommandSpec> = {
  set_mode: {
    description: 'operating mode',
    params: Type.Object(
      {
        mode: Type.Union([Type.Literal('auto'), Type.Literal('manual')], { default: 'auto' }),
        limit: Type.Optional(Type.Object({ level: Type.Integer({ default: 0 }), unit: Type.String() })),
      },
      { additionalProperties: false },
    ),
  },
};

/** A plugin instance as the bus sees it, answering with `answer(command)`. */
function target(
  instance: string,
  answer: (command: Command) => Promise<unknown>,
): CommandTarget & { received: Command[] } {
  const received: Command[] = [];
  return {
    instance,
    commands,
    received,
    execute: (_device, command) => {
      received.push(command);
      return answer(command);
    },
  };
}

function bus() {
  const outcomes: Array<{ outcome: CommandOutcome; instance: string }> = [];
  return { bus: new CommandBus((outcome, instance) => outcomes.push({ outcome, instance })), outcomes };
}

describe('CommandBus', () => {
  it('validates parameters against the declared schema and names the bad parameter', async () => {
    const { bus: b } = bus();
    const t = target('example', async () => 'ok');
    b.attach('d1', t);
    const refused = b.dispatch('d1', { name: 'set_interval', params: { interval_s: 0 } });
    await expect(refused).rejects.toBeInstanceOf(InvalidCommand);
    await expect(refused).rejects.toMatchObject({
      field: 'interval_s',
      message: expect.stringMatching(/set_interval: parameter "interval_s"/),
    });
    await expect(
      b.dispatch('d1', { name: 'set_interval', params: { interval_s: 5, nested: { level: 'x' } } }),
    ).rejects.toMatchObject({ field: 'nested.level' });
    await expect(
      b.dispatch('d1', { name: 'set_interval', params: { interval_s: 5, extra: 1 } }),
    ).rejects.toBeInstanceOf(InvalidCommand);
    expect(t.received).toEqual([]); // nothing reached the device
  });

  it("fills the schema's defaults in (what the queue stores too), leaving the caller's params alone", async () => {
    const { bus: b } = bus();
    const t = { ...target('example', async () => 'ok'), commands: defaulted };
    b.attach('d1', t);
    const params = { limit: { unit: 'W' } };
    expect(await b.dispatch('d1', { name: 'set_mode', params })).toMatchObject({ status: 'succeeded' });
    expect(t.received[0].params).toEqual({ mode: 'auto', limit: { level: 0, unit: 'W' } });
    expect(params).toEqual({ limit: { unit: 'W' } });
    expect(b.validate(defaulted, { name: 'set_mode', params: { mode: 'manual' } })).toEqual({ mode: 'manual' });
  });

  it('refuses an unknown command, listing the ones the device accepts', async () => {
    const { bus: b } = bus();
    b.attach(
      'd1',
      target('example', async () => 'ok'),
    );
    await expect(b.dispatch('d1', { name: 'reboot' })).rejects.toThrow(
      'unknown command "reboot"; this device accepts: ping, set_interval',
    );
    await expect(b.dispatch('d1', { name: 'toString' })).rejects.toBeInstanceOf(InvalidCommand);
  });

  it('throws DeviceUnreachable for a device nobody attached', async () => {
    const { bus: b } = bus();
    await expect(b.dispatch('ghost', { name: 'ping' })).rejects.toBeInstanceOf(DeviceUnreachable);
  });

  it("reports succeeded with the result, and the outcome to the plugin instance's counters", async () => {
    const { bus: b, outcomes } = bus();
    const t = target('example#2', async (c) => ({ echoed: c.params }));
    b.attach('d1', t);
    const outcome = await b.dispatch('d1', { id: 'cmd-1', name: 'set_interval', params: { interval_s: 30 } });
    expect(outcome).toMatchObject({
      id: 'cmd-1',
      device: 'd1',
      command: 'set_interval',
      status: 'succeeded',
      result: { echoed: { interval_s: 30 } },
    });
    expect(outcomes).toEqual([{ outcome, instance: 'example#2' }]);
  });

  it("times out a device that does not answer, and aborts the command's signal", async () => {
    const { bus: b } = bus();
    const t = target('example', () => new Promise(() => {}));
    b.attach('d1', t);
    const outcome = await b.dispatch('d1', { name: 'ping' });
    expect(outcome.status).toBe('timed_out');
    expect(outcome.error).toBe('no answer within 0.2 s');
    expect(t.received[0].signal.aborted).toBe(true);
  });

  it("reports rejected and failed from the plugin's errors", async () => {
    const { bus: b } = bus();
    b.attach(
      'd1',
      target('example', async () => Promise.reject(new CommandRejected('busy charging', { code: 'Rejected' }))),
    );
    expect(await b.dispatch('d1', { name: 'ping' })).toMatchObject({
      status: 'rejected',
      error: 'busy charging',
      result: { code: 'Rejected' },
    });
    b.attach(
      'd1',
      target('example', async () => Promise.reject(new CommandFailed('flash error'))),
    );
    expect(await b.dispatch('d1', { name: 'ping' })).toMatchObject({ status: 'failed', error: 'flash error' });
    b.attach(
      'd1',
      target('example', async () => Promise.reject(new Error('socket hang up'))),
    );
    expect(await b.dispatch('d1', { name: 'ping' })).toMatchObject({ status: 'failed', error: 'socket hang up' });
  });

  it('cancels a command in flight, also one cancelled before it was sent', async () => {
    const { bus: b } = bus();
    const t = target('example', () => new Promise(() => {}));
    b.attach('d1', t);
    const cancel = new AbortController();
    const pending = b.dispatch('d1', {
      name: 'set_interval',
      params: { interval_s: 5 },
      signal: cancel.signal,
      timeout_s: 30,
    });
    cancel.abort();
    expect(await pending).toMatchObject({ status: 'cancelled' });
    expect(t.received[0].signal.aborted).toBe(true);
    const before = new AbortController();
    before.abort();
    expect(
      await b.dispatch('d1', { name: 'set_interval', params: { interval_s: 5 }, signal: before.signal, timeout_s: 30 }),
    ).toMatchObject({ status: 'cancelled' });
    expect(t.received).toHaveLength(1); // the second never reached the device
  });

  it('lets a newer attach replace an older one; the older detach does not remove the newer', async () => {
    const { bus: b } = bus();
    const old = target('example', async () => 'old connection');
    const fresh = target('example', async () => 'new connection');
    const detachOld = b.attach('d1', old);
    const detachNew = b.attach('d1', fresh);
    detachOld();
    expect(b.isAttached('d1')).toBe(true);
    expect((await b.dispatch('d1', { name: 'ping' })).result).toBe('new connection');
    detachNew();
    expect(b.isAttached('d1')).toBe(false);
    await expect(b.dispatch('d1', { name: 'ping' })).rejects.toBeInstanceOf(DeviceUnreachable);
  });

  it('tells attach listeners about every attach, already dispatchable; a throwing listener harms nobody', async () => {
    const { bus: b } = bus();
    const seen: Array<[string, unknown]> = [];
    b.onAttach(() => {
      throw new Error('listener bug');
    });
    const off = b.onAttach((id) => seen.push([id, b.commandsFor(id) && Object.keys(b.commandsFor(id)!)]));
    b.attach(
      'd1',
      target('example', async () => 'ok'),
    );
    b.attach('d1', { ...target('example', async () => 'ok'), commands: {} });
    expect(seen).toEqual([
      ['d1', ['ping', 'set_interval']],
      ['d1', []],
    ]);
    off();
    b.attach(
      'd2',
      target('example', async () => 'ok'),
    );
    expect(seen).toHaveLength(2);
    expect(b.isAttached('d2')).toBe(true);
  });
});
