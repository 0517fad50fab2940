import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { METER_FIELDS, normaliseMeterValues, normaliseSample } from './meter.ts';
import { chooseProtocol, frameErrorCode, identityProblem, jittered } from './protocol.ts';
import { commandSpecs, STATION_COMMANDS, toCall, type CommandName, type StatelessCommand } from './vocabulary.ts';
import { deviceModelSpecs } from './device-model.ts';
import { monitoringSpecs } from './monitoring.ts';
import { networkProfileSpecs } from './network-profile.ts';
import { makeCa } from '../../test/helpers/test-ca.ts';

// ocpp-rpc's own schema validators: what strict mode checks every outbound call against.
const validators = createRequire(import.meta.url)('ocpp-rpc/lib/standard-validators.js') as Array<{
  subprotocol: string;
  validate(id: string, v: unknown): boolean;
}>;
const validate = (version: string, action: string, payload: unknown) =>
  validators.find((v) => v.subprotocol === version)!.validate(`urn:${action}.req`, payload);

describe('meter values', () => {
  it('normalises a recorded 1.6 MeterValues (kWh, kW, per-phase A and V, Celsius, Percent)', () => {
    const { readings, skipped } = normaliseMeterValues([
      {
        timestamp: '2024-05-01T10:00:00Z',
        sampledValue: [
          { value: '12.345', unit: 'kWh', context: 'Sample.Periodic' },
          { value: '7.4', measurand: 'Power.Active.Import', unit: 'kW' },
          { value: '16.1', measurand: 'Current.Import', phase: 'L1', unit: 'A' },
          { value: '231.0', measurand: 'Voltage', phase: 'L1-N', unit: 'V' },
          { value: '310.15', measurand: 'Temperature', unit: 'K', location: 'Body' },
          { value: '55', measurand: 'SoC', unit: 'Percent', location: 'EV' },
          { value: 'ABCDEF', format: 'SignedData' },
          { value: 'n/a', measurand: 'Voltage' },
        ],
      },
    ]);
    const t = Date.parse('2024-05-01T10:00:00Z');
    expect(readings).toEqual([
      {
        time: t,
        phase: undefined,
        location: undefined,
        fields: { energy_active_import_wh: 12_345, power_active_import_w: 7400 },
      },
      { time: t, phase: 'L1', location: undefined, fields: { current_import_a: 16.1 } },
      { time: t, phase: 'L1-N', location: undefined, fields: { voltage_v: 231 } },
      { time: t, phase: undefined, location: 'Body', fields: { temperature_c: 37 } },
      { time: t, phase: undefined, location: 'EV', fields: { soc_pct: 55 } },
    ]);
    expect(skipped.map((s) => s.reason)).toEqual(['signed data is not decoded', 'value "n/a" is not a number']);
  });

  it('applies 2.0.1 unitOfMeasure multipliers and refuses units that do not fit the measurand', () => {
    expect(
      normaliseSample('Energy.Active.Import.Register', { value: 12.5, unitOfMeasure: { unit: 'kWh', multiplier: 1 } }),
    ).toEqual({ field: 'energy_active_import_wh', value: 125_000 });
    expect(normaliseSample('Power.Active.Import', { value: 3, unitOfMeasure: { unit: 'W', multiplier: 3 } })).toEqual({
      field: 'power_active_import_w',
      value: 3000,
    });
    expect(normaliseSample('Temperature', { value: '98.6', unit: 'Fahrenheit' })).toEqual({
      field: 'temperature_c',
      value: 37,
    });
    expect(normaliseSample('Voltage', { value: '230', unit: 'kWh' })).toBe('unit kWh does not fit Voltage');
    expect(normaliseSample('Bogus.Measurand', { value: '1' })).toBe('unknown measurand Bogus.Measurand');
  });

  it('never throws on any schema-valid sampled value, and every field it yields is declared', () => {
    const measurand = fc.constantFrom(...Object.keys(METER_FIELDS), 'Unknown.Thing');
    const unit = fc.constantFrom(
      undefined,
      'Wh',
      'kWh',
      'W',
      'kW',
      'A',
      'V',
      'K',
      'Celsius',
      'Fahrenheit',
      'Percent',
      'varh',
      'kvar',
      'VA',
      'Hz',
      'furlongs',
    );
    const value = fc.oneof(fc.double(), fc.string(), fc.integer().map(String));
    const declared = new Set(Object.values(METER_FIELDS).map((f) => f.field));
    fc.assert(
      fc.property(
        fc.array(fc.record({ measurand, unit, value, phase: fc.constantFrom(undefined, 'L1', 'L2-N') }), {
          maxLength: 8,
        }),
        fc.string(),
        (svs, ts) => {
          const out = normaliseMeterValues([
            { timestamp: ts, sampledValue: svs },
            { timestamp: '2024-01-01T00:00:00Z', sampledValue: svs },
          ]);
          for (const r of out.readings)
            for (const [k, v] of Object.entries(r.fields)) expect(declared.has(k) && Number.isFinite(v)).toBe(true);
        },
      ),
    );
  });
});

