/**
 * The rule table in docs/grafana.md is the one the rules generate (grafana:check and
 * grafana-structure's drift check also fail on it), and the generator reads the rules' real
 * numbers and the policy tree's real routes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULE_TABLE_DOC, ruleTable, withRuleTable } from '../alerting/rule-table.ts';
import { REPO_ROOT } from '../dashboards/build.ts';

const row = (uid: string) =>
  ruleTable()
    .split('\n')
    .find((l) => l.startsWith(`| \`${uid}\` |`))!
    .split(' | ')
    .map((c) => c.replace(/^\| |\s\|$/g, ''));

describe('the rule table of docs/grafana.md', () => {
  it('is the generated one', () => {
    const doc = readFileSync(path.join(REPO_ROOT, RULE_TABLE_DOC), 'utf8');
    expect(doc).toContain(ruleTable());
    expect(withRuleTable(doc)).toBe(doc);
  });

  it("says each rule's value, threshold, for:, labels and routing", () => {
    expect(row('fp-terminal-high-cpu')).toEqual([
      '`fp-terminal-high-cpu`',
      'High CPU (terminal)',
      '`terminal_status`',
      'mean(cpu_pct) > 90 over 15 min',
      '5m',
      'severity=warning; per device, customer, site, contract',
      'noc',
    ]);
    expect(row('fp-gateway-offline').slice(5)).toEqual([
      'severity=critical; cause=gateway_offline; per device, customer, site, contract',
      'premium: oncall; standard: oncall after 5m; basic: noc after 5m',
    ]);
    expect(row('fp-fleet-data-stale').slice(3)).toEqual([
      'count(online) < 1 over 5 min',
      '2m',
      'severity=critical; one for the fleet',
      'oncall',
    ]);
  });
});
