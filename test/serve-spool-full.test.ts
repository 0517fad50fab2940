/**
 * A full spool in the real `serve`: InfluxDB unreachable (a closed port), a tiny spool, a sensor
 * that keeps sending. The configured policy decides which points stay; the process keeps
 * serving; every drop is counted in `fleetpulse_points_dropped_total{reason="spool_full"}`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../collector/pipeline/ports.ts';
import { metricValue, pumpReadings, spooledLines, startServe, type ServeProcess } from './helpers/serve-process.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-serve-spool-'));
const running: ServeProcess[] = [];
afterAll(async () => {
  for (const s of running) await s.stop('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const MAX_BYTES = 16 * 1024;
const READINGS = 1000;

/** Every line committed to serve's spool file. */
function committedLines(dataDir: string): string[] {
  const db = new Database(path.join(dataDir, 'spool.db'));
  try {
    return spooledLines(db);
  } finally {
    db.close();
  }
}

function spooledSequences(dataDir: string): number[] {
  const lines = committedLines(dataDir).filter((l) => l.startsWith('sensor_reading,'));
  return lines.map((l) => Number(/uptime_s=(\d+)i/.exec(l)![1]));
}

interface Health {
  status: string;
  spool: { points: number; bytes: number };
}

describe.concurrent('serve with a full spool', () => {
  for (const policy of ['drop_oldest', 'drop_newest'] as const) {
    it(`${policy}: applies the policy, keeps running and counts the drops`, async () => {
      const dir = path.join(root, policy);
      mkdirSync(dir);
      const dataDir = path.join(dir, 'data');
      const serve = await startServe({
        dir,
        config: {
          data_dir: dataDir,
          http: { host: '127.0.0.1', port: 0 },
          influx: { url: `http://127.0.0.1:${await freePort()}`, database: 'nowhere' },
          pipeline: { spool_max_bytes: MAX_BYTES, when_full: policy, flush_interval_ms: 50 },
          plugins: { example: { accept_unknown: true } },
        },
      });
      running.push(serve);
      const done = new AbortController();
      const sensor = pumpReadings(serve.url, 'sensor-1', {
        t0: Date.now() - 60_000,
        signal: done.signal,
        limit: READINGS,
      });
      const emitted = 'fleetpulse_points_emitted_total{plugin="example"}';
      await (async () => {
        const end = Date.now() + 30_000;
        while ((await metricValue(serve.url, emitted)) < READINGS) {
          if (Date.now() > end)
            throw new Error(`serve did not take ${READINGS} readings:\n${serve.output().slice(-2000)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      // The last readings may still wait for their commit: wait until the file holds every point
      // serve counts as held (none waiting in memory).
      let health: Health;
      const settled = Date.now() + 30_000;
      for (;;) {
        health = (await (await fetch(`${serve.url}/healthz`)).json()) as Health;
        if (committedLines(dataDir).length === health.spool.points) break;
        if (Date.now() > settled)
          throw new Error(`the spool file never caught up with ${health.spool.points} points held`);
        await new Promise((r) => setTimeout(r, 50));
      }

      const dropped = await metricValue(serve.url, 'fleetpulse_points_dropped_total{reason="spool_full"}');
      expect(health.status).toBe('ok');
      expect(health.spool.bytes).toBeLessThanOrEqual(MAX_BYTES);
      expect(dropped).toBeGreaterThan(READINGS / 2);
      // Runtime points (status, self-metrics) share the spool; every point is either kept or counted.
      expect(health.spool.points + dropped).toBeGreaterThanOrEqual(READINGS);

      const kept = spooledSequences(dataDir);
      expect(kept.length).toBeGreaterThan(0);
      if (policy === 'drop_oldest') {
        // The newest readings, contiguous, and before them what the drain's two workers had
        // claimed when InfluxDB could not be reached (never dropped): at most two earlier runs.
        let from = kept.length - 1;
        while (from > 0 && kept[from - 1] === kept[from] - 1) from--;
        const tail = kept.slice(from);
        expect(tail.at(-1)).toBe(READINGS - 1);
        expect(tail).toEqual(tail.map((_, i) => tail[0] + i));
        const head = kept.slice(0, kept.length - tail.length);
        expect(head.every((seq, i) => i === 0 || seq > head[i - 1])).toBe(true);
        // two runs at most
        expect(head.filter((seq, i) => i > 0 && seq !== head[i - 1] + 1).length).toBeLessThanOrEqual(1);
      } else {
        // The first readings, contiguous.
        expect(kept).toEqual(kept.map((_, i) => i));
      }

      // Still serving: the sensor is connected and the process answers a clean shutdown.
      done.abort();
      expect((await sensor).sent).toBe(READINGS);
      expect(await serve.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    });
  }
});
