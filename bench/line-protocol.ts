/**
 * Line-protocol encoding: our `encodeLine` against `@influxdata/influxdb-client`'s
 * `Point.toLineProtocol()`, on the same 200,000 realistic device points.
 *
 * Fairness: both sides' point objects are built before timing, from the same readings. The
 * reference formats its field values when a field is set (`floatField` etc.), so its timed part is
 * sorting, escaping keys and concatenating; ours formats values inside the timed part. Both
 * produce one string per point; the total length is summed so that the work cannot be optimised
 * away. Time is CPU time (see `cpuSeconds`), in 15 paired rounds after a warm-up, each timed
 * part starting from an empty young generation; the figures are each side's median rate, and the
 * ratio the median of the paired rounds' ratios (unrounded: bench/run.ts judges it).
 *
 * Goal: ours ≥ 5 × the reference (issue 19).
 *
 * Run: npx tsx bench/line-protocol.ts
 */
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Point as ReferencePoint } from '@influxdata/influxdb-client';
import { encodeLine } from '../collector/pipeline/line-protocol.ts';
import { Int, type Fields, type Point, type Tags } from '../collector/sdk/point.ts';
import { median } from './median.ts';
import { prng } from './prng.ts';
import { figure, verdict, type Result } from './result.ts';

const POINTS = 200_000;
const ROUNDS = 15;
const GOAL = 5;

type Field =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  /** `fresh`: sent by the device, so each point has its own copy; else one of a fixed set. */
  | { type: 'string'; value: string; fresh: boolean }
  | { type: 'bool'; value: boolean };

interface Sample {
  measurement: string;
  /**
   * One string per device and value, as in the runtime: the device id comes from its connection,
   * kind/model/customer/site from the inventory the runtime enriches points with, and small
   * numbers such as a connector id from `String(n)`, which V8 caches.
   */
  tags: [key: string, value: string][];
  fields: [string, Field][];
  time: number;
}

/** The fleet and its readings, in a neutral form that both point types are built from. */
function samples(count: number): Sample[] {
  const rnd = prng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const kinds = ['terminal', 'pc', 'charger', 'pos', 'plug'] as const;
  const models: Record<(typeof kinds)[number], string[]> = {
    terminal: ['TC-200', 'TC-200R'],
    pc: ['NUC 11', 'OptiPlex 3000'],
    charger: ['Wallbox Pulsar', 'ABB Terra AC', 'Alfen Eve'],
    pos: ['Square Register', 'Sunmi T2'],
    plug: ['Shelly Plug S', 'Sonoff S31'],
  };
  const fleet = Array.from({ length: 2000 }, (_, i) => {
    const kind = pick(kinds);
    const customer = `cust-${String(Math.floor(rnd() * 40)).padStart(3, '0')}`;
    return {
      id: `${kind}-${String(i).padStart(5, '0')}`,
      kind,
      model: pick(models[kind]),
      customer,
      site: `${customer}-site-${Math.floor(rnd() * 12)}`,
    };
  });
  // As loaded from the inventory: plain strings, one set per device.
  const devices = JSON.parse(JSON.stringify(fleet)) as typeof fleet;
  const states = ['online', 'offline', 'error', 'maintenance'];
  const t0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, ms
  const out: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const d = devices[i % devices.length];
    // Tags in the order the runtime builds them: the plugin's first, then the inventory's.
    const tags: Sample['tags'] = [['device', d.id]];
    let measurement: string;
    let fields: [string, Field][];
    const r = rnd();
    if (r < 0.3) {
      measurement = 'device_status';
      const state = pick(states);
      fields = [
        ['online', { type: 'int', value: state === 'offline' ? 0 : 1 }],
        ['state', { type: 'string', value: state, fresh: false }],
        ['last_seen_s', { type: 'float', value: Math.round(rnd() * 3000) / 10 }],
      ];
    } else if (r < 0.65 || d.kind === 'charger') {
      measurement = 'meter_values';
      tags.push(['connector', String(1 + Math.floor(rnd() * 2))]);
      fields = [
        ['energy_wh', { type: 'float', value: Math.round(rnd() * 5e7) / 10 }],
        ['power_w', { type: 'float', value: Math.round(rnd() * 22_000 * 10) / 10 }],
        ['current_a', { type: 'float', value: Math.round(rnd() * 3200) / 100 }],
        ['voltage_v', { type: 'float', value: 220 + Math.round(rnd() * 200) / 10 }],
        ['soc', { type: 'int', value: Math.floor(rnd() * 101) }],
        ['charging', { type: 'bool', value: rnd() < 0.5 }],
      ];
    } else {
      measurement = 'host_metrics';
      fields = [
        ['cpu_pct', { type: 'float', value: rnd() * 100 }],
        ['mem_pct', { type: 'float', value: Math.round(rnd() * 1000) / 10 }],
        ['disk_free_bytes', { type: 'int', value: Math.floor(rnd() * 5e11) }],
        ['firmware', { type: 'string', value: `v2.${Math.floor(rnd() * 9)}.${Math.floor(rnd() * 20)}`, fresh: true }],
      ];
    }
    tags.push(['kind', d.kind], ['model', d.model], ['customer', d.customer], ['site', d.site]);
    out.push({ measurement, tags, fields, time: t0 + i * 5 });
  }
  return out;
}

/**
 * A new flat copy of `s`, as `JSON.parse` makes when a reading arrives. Each encoder gets its own
 * copies, so neither finds strings that the other has already looked at.
 */
