/** The memory figures of a bench's server child (run with --expose-gc): RSS after GC, and where it is. */
import v8 from 'node:v8';

const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** Resident memory after two full collections, KB. */
export const rssKb = (): number => {
  gc();
  gc();
  return process.memoryUsage().rss / 1024;
};

/** Where resident memory is, KB: each V8 heap space's physical size, external memory, the rest. */
export function memoryParts(): Record<string, number> {
  const parts: Record<string, number> = {};
  for (const s of v8.getHeapSpaceStatistics()) parts[s.space_name] = s.physical_space_size / 1024;
  const m = process.memoryUsage();
  parts.external = m.external / 1024;
  parts.outside_v8 = m.rss / 1024 - Object.values(parts).reduce((a, b) => a + b, 0);
  return parts;
}
