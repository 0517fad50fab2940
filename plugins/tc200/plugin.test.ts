import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import Value from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandRejected } from '../../collector/sdk/index.ts';
import { TestAccumulator } from '../../collector/sdk/testing.ts';
import { validatePluginConfig } from '../../collector/runtime/plugin-config.ts';
import { config, type Tc200Config } from './config.ts';
import plugin from './index.ts';
import simulator from './simulator.ts';
import { FAST, startRig, until, type Rig } from './testing.ts';

const SERIAL = 'TC2-000123';
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const command = (name: string, params: unknown = {}) => ({
  id: `c-${name}`,
  name,
  params,
  signal: new AbortController().signal,
});

describe('tc200 plugin on a socat pty pair', () => {
  it('turns hello and status into points with the serial number as device', async () => {
    rig = await startRig({ terminal: { serial: SERIAL, firmware: '2.4.1', faults: { error_code: 0x105, spikes: 1 } } });
    const { acc } = rig;
    const info = await until('terminal_info', () => acc.of('terminal_info', SERIAL)[0]);
    expect(info.tags).toEqual({ device: SERIAL, port: rig.pair.host });
    expect(info.fields).toMatchObject({ firmware: '2.4.1', model: 'TC-200' });
    expect(acc.seen).toContainEqual({
      device: SERIAL,
      kind: 'terminal',
      model: 'TC-200',
      firmware: '2.4.1',
      state: 'online',
    });
    const status = await until('terminal_status', () => acc.of('terminal_status', SERIAL)[0]);
    expect(status.fields.state).toBe('error');
    expect(status.fields.error_code).toMatchObject({ value: 0x105 });
    expect(status.fields.cpu_pct as number).toBeGreaterThanOrEqual(90); // the CPU/memory spike fault
    expect(status.fields.mem_pct as number).toBeGreaterThanOrEqual(90);
    expect(acc.seen).toContainEqual({ device: SERIAL, state: 'error', reason: '0x0105' });
    expect(acc.connections.has(SERIAL)).toBe(true);
    // The agent's intervals were pushed to the terminal at connect.
    await until('intervals pushed', () => rig!.terminal!.parameters.status_interval_s === 1);
    expect(plugin.runs_in).toEqual(['agent']);
  });

  it('keeps every status through noise, bad CRCs, lost bytes and split frames', async () => {
    rig = await startRig({
      terminal: { serial: SERIAL, faults: { noise: 0.3, corrupt: 0.15, drop_bytes: 0.002, split: true, spikes: 0.5 } },
    });
    const { acc } = rig;
    await until('4 status reports', () => acc.of('terminal_status', SERIAL).length >= 4, 20_000);
    const link = await until(
      'link stats with errors',
      () => acc.of('terminal_link', SERIAL).find((p) => num(p.fields.bad_crc) + num(p.fields.framing_errors) > 0),
      20_000,
    );
    expect(num(link.fields.discarded_bytes)).toBeGreaterThan(0);
    // Nothing garbled got through: counters only grow and every percentage is a percentage.
    const statuses = acc.of('terminal_status', SERIAL);
    const tx = statuses.map((p) => num(p.fields.transactions));
    expect(tx).toEqual([...tx].sort((a, b) => a - b));
    for (const p of statuses) expect(p.fields.cpu_pct as number).toBeLessThanOrEqual(100);
  });

  it('refuses a malformed message with a NAK, counts it and keeps serving the terminal', async () => {
    const { Link } = await import('./link.ts');
    const { encodeMessage, MsgType, NakReason } = await import('./protocol.ts');
    const { SerialPort } = await import('serialport');
    rig = await startRig({ terminal: false });
    // The test plays the terminal itself, byte for byte.
    const port = new SerialPort({ path: rig.pair.device, baudRate: 115200 });
    const link = new Link({ write: (b) => void port.write(b), deliver: () => 0, ack_timeout_ms: 60 });
    port.on('data', (d: Buffer) => link.receive(d));
    try {
      await new Promise((resolve) => port.once('open', resolve));
      const hello = encodeMessage({
        type: 'hello',
        serial: 'TC2-RAW',
        model: 'TC-200',
        firmware: '1.0.0',
        uptime_s: 1,
        boot_count: 1,
      });
      await link.send(hello.type, hello.payload);
      await expect(link.send(MsgType.STATUS, Buffer.from('09', 'hex'))).rejects.toMatchObject({
        reason: NakReason.MALFORMED,
      });
      await expect(link.send(0x7f, Buffer.alloc(0))).rejects.toMatchObject({ reason: NakReason.UNKNOWN_TYPE });
      expect(rig.acc.events.get('malformed_message')).toBe(2);
      const status = encodeMessage({
        type: 'status',
        state: 'idle',
        error_code: 0,
        transactions: 5,
        failed_transactions: 0,
        paper: 'ok',
        temperature_c: 40,
        free_storage_kb: 100,
        cpu_pct: 10,
        mem_pct: 20,
        disk_pct: 30,
      });
      await link.send(status.type, status.payload);
      await until('status after the bad frames', () => rig!.acc.of('terminal_status', 'TC2-RAW')[0]);
    } finally {
      link.close();
      await new Promise((resolve) => port.close(resolve));
    }
  });

  it('marks the terminal offline when the port vanishes and reconnects when it returns', async () => {
    rig = await startRig({ terminal: { serial: SERIAL } });
    const { acc, pair } = rig;
    await until('first hello', () => acc.of('terminal_info', SERIAL).length >= 1);
    const hellos = acc.of('terminal_info', SERIAL).length;
    await pair.stop(); // USB cable pulled: socat and both pty links are gone
    await until('offline', () => acc.offline.includes(SERIAL));
    expect(acc.connections.has(SERIAL)).toBe(false);
    await expect(rig.running.execute!(SERIAL, command('get_diagnostics'))).rejects.toThrow(/not connected/);
    await pair.restart(); // plugged back in under the same name
    await until('hello after reconnect', () => acc.of('terminal_info', SERIAL).length > hellos);
    expect(acc.connections.has(SERIAL)).toBe(true);
    expect((acc.events.get('port_closed') ?? 0) + (acc.events.get('port_open_failed') ?? 0)).toBeGreaterThan(0);
    const before = acc.of('terminal_status', SERIAL).length;
    await until('status after reconnect', () => acc.of('terminal_status', SERIAL).length > before);
  });

  it('runs reboot, set_parameters and get_diagnostics', async () => {
    rig = await startRig({ terminal: { serial: SERIAL } });
    const { acc, running, terminal } = rig;
    await until('attached', () => acc.connections.get(SERIAL));
    const diag = (await running.execute!(SERIAL, command('get_diagnostics'))) as Record<string, string>;
    expect(diag).toMatchObject({ firmware: '2.4.1', card_reader: 'ok', boots: '1' });
    await running.execute!(
      SERIAL,
      command('set_parameters', { receipt_header: 'Corner Shop', beep_volume: 2, contactless_enabled: false }),
    );
    expect(terminal!.parameters).toMatchObject({
      receipt_header: 'Corner Shop',
      beep_volume: 2,
      contactless_enabled: false,
    });
    await expect(running.execute!(SERIAL, command('set_parameters', { beep_volume: 11 }))).rejects.toThrow(
      CommandRejected,
    );
    await expect(running.execute!(SERIAL, command('set_parameters', { volume: 1 }))).rejects.toThrow(/set_parameters/);
    await expect(running.execute!(SERIAL, command('set_parameters', {}))).rejects.toThrow(CommandRejected);
    expect(terminal!.parameters.beep_volume).toBe(2);
    const hellos = acc.of('terminal_info', SERIAL).length;
    await running.execute!(SERIAL, command('reboot'));
    await until('hello after reboot', () => terminal!.boots === 2 && acc.of('terminal_info', SERIAL).length > hellos);
    await expect(running.execute!('TC2-NOBODY', command('reboot'))).rejects.toThrow(/not connected/);
  });
});

