import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validatePluginConfig } from '../../collector/runtime/plugin-config.ts';
import {
  CommandFailed,
  DeviceUnreachable,
  MemoryDirectory,
  type Command,
  type RunningPlugin,
} from '../../collector/sdk/index.ts';
import { TestAccumulator } from '../../collector/sdk/testing.ts';
import plug from './index.ts';

// Shelly plugs are third-party HTTP devices that cannot run here: nock answers for them.
beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const STATUS = {
  id: 0,
  source: 'init',
  output: true,
  apower: 87.4,
  voltage: 229.8,
  current: 0.412,
  pf: 0.92,
  aenergy: { total: 15234.5, by_minute: [1, 2, 3], minute_ts: 1 },
  temperature: { tC: 41.2, tF: 106.2 },
};

async function start(shelly: Record<string, unknown>, directory = new MemoryDirectory()) {
  const config = validatePluginConfig(plug, 'plug', { shelly: { poll_interval_s: 3600, ...shelly } });
  const acc = new TestAccumulator(plug, config, { directory });
  const running = await plug.start(acc.context);
  return { acc, running };
}
const status = (host: string) => nock(`http://${host}`).get('/rpc/Switch.GetStatus').query({ id: '0' });
const outcomes = (acc: TestAccumulator) =>
  ['ok', 'timeout', 'unreachable', 'http_error', 'bad_response'].reduce(
    (n, o) => n + (acc.events.get(`shelly_${o}`) ?? 0),
    0,
  );
const command = (name: string, params: unknown = {}): Command => ({
  id: name,
  name,
  params,
  signal: new AbortController().signal,
});

