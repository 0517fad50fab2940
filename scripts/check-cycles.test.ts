import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findCycles } from './check-cycles.ts';

describe('check-cycles', () => {
  let root: string | undefined;
  afterEach(() => root && rmSync(root, { recursive: true, force: true }));

  const tree = (files: Record<string, string>): string => {
    root = mkdtempSync(join(tmpdir(), 'fp-cycles-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  };

  it('finds a circle through a type-only import and a folder index, and prints it from its first file', () => {
    const dir = tree({
      'a/scheduler.ts': "import { Enforcer } from './enforcer.ts';\nexport const s = Enforcer;",
      'a/enforcer.ts': "import type { S } from '../b';\nexport class Enforcer {}",
      'b/index.ts': "export type { S } from '../a/scheduler.ts';",
      'c.ts': "import { s } from './a/scheduler.ts';",
    });
    expect(findCycles(dir)).toEqual([['a/enforcer.ts', 'b/index.ts', 'a/scheduler.ts', 'a/enforcer.ts']]);
  });

  it('ignores imports in comments and strings, packages, and node_modules', () => {
    const dir = tree({
      'x.ts': "// import { y } from './y.ts';\nimport pino from 'pino';\nexport const t = \"import './y.ts'\";",
      'y.ts': "import { t } from './x.ts';",
      'node_modules/p/index.ts': "import './q.ts';",
      'node_modules/p/q.ts': "import './index.ts';",
    });
    expect(findCycles(dir)).toEqual([]);
  });
});