describe('handshake rules', () => {
  it('prefers 2.0.1, accepts 1.6, refuses anything else', () => {
    expect(chooseProtocol(new Set(['ocpp1.6', 'ocpp2.0.1']))).toBe('ocpp2.0.1');
    expect(chooseProtocol(new Set(['ocpp1.6']))).toBe('ocpp1.6');
    expect(chooseProtocol(new Set(['ocpp2.1', 'ocpp1.5']))).toBeUndefined();
    expect(chooseProtocol(new Set())).toBeUndefined();
  });

  it('refuses empty, long, colon, and identities no device id may be (what line protocol cannot carry)', () => {
    expect(identityProblem('CP-001')).toBeUndefined();
    expect(identityProblem('')).toMatch(/no charger identity/);
    expect(identityProblem('x'.repeat(49))).toMatch(/48/);
    expect(identityProblem('a:b')).toMatch(/":"/);
    expect(identityProblem('a b')).toMatch(/only letters, digits/);
    expect(identityProblem('CP-1\\')).toMatch(/ends with a backslash/);
    expect(identityProblem('CP-1\n2')).toMatch(/control character/);
    expect(identityProblem('CP-\u00e9')).toMatch(/only letters, digits/);
  });

  it("maps ocpp-rpc's 2.0.1 frame errors to 1.6 codes", () => {
    expect(frameErrorCode('ocpp1.6', 'RpcFrameworkError')).toBe('FormationViolation');
    expect(frameErrorCode('ocpp1.6', 'MessageTypeNotSupported')).toBe('FormationViolation');
    expect(frameErrorCode('ocpp2.0.1', 'RpcFrameworkError')).toBe('RpcFrameworkError');
  });

  it('jitters ping intervals within the bounds', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (r) => {
        const v = jittered(60_000, 0.25, () => r);
        expect(v >= 45_000 && v <= 75_000).toBe(true);
      }),
    );
  });
});

const caDir = mkdtempSync(join(tmpdir(), 'fleetpulse-protocol-'));
const rootPem = readFileSync(makeCa(caDir).cert, 'utf8');
afterAll(() => rmSync(caDir, { recursive: true, force: true }));

/** Commands that 1.6 has no message for: refused, never sent. */
const ONLY_201 = new Set([
  'get_transaction_status',
  'get_charging_profiles',
  'publish_firmware',
  'unpublish_firmware',
  'set_display_message',
  'get_display_messages',
  'clear_display_message',
  'customer_information',
  ...Object.keys(deviceModelSpecs),
  ...Object.keys(monitoringSpecs),
  ...Object.keys(networkProfileSpecs),
]);