describe('tc200 simulator and docs', () => {
  it('the simulator runs terminals on pty pairs an agent can open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tc200-sim-test-'));
    const stop = new AbortController();
    const progress = { update: () => {}, count: () => {} };
    const run = simulator.run({
      server: '',
      count: 2,
      options: { dir, prefix: 'TC2-T-' },
      progress,
      signal: stop.signal,
    });
    const acc = new TestAccumulator(
      plugin,
      Value.Default(config, { ...FAST, ports: [{ path: join(dir, 'TC2-T-00002.host') }] }) as Tc200Config,
    );
    try {
      await until('pty links', () => existsSync(join(dir, 'TC2-T-00002.host')));
      const running = await plugin.start(acc.context);
      await until('hello from the simulated terminal', () => acc.of('terminal_info', 'TC2-T-00002')[0]);
      await running.stop();
    } finally {
      stop.abort();
      await run;
      await rm(dir, { recursive: true, force: true });
    }
    expect(existsSync(join(dir, 'TC2-T-00001.host'))).toBe(false);
  });

  it('a bad configuration is refused naming the key', () => {
    expect(() => validatePluginConfig(plugin, 'tc200', { ports: [{ path: '/dev/ttyUSB0', baud: 9600 }] })).toThrow(
      'plugins.tc200.ports.0.baud: unknown option',
    );
    expect(() => validatePluginConfig(plugin, 'tc200', { firmware: { chunk_bytes: 4096 } })).toThrow(
      'plugins.tc200.firmware.chunk_bytes: must be <= 1018',
    );
  });

  it('the sample config shows the defaults and the README embeds it', () => {
    const sample = readFileSync(new URL('./tc200.sample.yaml', import.meta.url), 'utf8');
    const section = (load(sample) as { plugins: { tc200: unknown } }).plugins.tc200;
    expect(section).toEqual(Value.Default(config, {}));
    expect(readFileSync(new URL('./README.md', import.meta.url), 'utf8')).toContain(sample);
  });
});

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number((v as { value: number | bigint }).value);
}