const fresh = (s: string): string => JSON.parse(JSON.stringify(s)) as string;

function toOurs(s: Sample): Point {
  const tags: Tags = {};
  for (const [k, v] of s.tags) tags[k] = v;
  const fields: Fields = {};
  for (const [k, f] of s.fields) {
    fields[k] = f.type === 'int' ? new Int(f.value) : f.type === 'string' && f.fresh ? fresh(f.value) : f.value;
  }
  return { measurement: s.measurement, tags, fields, time: s.time };
}

function toReference(s: Sample): ReferencePoint {
  const p = new ReferencePoint(s.measurement);
  for (const [k, v] of s.tags) p.tag(k, v);
  for (const [k, f] of s.fields) {
    if (f.type === 'float') p.floatField(k, f.value);
    else if (f.type === 'int') p.intField(k, f.value);
    else if (f.type === 'string') p.stringField(k, f.fresh ? fresh(f.value) : f.value);
    else p.booleanField(k, f.value);
  }
  return p.timestamp(s.time);
}

function encodeOurs(points: Point[]): number {
  let bytes = 0;
  for (let i = 0; i < points.length; i++) bytes += encodeLine(points[i]).length;
  return bytes;
}

function encodeReference(points: ReferencePoint[]): number {
  let bytes = 0;
  for (let i = 0; i < points.length; i++) bytes += points[i].toLineProtocol()!.length;
  return bytes;
}

/**
 * Seconds of CPU this process spent running `f`. The machine is shared (2 cores, other test
 * suites running), so wall time mostly measures the neighbours; CPU time (all threads, so the
 * GC's helpers count too) measures the encoders.
 */
function cpuSeconds(f: () => void): number {
  // Start from an empty young generation, so neither side pays for the other's garbage.
  collectYoung();
  const before = process.cpuUsage();
  f();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

/** V8's `gc`, exposed for this process when the bench first needs it. */
let gc: ((options: { type: 'minor' | 'major' }) => void) | undefined;
function collect(type: 'minor' | 'major'): void {
  if (gc === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as (options: { type: 'minor' | 'major' }) => void;
  }
  gc({ type });
}
const collectYoung = () => collect('minor');

/**
 * Both encoders must say the same thing: same series (measurement and sorted tags), same fields
 * (the reference sorts them and writes `T`/`F` and JavaScript's float text; we keep their order
 * and write Go's), same time. The bench points hold no commas or spaces in field values.
 */
function checkSameMeaning(ours: Point[], reference: ReferencePoint[]): void {
  const parts = (line: string) => {
    const fieldsAt = line.search(/[^\\] /) + 2;
    const timeAt = line.lastIndexOf(' ');
    const fields = line
      .slice(fieldsAt, timeAt)
      .split(',')
      .map((kv) => {
        const [k, v] = kv.split('=') as [string, string];
        if (v === 'T' || v === 'F') return `${k}=${v === 'T'}`;
        return /^-?[0-9.e+-]+$/.test(v) ? `${k}=${Number(v)}` : kv;
      })
      .sort();
    return [line.slice(0, fieldsAt - 1), fields.join(','), line.slice(timeAt + 1)].join(' | ');
  };
  for (let i = 0; i < 2000; i++) {
    const a = encodeLine(ours[i]);
    const b = reference[i].toLineProtocol()!;
    if (parts(a) !== parts(b)) {
      throw new Error(`encoders disagree on point ${i}:\n  ours:      ${a}\n  reference: ${b}`);
    }
  }
}

export function run(): Result {
  const data = samples(POINTS);
  const ours = data.map(toOurs);
  const reference = data.map(toReference);
  checkSameMeaning(ours, reference);
  // A settled heap: no marking of the freshly built points left to run during the timed rounds.
  collect('major');

  let sink = 0;
  // Warm-up: let both reach their optimised code before anything is timed.
  for (let i = 0; i < 3; i++) sink += encodeOurs(ours) + encodeReference(reference);
  // Paired rounds, alternating which goes first, so that a busy moment hits both alike.
  const oursRates: number[] = [];
  const referenceRates: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = () => (sink += encodeOurs(ours));
    const b = () => (sink += encodeReference(reference));
    let oursS: number;
    let referenceS: number;
    if (r % 2 === 0) {
      oursS = cpuSeconds(a);
      referenceS = cpuSeconds(b);
    } else {
      referenceS = cpuSeconds(b);
      oursS = cpuSeconds(a);
    }
    oursRates.push(POINTS / oursS);
    referenceRates.push(POINTS / referenceS);
    ratios.push(referenceS / oursS);
  }
  if (sink === 0) throw new Error('nothing was encoded');
  return {
    name: `line protocol encoding (${POINTS.toLocaleString('en-US')} device points, median of ${ROUNDS} paired rounds)`,
    ours: median(oursRates),
    reference: median(referenceRates),
    ratio: median(ratios),
    goals: [{ on: 'ratio', atLeast: GOAL }],
    note: `best rounds ${Math.round(Math.max(...oursRates)).toLocaleString('en-US')} vs ${Math.round(Math.max(...referenceRates)).toLocaleString('en-US')} points/CPU-s`,
  };
}

function print(result: Result): void {
  console.log(result.name);
  console.log(`  ours: encodeLine                            ${figure(result.ours)} points/s`);
  console.log(`  reference: influxdb-client toLineProtocol() ${figure(result.reference)} points/s`);
  console.log(`  ratio ${figure(result.ratio)}x: ${verdict(result)}; ${result.note}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  print(run());
}
