import { Compile } from 'typebox/compile';
import type { TSchema } from 'typebox';
import type { DeviceInput, ImportRow, RowError } from '../../../collector/inventory/index.ts';
import { parseCsv } from '../../csv.ts';
import { apiErrors } from '../../errors.ts';
import { problems } from '../../validation.ts';
import { LABEL_KEY, READ_ONLY_COLUMNS, WRITABLE_COLUMNS } from './schemas.ts';

/** A bad row as reported to the client: CSV rows also name their line. */
export interface ImportProblem extends RowError {
  line?: number;
}

export interface PreparedImport {
  rows: ImportRow[];
  problems: ImportProblem[];
  total: number;
}

/**
 * Turns an import body (a JSON array, or CSV text) into rows checked against the row schema.
 * Every bad row is reported, not just the first; a body that is not an import at all (not an
 * array, a CSV header with unknown columns, too many rows) is a plain 400.
 */
export function prepareImport(body: unknown, rowSchema: TSchema, maxRows: number): PreparedImport {
  const check = Compile(rowSchema);
  const candidates = typeof body === 'string' ? fromCsv(body) : fromJson(body);
  if (candidates.records.length > maxRows) {
    throw apiErrors.validation(
      'body',
      `an import takes at most ${maxRows} rows, this one has ${candidates.records.length}`,
      {
        max_rows: maxRows,
      },
    );
  }
  const rows: ImportRow[] = [];
  const found: ImportProblem[] = [...candidates.problems];
  const malformed = new Set(found.map((p) => p.row));
  for (const record of candidates.records) {
    if (malformed.has(record.row)) continue;
    const issues = problems(check, record.value);
    const where = record.line === undefined ? {} : { line: record.line };
    for (const issue of issues)
      found.push({ row: record.row, ...where, field: issue.field || 'row', message: issue.message });
    if (issues.length === 0) rows.push({ row: record.row, device: toInput(record.value as Record<string, unknown>) });
  }
  return { rows, problems: found, total: candidates.records.length };
}

interface Candidates {
  records: { row: number; line?: number; value: unknown }[];
  problems: ImportProblem[];
}

function fromJson(body: unknown): Candidates {
  if (!Array.isArray(body))
    throw apiErrors.validation('body', 'an import is a JSON array of devices, or CSV (text/csv)');
  return { records: (body as unknown[]).map((value, i) => ({ row: i + 1, value })), problems: [] };
}

function fromCsv(text: string): Candidates {
  const csv = parseCsv(text);
  if (csv.header.length === 0) throw apiErrors.validation('header', 'the CSV has no header line');
  const seen = new Set<string>();
  for (const column of csv.header) {
    const known =
      (WRITABLE_COLUMNS as readonly string[]).includes(column) ||
      (READ_ONLY_COLUMNS as readonly string[]).includes(column) ||
      (column.startsWith('label.') && new RegExp(LABEL_KEY).test(column.slice(6)));
    if (!known) {
      throw apiErrors.validation(
        'header',
        `unknown column '${column}'; known: ${WRITABLE_COLUMNS.join(', ')}, label.<key>, and ${READ_ONLY_COLUMNS.join(', ')} (ignored)`,
      );
    }
    if (seen.has(column)) throw apiErrors.validation('header', `column '${column}' appears twice`);
    seen.add(column);
  }
  for (const required of ['id', 'kind']) {
    if (!seen.has(required)) throw apiErrors.validation('header', `the CSV needs a '${required}' column`);
  }
  const problems: ImportProblem[] = csv.problems.map((p) => ({
    row: p.row,
    line: p.line,
    field: 'row',
    message: p.message,
  }));
  const records = csv.records.map((r) => {
    const value: Record<string, unknown> = {};
    const labels: Record<string, string> = {};
    csv.header.forEach((column, i) => {
      const cell = unguard(r.fields[i] ?? '');
      if (cell === '') return;
      if (column.startsWith('label.')) labels[column.slice(6)] = cell;
      else value[column] = cell;
    });
    if (Object.keys(labels).length > 0) value.labels = labels;
    return { row: r.row, line: r.line, value };
  });
  return { records, problems };
}

/** Undoes the export's spreadsheet-formula guard (`'=x` → `=x`). */
function unguard(cell: string): string {
  return /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

function toInput(value: Record<string, unknown>): DeviceInput {
  const input: Record<string, unknown> = {};
  for (const key of [...WRITABLE_COLUMNS, 'labels']) if (value[key] !== undefined) input[key] = value[key];
  return input as unknown as DeviceInput;
}
