import { afterEach, describe, expect, it } from 'vitest';
import { useInfluxd } from '../test/helpers/influxd.ts';
import { latestReadingsQuery } from './routes/devices/readings.ts';
import { testApi, type TestApi } from './testing.ts';

const influx = useInfluxd();
let api: TestApi | undefined;
afterEach(async () => {
  await api?.cleanup();
  api = undefined;
});

describe('device detail readings (real influxd)', () => {
  it("gives each series' latest point with its own time, from one InfluxQL query", async () => {
    const db = await influx.freshDatabase();
    const t0 = Date.UTC(2026, 2, 1, 12, 0, 0);
    const lines = [
      `meter_values,device=CP-1,kind=charger,customer=volt,site=volt-lyon,connector=1 energy_wh=1000,power_w=7000 ${t0 * 1e6}`,
      `meter_values,device=CP-1,kind=charger,customer=volt,site=volt-lyon,connector=1 energy_wh=1500,power_w=6500 ${(t0 + 60_000) * 1e6}`,
      `meter_values,device=CP-1,kind=charger,customer=volt,site=volt-lyon,connector=2 energy_wh=300,power_w=0 ${(t0 + 30_000) * 1e6}`,
      `device_status,device=CP-1,kind=charger online=1i,state="online",last_seen_s=0i ${(t0 + 90_000) * 1e6}`,
      `connector_status,device=CP-1,kind=charger,connector=1 status="Charging" ${(t0 + 10_000) * 1e6}`,
      `meter_values,device=CP-2,kind=charger,connector=1 energy_wh=9 ${(t0 + 120_000) * 1e6}`,
      `host_cpu,device=PC-1,kind=pc usage_percent=12.5 ${t0 * 1e6}`,
    ];
    const res = await fetch(`${influx.url}/write?db=${db}`, { method: 'POST', body: lines.join('\n') });
    expect(res.status).toBe(204);

    const queries: string[] = [];
    const client = influx.client(db);
    api = await testApi({ influx: { query: (q: string) => (queries.push(q), client.query(q)) } });
    api.inventory.devices.create({ id: 'CP-1', kind: 'charger', site: 'volt-lyon' });
    const detail = await api.call('viewer', { url: '/api/v1/devices/CP-1' });
    expect(detail.statusCode).toBe(200);
    expect(queries).toEqual([latestReadingsQuery('CP-1')]);
    expect(detail.json().readings).toEqual([
      {
        measurement: 'connector_status',
        tags: { connector: '1' },
        time: new Date(t0 + 10_000).toISOString(),
        fields: { status: 'Charging' },
      },
      {
        measurement: 'device_status',
        tags: {},
        time: new Date(t0 + 90_000).toISOString(),
        fields: { online: 1, state: 'online', last_seen_s: 0 },
      },
      {
        measurement: 'meter_values',
        tags: { connector: '1' },
        time: new Date(t0 + 60_000).toISOString(),
        fields: { energy_wh: 1500, power_w: 6500 },
      },
      {
        measurement: 'meter_values',
        tags: { connector: '2' },
        time: new Date(t0 + 30_000).toISOString(),
        fields: { energy_wh: 300, power_w: 0 },
      },
    ]);
  });

  it('quotes the device id, and gives [] for a device without data', async () => {
    const db = await influx.freshDatabase();
    api = await testApi({ influx: influx.client(db) });
    api.inventory.devices.create({ id: "O'Brien-1", kind: 'pc' });
    const detail = await api.call('viewer', { url: `/api/v1/devices/${encodeURIComponent("O'Brien-1")}` });
    expect(detail.statusCode, detail.body).toBe(200);
    expect(detail.json()).toMatchObject({ readings: [] });
    expect(detail.json()).not.toHaveProperty('readings_error');
  });
});