describe('commands', () => {
  const samples: Record<StatelessCommand, object> = {
    reset: { type: 'hard' },
    remote_start: { id_tag: 'TAG1', connector: 1 },
    remote_stop: { transaction_id: '17' },
    unlock_connector: { connector: 1 },
    change_availability: { connector: 1, available: true },
    get_config: { keys: ['OCPPCommCtrlr.HeartbeatInterval'] },
    set_config: { key: 'OCPPCommCtrlr.HeartbeatInterval', value: '60' },
    trigger_message: { message: 'StatusNotification', connector: 1 },
    update_firmware: { location: 'https://fw.example.com/a.bin', retries: 3, retry_interval_s: 60 },
    get_diagnostics: { location: 'https://logs.example.com/', start_time: '2024-01-01T00:00:00Z' },
    clear_cache: {},
    get_transaction_status: { transaction_id: 'TX-1' },
    set_charging_profile: {
      connector: 1,
      profile: {
        id: 7,
        stack_level: 1,
        purpose: 'tx_default',
        kind: 'recurring',
        recurrency: 'daily',
        schedule: {
          unit: 'W',
          start: '2024-01-01T00:00:00Z',
          duration_s: 86_400,
          periods: [
            { start_s: 0, limit: 11_000, phases: 3 },
            { start_s: 64_800, limit: 3_700 },
          ],
        },
      },
    },
    clear_charging_profile: { connector: 1, purpose: 'tx_default', stack_level: 1 },
    get_composite_schedule: { connector: 1, duration_s: 3600, unit: 'W' },
    get_charging_profiles: { connector: 1, purpose: 'tx', ids: [7] },
    set_security_profile: { profile: 2 },
    rotate_password: { password: 'Abcdefghij0123456789' },
    install_certificate: { type: 'csms_root', certificate: rootPem },
    get_installed_certificates: { types: ['manufacturer_root'] },
    delete_certificate: {
      hash_algorithm: 'SHA256',
      issuer_name_hash: 'ab',
      issuer_key_hash: 'cd',
      serial_number: '01',
    },
    get_log: { type: 'security', location: 'ftp://logs.example.com/', retries: 1 },
    get_base_report: { report_base: 'SummaryInventory' },
    get_report: {
      components: [{ component: 'EVSE', evse: 1, variable: 'Power' }, { component: 'OCPPCommCtrlr' }],
      criteria: ['Problem'],
    },
    set_variable_monitoring: {
      monitors: [
        { component: 'TempSensor', evse: 1, variable: 'Temperature', type: 'UpperThreshold', value: 70, severity: 2 },
      ],
    },
    clear_variable_monitoring: { ids: [3, 4] },
    set_monitoring_base: { base: 'FactoryDefault' },
    set_monitoring_level: { severity: 4 },
    get_monitoring_report: { criteria: ['ThresholdMonitoring'], components: [{ component: 'TempSensor' }] },
    set_network_profile: {
      slot: 2,
      ocpp_version: 'OCPP20',
      transport: 'JSON',
      csms_url: 'wss://csms.example.com/ocpp/',
      message_timeout_s: 30,
      security_profile: 2,
      interface: 'Wireless0',
      apn: { apn: 'internet.example', authentication: 'AUTO' },
    },
    publish_firmware: { location: 'https://fw.example.com/a.bin', checksum: 'd41d8cd98f00b204e9800998ecf8427e' },
    unpublish_firmware: { checksum: 'd41d8cd98f00b204e9800998ecf8427e' },
    set_display_message: {
      id: 4,
      priority: 'in_front',
      message: { content: 'Out of order', language: 'en' },
      state: 'faulted',
      start_at: '2024-01-01T00:00:00Z',
      evse: 1,
    },
    get_display_messages: { ids: [4], priority: 'in_front', state: 'faulted' },
    clear_display_message: { id: 4 },
    customer_information: {
      report: true,
      clear: false,
      customer_identifier: 'C-1',
      id_token: { id: 'TAG1' },
      customer_certificate: {
        hash_algorithm: 'SHA256',
        issuer_name_hash: 'ab',
        issuer_key_hash: 'cd',
        serial_number: '01',
      },
    },
    data_transfer: { vendor_id: 'com.example', message_id: 'Ping', data: 'hello' },
  };
  it("every command maps to a payload that passes the version's own schema", () => {
    const stateless = Object.keys(commandSpecs).filter((n) => !STATION_COMMANDS.has(n));
    expect(Object.keys(samples).sort()).toEqual(stateless.sort());
    for (const version of ['ocpp1.6', 'ocpp2.0.1'] as const) {
      for (const [name, params] of Object.entries(samples)) {
        const call = toCall(version, name as CommandName, params, 'cmd-1');
        if (version === 'ocpp1.6' && ONLY_201.has(name)) {
          expect(call.action, name).toBe('');
          continue;
        }
        expect(() => validate(version, call.action, call.payload), `${version} ${name}`).not.toThrow();
      }
    }
  });

  it('refuses a call that cannot be expressed in the version', () => {
    // The location rule (outbound policy) is applied where the call is sent: commands.test.ts.
    expect(toCall('ocpp1.6', 'remote_stop', { transaction_id: 'TX-A' }, 'c').interpret({}).reason).toMatch(/integers/);
    expect(toCall('ocpp1.6', 'get_transaction_status', {}, 'c')).toMatchObject({ action: '' });
  });

  it('never sends the security keys through set_config, which would leave the handshake checks behind', () => {
    for (const [version, key] of [
      ['ocpp1.6', 'SecurityProfile'],
      ['ocpp1.6', 'authorizationkey'],
      ['ocpp2.0.1', 'SecurityCtrlr.SecurityProfile'],
      ['ocpp2.0.1', 'SecurityCtrlr.BasicAuthPassword'],
    ] as const) {
      const call = toCall(version, 'set_config', { key, value: '1' }, 'c');
      expect(call.action, key).toBe('');
      expect(call.interpret({}).reason).toMatch(/set_security_profile/);
    }
  });
});

