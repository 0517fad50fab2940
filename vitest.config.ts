import { defineConfig } from 'vitest/config';

/**
 * Files that start serve, agent or other node processes (each process compiles the code with tsx
 * and may start its own influxd). Two of them at once on the 2-core CI machine, beside unit files,
 * pushed single tests past their limits; they run one at a time, after the unit files.
 */
const E2E = [
  'test/agent-*.test.ts',
  'test/serve-*.test.ts',
  'test/simulate-*.test.ts',
  'test/backup-*.test.ts',
  'bin/commands/backup.test.ts',
  'test/ui-*.test.ts',
];

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'data/**'],
    // Tests start real influxd, socat and mosquitto processes: give them room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['node_modules/**', 'data/**', ...E2E],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'e2e', include: E2E, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
