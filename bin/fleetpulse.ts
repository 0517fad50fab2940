#!/usr/bin/env -S npx tsx
/**
 * The `fleetpulse` command: the composition root. Each sub-command lives in bin/commands/ and
 * exports `default async (argv) => exitCode`.
 */
const commands: Record<
  string,
  { summary: string; load: () => Promise<{ default: (argv: string[]) => Promise<number> }> }
> = {
  serve: {
    summary: 'run the API, the collector and the server-side plugins',
    load: () => import('./commands/serve.ts'),
  },
  agent: {
    summary: 'run the edge agent on a store or venue PC (uplink to serve)',
    load: () => import('./commands/agent.ts'),
  },
  simulate: { summary: 'run simulated devices against a running server', load: () => import('./commands/simulate.ts') },
  keys: { summary: 'create, list and revoke API keys', load: () => import('./commands/keys.ts') },
  backup: { summary: 'copy the inventory consistently while serve runs', load: () => import('./commands/backup.ts') },
  restore: {
    summary: "restore a backup of serve's (inventory and InfluxDB) into an empty data dir",
    load: () => import('./commands/restore.ts'),
  },
  report: {
    summary: 'print the monthly uptime report (per customer and site, SLA, incidents)',
    load: () => import('./commands/report.ts'),
  },
};

const [name, ...argv] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || !Object.hasOwn(commands, name)) {
  if (name && name !== '--help' && name !== '-h') console.error(`fleetpulse: unknown command "${name}"\n`);
  console.error('usage: fleetpulse <command> [options]\n');
  for (const [n, c] of Object.entries(commands)) console.error(`  ${n.padEnd(10)} ${c.summary}`);
  console.error('\n`fleetpulse <command> --help` describes each one.');
  process.exitCode = name && name !== '--help' && name !== '-h' ? 2 : 0;
} else {
  const { default: run } = await commands[name].load();
  process.exitCode = await run(argv);
}