describe('security extension commands', () => {
  const call = (version: 'ocpp1.6' | 'ocpp2.0.1', name: CommandName, params: object) => {
    const c = toCall(version, name, params, 'cmd-1');
    if (c.action) validate(version, c.action, c.payload);
    return c;
  };

  it('asks for a CSR with 1.6 ExtendedTriggerMessage and 2.0.1 TriggerMessage', () => {
    expect(call('ocpp1.6', 'trigger_message', { message: 'SignCertificate' })).toMatchObject({
      action: 'ExtendedTriggerMessage',
      payload: { requestedMessage: 'SignChargePointCertificate' },
    });
    expect(call('ocpp2.0.1', 'trigger_message', { message: 'SignCertificate' })).toMatchObject({
      action: 'TriggerMessage',
      payload: { requestedMessage: 'SignChargingStationCertificate' },
    });
    // extended: the 1.6 LogStatusNotification of GetLog, not the DiagnosticsStatusNotification of GetDiagnostics.
    expect(call('ocpp1.6', 'trigger_message', { message: 'LogStatusNotification', extended: true }).payload).toEqual({
      requestedMessage: 'LogStatusNotification',
    });
    expect(call('ocpp1.6', 'trigger_message', { message: 'LogStatusNotification' })).toMatchObject({
      action: 'TriggerMessage',
      payload: { requestedMessage: 'DiagnosticsStatusNotification' },
    });
    const refused = call('ocpp1.6', 'trigger_message', { message: 'DiagnosticsStatusNotification', extended: true });
    expect(refused.action).toBe('');
  });

  it('sends signed firmware as 1.6 SignedUpdateFirmware and as 2.0.1 UpdateFirmware fields; half a pair is refused', () => {
    const signed = {
      location: 'https://fw.example.com/a.bin',
      retrieve_at: '2026-01-01T00:00:00Z',
      signing_certificate: rootPem,
      signature: 'c2lnbmF0dXJl',
    };
    expect(call('ocpp1.6', 'update_firmware', signed)).toMatchObject({
      action: 'SignedUpdateFirmware',
      payload: {
        requestId: expect.any(Number),
        firmware: { location: signed.location, signingCertificate: rootPem, signature: 'c2lnbmF0dXJl' },
      },
    });
    expect(call('ocpp2.0.1', 'update_firmware', signed)).toMatchObject({
      action: 'UpdateFirmware',
      payload: { firmware: { signingCertificate: rootPem, signature: 'c2lnbmF0dXJl' } },
    });
    expect(call('ocpp1.6', 'update_firmware', { location: signed.location }).action).toBe('UpdateFirmware');
    const half = call('ocpp1.6', 'update_firmware', { location: signed.location, signature: 'c2ln' });
    expect([half.action, half.interpret({}).reason]).toEqual(['', expect.stringMatching(/both/)]);
  });

  it('names certificate uses in each version, and refuses what 1.6 has no name for', () => {
    expect(call('ocpp1.6', 'install_certificate', { type: 'csms_root', certificate: rootPem }).payload).toEqual({
      certificateType: 'CentralSystemRootCertificate',
      certificate: rootPem,
    });
    expect(call('ocpp2.0.1', 'install_certificate', { type: 'v2g_root', certificate: rootPem }).payload).toEqual({
      certificateType: 'V2GRootCertificate',
      certificate: rootPem,
    });
    expect(call('ocpp1.6', 'install_certificate', { type: 'v2g_root', certificate: rootPem }).action).toBe('');
    expect(call('ocpp2.0.1', 'install_certificate', { type: 'csms_root', certificate: 'not a pem' }).action).toBe('');
    expect(call('ocpp1.6', 'get_installed_certificates', {}).action).toBe('');
    const all = call('ocpp2.0.1', 'get_installed_certificates', {});
    expect(all.payload).toEqual({});
    // NotFound is an answer (nothing of that type installed), not a refusal.
    expect(all.interpret({ status: 'NotFound' }).outcome).toBe('ok');
  });

  it('uploads logs with GetLog on both versions; get_diagnostics stays GetDiagnostics on 1.6', () => {
    const p = { location: 'https://logs.example.com/', start_time: '2026-01-01T00:00:00Z' };
    expect(call('ocpp1.6', 'get_log', { type: 'security', ...p }).payload).toEqual({
      logType: 'SecurityLog',
      requestId: expect.any(Number),
      log: { remoteLocation: p.location, oldestTimestamp: p.start_time },
    });
    expect(call('ocpp2.0.1', 'get_diagnostics', p).payload).toMatchObject({ logType: 'DiagnosticsLog' });
    expect(call('ocpp1.6', 'get_diagnostics', p).action).toBe('GetDiagnostics');
  });
});
