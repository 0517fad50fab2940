import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHandlers } from './handlers.ts';
import type { Station } from './station.ts';
import { commandSpecs } from './vocabulary.ts';

/**
 * The README's Coverage tables against the code (a docs drift check): every command of the
 * catalogue is named, and every action each version's handler table answers is in that
 * version's table. Only the tables are read and no handler runs: the station behind them is a
 * stand-in that answers every property with itself (registration reads its configuration).
 */
const standIn: Station = new Proxy({} as Station, { get: () => standIn });

async function coverage() {
  const readme = await readFile(path.join(import.meta.dirname, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Coverage\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  /** The rows of the table whose header starts with `header`, as cells. */
  const table = (header: string) => {
    const from = section.indexOf(`| ${header}`);
    const lines = section.slice(from).split('\n');
    const rows = lines.slice(
      2,
      lines.findIndex((l, i) => i > 0 && !l.startsWith('|')),
    );
    return rows.map((r) => r.split('|').map((c) => c.trim()));
  };
  return { section, v16: table('OCPP 1.6 profile'), v201: table('OCPP 2.0.1 block') };
}
const words = (text: string) => new Set(text.match(/[A-Za-z0-9]+/g));

describe('the README coverage tables', () => {
  it('name every command of the catalogue', async () => {
    const { section } = await coverage();
    const missing = Object.keys(commandSpecs).filter((name) => !section.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it("list every action each version's handlers answer, in that version's table", async () => {
    const tables = await coverage();
    for (const [version, rows] of [
      ['ocpp1.6', tables.v16],
      ['ocpp2.0.1', tables.v201],
    ] as const) {
      const handledColumn = words(rows.map((cells) => cells[3]).join(' '));
      const handled = [...buildHandlers(standIn, version).keys()];
      expect(handled.length, version).toBeGreaterThan(10);
      expect(
        handled.filter((action) => !handledColumn.has(action)),
        version,
      ).toEqual([]);
    }
  });

  it('have a row per 1.6 feature profile and per 2.0.1 functional block A–P', async () => {
    const { v16, v201 } = await coverage();
    expect(v16.map((cells) => cells[1])).toEqual([
      'Core',
      'Firmware Management',
      'Local Auth List Management',
      'Reservation',
      'Smart Charging',
      'Remote Trigger',
      'Security whitepaper',
    ]);
    expect(v201.map((cells) => cells[1][0]).join('')).toBe('ABCDEFGHIJKLMNOP');
  });
});