describe('plug plugin: Shelly', () => {
  it('fills nested defaults and names a bad key', () => {
    const config = validatePluginConfig(plug, 'plug', {}) as {
      shelly: { timeout_ms: number; devices: unknown[] };
      tasmota: { broker_url: string };
    };
    expect(config.shelly.timeout_ms).toBe(2000);
    expect(config.shelly.devices).toEqual([]);
    expect(config.tasmota.broker_url).toBe('');
    expect(() =>
      validatePluginConfig(plug, 'plug', { shelly: { devices: [{ id: 'p', address: 'x', colour: 'red' }] } }),
    ).toThrow(/plugins\.plug\.shelly\.devices\.0\.colour: unknown option/);
  });

  it('polls a plug and writes its state and electrical reading', async () => {
    status('plug-a.test').reply(200, STATUS);
    const { acc, running } = await start({ devices: [{ id: 'console-1', address: 'plug-a.test' }] });
    await expect.poll(() => acc.points.length).toBe(2);
    expect(acc.of('plug_state', 'console-1')[0].fields).toEqual({ on: expect.objectContaining({ value: 1 }) });
    expect(acc.of('plug_power', 'console-1')[0]).toMatchObject({
      tags: { device: 'console-1', protocol: 'shelly' },
      fields: {
        power_w: 87.4,
        energy_wh: 15234.5,
        voltage_v: 229.8,
        current_a: 0.412,
        power_factor: 0.92,
        temperature_c: 41.2,
      },
    });
    expect(acc.seen).toEqual([{ device: 'console-1', kind: 'plug' }]);
    expect(acc.connections.has('console-1')).toBe(true);
    await running.stop();
  });

  it('counts timeouts, 500s, garbage and refused connections per plug, and still polls the healthy one', async () => {
    status('slow.test').delay(30_000).reply(200, STATUS);
    status('broken.test').reply(500, 'internal error');
    status('garbage.test').reply(200, '<html>not json');
    status('wrong.test').reply(200, { id: 0, output: 'yes' });
    status('good.test').reply(200, STATUS);
    const names = ['slow', 'broken', 'garbage', 'wrong', 'gone', 'good'];
    const { acc, running } = await start({
      timeout_ms: 1000,
      devices: names.map((n) => ({ id: n, address: `${n}.test` })),
    });
    await expect.poll(() => outcomes(acc)).toBe(6);
    expect(Object.fromEntries([...acc.events].filter(([k]) => k.startsWith('shelly_')))).toEqual({
      shelly_timeout: 1,
      shelly_http_error: 1,
      shelly_bad_response: 2,
      shelly_unreachable: 1,
      shelly_ok: 1,
    });
    expect(acc.seen.map((s) => s.device)).toEqual(['good']);
    expect([...acc.connections.keys()]).toEqual(['good']);
    await running.stop();
  });

  it('1,000 plugs with some unreachable: every poll completes and every healthy plug is polled', async () => {
    const plugs = Array.from({ length: 1000 }, (_, i) => ({ id: `p${i}`, address: `p${i}.fleet.test` }));
    // 50 plugs hang far past the timeout (a generous one: the CI machine is loaded)
    const dead = (i: number) => i % 20 === 0;
    const gone = (i: number) => i % 20 === 1; // 50 plugs refuse the connection (no interceptor)
    plugs.forEach((p, i) => {
      if (dead(i)) status(p.address).delay(60_000).reply(200, STATUS);
      else if (!gone(i)) status(p.address).reply(200, STATUS);
    });
    const { acc, running } = await start({ timeout_ms: 2000, concurrency: 50, devices: plugs });
    await expect.poll(() => outcomes(acc), { timeout: 30_000 }).toBe(1000);
    expect(acc.events.get('shelly_ok')).toBe(900);
    expect(acc.events.get('shelly_timeout')).toBe(50);
    expect(acc.events.get('shelly_unreachable')).toBe(50);
    const polled = new Set(acc.of('plug_state').map((p) => p.tags.device));
    expect(plugs.filter((_, i) => !dead(i) && !gone(i)).every((p) => polled.has(p.id))).toBe(true);
    await running.stop();
  });

  it('polls inventory plugs labelled protocol=shelly with an address', async () => {
    const directory = new MemoryDirectory()
      .add({ id: 'inv-plug', kind: 'plug', labels: { protocol: 'shelly', address: 'inv.test:8080', switch_id: '1' } })
      .add({ id: 'tas-plug', kind: 'plug', labels: { protocol: 'tasmota' } })
      .add({ id: 'a-pc', kind: 'pc', labels: { protocol: 'shelly', address: 'pc.test' } });
    nock('http://inv.test:8080').get('/rpc/Switch.GetStatus').query({ id: '1' }).reply(200, STATUS);
    const { acc, running } = await start({}, directory);
    await expect.poll(() => outcomes(acc)).toBe(1);
    expect(acc.of('plug_power', 'inv-plug')).toHaveLength(1);
    await running.stop();
  });

  it('never polls an inventory plug whose address the policy refuses (stored around the API), and counts it', async () => {
    const directory = new MemoryDirectory()
      .add({ id: 'lan-plug', kind: 'plug', labels: { protocol: 'shelly', address: '10.0.0.9' } })
      .add({ id: 'influx-plug', kind: 'plug', labels: { protocol: 'shelly', address: '127.0.0.1:8086' } })
      .add({ id: 'meta-plug', kind: 'plug', labels: { protocol: 'shelly', address: '169.254.169.254' } });
    status('10.0.0.9').reply(200, STATUS);
    const { acc, running } = await start({}, directory);
    await expect.poll(() => outcomes(acc)).toBe(1);
    expect(acc.events.get('shelly_refused_address')).toBe(2);
    expect([...new Set(acc.of('plug_state').map((p) => p.tags.device))]).toEqual(['lan-plug']);
    await running.stop();
  });

  it('switches a plug: power_off, power_cycle in order, failures as CommandFailed', async () => {
    status('cmd.test').reply(200, STATUS);
    const { acc, running } = await start({ devices: [{ id: 'console-9', address: 'cmd.test' }] });
    const exec: NonNullable<RunningPlugin['execute']> = running.execute!.bind(running);
    await expect.poll(() => acc.connections.has('console-9')).toBe(true);

    const set = (on: boolean) =>
      nock('http://cmd.test')
        .get('/rpc/Switch.Set')
        .query({ id: '0', on: String(on) });
    set(false).reply(200, { was_on: true });
    await expect(exec('console-9', command('power_off'))).resolves.toEqual({ on: false, was_on: true });
    expect(acc.of('plug_state', 'console-9').at(-1)!.fields.on).toMatchObject({ value: 0 });

    const order: string[] = [];
    set(false).reply(200, () => (order.push('off'), { was_on: true }));
    set(true).reply(200, () => (order.push('on'), { was_on: false }));
    await expect(exec('console-9', command('power_cycle', { off_s: 1 }))).resolves.toEqual({ on: true, off_s: 1 });
    expect(order).toEqual(['off', 'on']);

    set(true).reply(500, 'relay stuck');
    await expect(exec('console-9', command('power_on'))).rejects.toThrow(CommandFailed);
    set(true).reply(200, 'nonsense');
    await expect(exec('console-9', command('power_on'))).rejects.toThrow(/not JSON/);
    await expect(exec('not-a-plug', command('power_on'))).rejects.toThrow(DeviceUnreachable);
    await running.stop();
  });
});
