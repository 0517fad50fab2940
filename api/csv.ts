/**
 * CSV as RFC 4180 has it: comma-separated, fields with a comma, quote or line break in double
 * quotes, a quote inside quotes doubled; CRLF or LF line ends; a UTF-8 BOM is ignored. The
 * first record is the header.
 */
export interface CsvRecord {
  /** 1-based position among the data records (the header is not counted). */
  row: number;
  /** The physical line the record starts on (the header is line 1). */
  line: number;
  fields: string[];
}

export interface CsvProblem {
  row: number;
  line: number;
  message: string;
}

export interface ParsedCsv {
  header: string[];
  records: CsvRecord[];
  problems: CsvProblem[];
}

export function parseCsv(text: string): ParsedCsv {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: { line: number; fields: string[]; unterminated?: boolean; strayQuote?: boolean }[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let quoted = false;
  let strayQuote = false;
  const n = text.length;
  const endRecord = () => {
    fields.push(field);
    // skip blank lines entirely
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: recordLine, fields, strayQuote });
    fields = [];
    field = '';
    strayQuote = false;
  };
  while (i < n) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      if (ch === '\n') line++;
      field += ch;
      i++;
      continue;
    }
    if (ch === '"') {
      if (field === '') quoted = true;
      else {
        strayQuote = true;
        field += ch;
      }
      i++;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      i++;
    } else if (ch === '\r' || ch === '\n') {
      endRecord();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
    } else {
      field += ch;
      i++;
    }
  }
  if (quoted) {
    fields.push(field);
    records.push({ line: recordLine, fields, unterminated: true });
  } else if (field !== '' || fields.length > 0) {
    endRecord();
  }

  const [head, ...data] = records;
  const header = (head?.fields ?? []).map((h) => h.trim());
  const problems: CsvProblem[] = [];
  const out: CsvRecord[] = [];
  data.forEach((r, index) => {
    const row = index + 1;
    if (r.unterminated) problems.push({ row, line: r.line, message: 'a quoted field is not closed' });
    else if (r.strayQuote)
      problems.push({
        row,
        line: r.line,
        message: 'a quote inside an unquoted field (quote the whole field and double the quote)',
      });
    else if (r.fields.length !== header.length) {
      problems.push({ row, line: r.line, message: `has ${r.fields.length} fields, the header has ${header.length}` });
    }
    out.push({ row, line: r.line, fields: r.fields });
  });
  return { header, records: out, problems };
}

/** One CSV line (with CRLF), quoting what needs it. */
export function csvLine(values: readonly (string | number | null | undefined)[]): string {
  return values.map((v) => csvField(v)).join(',') + '\r\n';
}

function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  // A leading =, +, -, @ would run as a formula in a spreadsheet: prefix it with a quote mark.
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
