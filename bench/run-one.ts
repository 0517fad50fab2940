/**
 * Child process of bench/run.ts: imports one bench, awaits its `run()` and writes what it
 * returned as JSON to the file named second. Each bench gets a fresh process: in a shared one,
 * a bench met code the earlier ones had already run with other shapes of data (the line-protocol
 * encoder measured 2.8× after the others, 3.7× on its own) and inherited their heap.
 *
 *   node --import tsx bench/run-one.ts <bench file> <result file>
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [file, out] = process.argv.slice(2);
if (!file || !out) {
  console.error('usage: bench/run-one.ts <bench file> <result file>');
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { run: () => unknown };
try {
  writeFileSync(out, JSON.stringify({ results: await mod.run() }));
} catch (err) {
  writeFileSync(out, JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
}
// A bench may leave handles open (keep-alive sockets, timers): its figures are in, so end here.
process.exit(0);
