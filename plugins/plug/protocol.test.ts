import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseShellySet,
  parseShellyStatus,
  parseTasmota,
  ProtocolError,
  shellySetUrl,
  tasmotaPowerCommand,
} from './protocol.ts';

// Recorded from a Shelly Plus Plug S (firmware 1.0) and a Tasmota 13 Sonoff S31.
const SHELLY =
  '{"id":0,"source":"HTTP_in","output":true,"apower":8.9,"voltage":229.4,"freq":50.0,"current":0.068,"pf":0.6,"aenergy":{"total":6532.154,"by_minute":[45.199,47.141,88.397],"minute_ts":1654511380},"temperature":{"tC":23.5,"tF":74.4}}';
const STATE =
  '{"Time":"2025-05-01T12:00:00","Uptime":"0T01:02:03","UptimeSec":3723,"Heap":25,"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":1,"POWER":"ON","Wifi":{"AP":1,"SSId":"venue","BSSId":"AA:BB:CC:DD:EE:FF","Channel":6,"Mode":"11n","RSSI":80,"Signal":-60,"LinkCount":1,"Downtime":"0T00:00:03"}}';
const SENSOR =
  '{"Time":"2025-05-01T12:00:00","ENERGY":{"TotalStartTime":"2024-01-01T00:00:00","Total":1.234,"Yesterday":0.1,"Today":0.05,"Period":0,"Power":12,"ApparentPower":15,"ReactivePower":5,"Factor":0.8,"Voltage":230,"Current":0.065}}';

describe('plug protocol', () => {
  it('reads a Shelly switch status in stored units', () => {
    expect(parseShellyStatus(SHELLY)).toEqual({
      on: true,
      power_w: 8.9,
      energy_wh: 6532.154,
      voltage_v: 229.4,
      current_a: 0.068,
      power_factor: 0.6,
      temperature_c: 23.5,
    });
    expect(parseShellyStatus('{"id":0,"output":false}')).toMatchObject({ on: false, power_w: undefined });
    for (const bad of ['', '<html>', '[]', '{"id":0}', '{"output":"on"}'])
      expect(() => parseShellyStatus(bad), bad).toThrow(ProtocolError);
    expect(parseShellySet('{"was_on":true}')).toEqual({ was_on: true });
    expect(() => parseShellySet('{}')).toThrow(/was_on/);
    expect(shellySetUrl('10.0.0.5', 0, false)).toBe('http://10.0.0.5/rpc/Switch.Set?id=0&on=false');
  });

  it('reads Tasmota LWT, STATE, SENSOR (kWh to Wh) and POWER results', () => {
    expect(parseTasmota('tele/tv_1/LWT', 'Offline')).toEqual({ topic: 'tv_1', type: 'lwt', online: false });
    expect(parseTasmota('tele/tv_1/STATE', STATE)).toEqual({
      topic: 'tv_1',
      type: 'state',
      on: true,
      rssi_dbm: -60,
      uptime_s: 3723,
    });
    expect(parseTasmota('tele/tv_1/SENSOR', SENSOR)).toEqual({
      topic: 'tv_1',
      type: 'sensor',
      reading: { power_w: 12, energy_wh: 1234, voltage_v: 230, current_a: 0.065, power_factor: 0.8 },
    });
    expect(parseTasmota('tele/tv_1/SENSOR', '{"AM2301":{"Temperature":21}}')).toBeUndefined();
    expect(parseTasmota('stat/tv_1/RESULT', '{"POWER":"OFF"}')).toEqual({ topic: 'tv_1', type: 'power', on: false });
    expect(parseTasmota('stat/tv_1/RESULT', '{"TelePeriod":60}')).toBeUndefined();
    expect(parseTasmota('stat/tv_1/POWER', 'ON')).toEqual({ topic: 'tv_1', type: 'power', on: true });
    expect(tasmotaPowerCommand('tv_1', false)).toEqual({ topic: 'cmnd/tv_1/POWER', payload: 'OFF' });
    for (const [topic, payload] of [
      ['tele/tv_1/LWT', 'online'],
      ['tele/tv_1/STATE', '{'],
      ['stat/tv_1/POWER', 'MAYBE'],
      ['tele/a/b/STATE', '{}'],
    ]) {
      expect(() => parseTasmota(topic, payload), `${topic} ${payload}`).toThrow(ProtocolError);
    }
  });

  it('throws nothing but ProtocolError on arbitrary payloads', () => {
    const topics = ['tele/x/LWT', 'tele/x/STATE', 'tele/x/SENSOR', 'stat/x/RESULT', 'stat/x/POWER'];
    fc.assert(
      fc.property(fc.constantFrom(...topics), fc.oneof(fc.string(), fc.json()), (topic, payload) => {
        for (const parse of [() => parseTasmota(topic, payload), () => parseShellyStatus(payload)]) {
          try {
            parse();
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw err;
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
