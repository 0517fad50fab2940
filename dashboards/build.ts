/**
 * `npm run grafana:build` writes grafana/provisioning/ from dashboards/ and alerting/;
 * `npm run grafana:check` regenerates in memory and exits 1 on any difference (changed, missing
 * or stray files), so CI catches a hand edit or a forgotten rebuild. Both read the `grafana`
 * section of the configuration (`--config <file>` or FLEETPULSE_CONFIG, and FLEETPULSE_GRAFANA__*)
 * for the alert links; without one, the defaults the committed files are built with.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ALERT_LINKS, type AlertLinks } from '../alerting/alert-links.ts';
import { DEFAULT_RULE_OPTIONS, type RuleOptions } from '../alerting/rule-options.ts';
import { RULE_TABLE_DOC, withRuleTable } from '../alerting/rule-table.ts';
import { loadConfig } from '../bin/config.ts';
import { generateProvisioning, PROVISIONING_DIR } from './provisioning.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

export interface Drift {
  file: string;
  problem: 'changed' | 'missing' | 'not generated';
}

/** Differences between the committed files under `root` and a fresh generation. */
export async function checkProvisioning(
  root = REPO_ROOT,
  links = DEFAULT_ALERT_LINKS,
  rules = DEFAULT_RULE_OPTIONS,
): Promise<Drift[]> {
  const expected = generateProvisioning(links, rules);
  const drift: Drift[] = [];
  for (const [file, content] of expected) {
    let actual: string | undefined;
    try {
      actual = await readFile(path.join(root, file), 'utf8');
    } catch {
      drift.push({ file, problem: 'missing' });
      continue;
    }
    if (actual !== content) drift.push({ file, problem: 'changed' });
  }
  for (const abs of await listFiles(path.join(root, PROVISIONING_DIR))) {
    const file = path.relative(root, abs).split(path.sep).join('/');
    if (!expected.has(file)) drift.push({ file, problem: 'not generated' });
  }
  const doc = await readFile(path.join(root, RULE_TABLE_DOC), 'utf8');
  if (withRuleTable(doc) !== doc) drift.push({ file: `${RULE_TABLE_DOC} (rule table)`, problem: 'changed' });
  return drift;
}

export async function writeProvisioning(
  root = REPO_ROOT,
  links = DEFAULT_ALERT_LINKS,
  rules = DEFAULT_RULE_OPTIONS,
): Promise<number> {
  await rm(path.join(root, PROVISIONING_DIR), { recursive: true, force: true });
  const files = generateProvisioning(links, rules);
  for (const [file, content] of files) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
  const doc = path.join(root, RULE_TABLE_DOC);
  await writeFile(doc, withRuleTable(await readFile(doc, 'utf8')));
  return files.size;
}

/** The alert links of the configuration named by `--config <file>` or FLEETPULSE_CONFIG (and FLEETPULSE_GRAFANA__*). */
export function configuredLinks(argv: string[], env: NodeJS.ProcessEnv = process.env): AlertLinks {
  const at = argv.indexOf('--config');
  const { grafana } = loadConfig(at >= 0 ? argv[at + 1] : env.FLEETPULSE_CONFIG, env);
  return { runbookBaseUrl: grafana.runbook_base_url, fleetpulseUrl: grafana.fleetpulse_url };
}

/** The rule options of the same configuration (grafana.profile_violation_for). */
export function configuredRuleOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): RuleOptions {
  const at = argv.indexOf('--config');
  const { grafana } = loadConfig(at >= 0 ? argv[at + 1] : env.FLEETPULSE_CONFIG, env);
  return { profileViolationFor: grafana.profile_violation_for };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const links = configuredLinks(process.argv);
  const rules = configuredRuleOptions(process.argv);
  if (process.argv.includes('--check')) {
    const drift = await checkProvisioning(REPO_ROOT, links, rules);
    for (const d of drift) console.error(`${d.problem}: ${d.file}`);
    if (drift.length > 0) {
      console.error(
        `grafana:check: ${drift.length} file(s) differ from the TypeScript; run \`npm run grafana:build\` and commit.`,
      );
      process.exit(1);
    }
    console.log('grafana:check: provisioning is up to date');
  } else {
    console.log(
      `grafana:build: wrote ${await writeProvisioning(REPO_ROOT, links, rules)} files under ${PROVISIONING_DIR}/`,
    );
  }
}
