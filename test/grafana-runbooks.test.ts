/**
 * Links that open: every provisioned rule's runbook_url is the configured base plus an anchor that
 * docs/runbooks.md has (a heading per rule uid, as GitHub renders anchors), each runbook has its
 * four parts, and every alert names who it is about with labels its query really has, and links to
 * the operator page of its device. The bases come from the configuration.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_LINKS } from '../alerting/alert-links.ts';
import { configuredLinks, REPO_ROOT } from '../dashboards/build.ts';
import { generateProvisioning, PROVISIONING_DIR } from '../dashboards/provisioning.ts';

interface Rule {
  uid: string;
  data: { refId: string; model: { query?: string } }[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const RULES_FILE = `${PROVISIONING_DIR}/alerting/rules.yaml`;
const rulesOf = (yaml: string) => (load(yaml) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const committed = rulesOf(readFileSync(path.join(REPO_ROOT, RULES_FILE), 'utf8'));
const runbooks = readFileSync(path.join(REPO_ROOT, 'docs/runbooks.md'), 'utf8');

/** GitHub's heading anchor: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
/** Section text per heading anchor (level-2 headings). */
const sections = new Map(
  runbooks
    .split(/^## /m)
    .slice(1)
    .map((s) => [slug(s.split('\n')[0]), s] as const),
);
const PARTS = ['**Means:**', '**Check first:**', '**Act in Fleetpulse:**', '**Escalate:**'];
/** The instance labels: the GROUP BY tags of the rule's outer query A, plus the labels the rule adds. */
function instanceLabels(r: Rule): Set<string> {
  const q = r.data.find((s) => s.refId === 'A')!.model.query!;
  const outer = q.slice(q.lastIndexOf(')') + 1);
  const tags = [...(/GROUP BY (.*?)(?: fill|$)/.exec(outer)?.[1] ?? '').matchAll(/"(\w+)"/g)].map((m) => m[1]);
  return new Set([...tags, ...Object.keys(r.labels)]);
}
const templated = (text: string) => [...text.matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]);

describe('runbooks and alert links', () => {
  it("every rule's runbook_url is <default base>#<uid>, an anchor of docs/runbooks.md with its four parts", () => {
    expect(committed.length).toBeGreaterThan(20);
    for (const r of committed) {
      const url = r.annotations.runbook_url;
      expect(url, r.uid).toBe(`${DEFAULT_ALERT_LINKS.runbookBaseUrl}#${r.uid}`);
      const section = sections.get(url.split('#')[1]);
      expect(section, `docs/runbooks.md has no heading for ${r.uid}`).toBeDefined();
      for (const part of PARTS) expect(section, `${r.uid}: ${part}`).toContain(part);
    }
    // No runbook for a rule that is gone.
    expect([...sections.keys()].sort()).toEqual(committed.map((r) => r.uid).sort());
  });

  it('annotations name the device, customer, site and cause, with labels the instance has, and link to its page', () => {
    for (const r of committed) {
      const labels = instanceLabels(r);
      for (const [key, text] of Object.entries(r.annotations))
        for (const l of templated(text)) expect(labels, `${r.uid} ${key} uses $labels.${l}`).toContain(l);
      const a = r.annotations;
      if (labels.has('device')) {
        expect(a, r.uid).toMatchObject({
          device: '{{ $labels.device }}',
          customer: '{{ $labels.customer }}',
          site: '{{ $labels.site }}',
          cause: r.labels.cause ?? 'self',
          device_url: `${DEFAULT_ALERT_LINKS.fleetpulseUrl}/ui/devices/{{ $labels.device }}`,
        });
      } else if (labels.has('site')) {
        expect(a, r.uid).toMatchObject({ customer: '{{ $labels.customer }}', site: '{{ $labels.site }}' });
        expect(a.cause, r.uid).toBe(r.labels.cause);
        expect(a.incidents_url, r.uid).toBe(
          `${DEFAULT_ALERT_LINKS.fleetpulseUrl}/ui/incidents?customer={{ $labels.customer }}&site={{ $labels.site }}`,
        );
      }
    }
    const byUid = new Map(committed.map((r) => [r.uid, r]));
    expect(byUid.get('fp-gateway-offline')!.annotations.cause).toBe('gateway_offline');
    expect(byUid.get('fp-site-outage')!.annotations.cause).toBe('site_outage');
    expect(byUid.get('fp-terminal-high-cpu')!.annotations.cause).toBe('self');
  });

  it('the bases come from grafana.runbook_base_url and grafana.fleetpulse_url', () => {
    const links = configuredLinks([], {
      FLEETPULSE_GRAFANA__RUNBOOK_BASE_URL: 'https://wiki.example/noc/runbooks',
      FLEETPULSE_GRAFANA__FLEETPULSE_URL: 'https://fleet.example',
    });
    expect(links).toEqual({
      runbookBaseUrl: 'https://wiki.example/noc/runbooks',
      fleetpulseUrl: 'https://fleet.example',
    });
    expect(configuredLinks([], {})).toEqual(DEFAULT_ALERT_LINKS);
    const rules = rulesOf(generateProvisioning(links).get(RULES_FILE)!);
    const offline = rules.find((r) => r.uid === 'fp-device-offline')!;
    expect(offline.annotations.runbook_url).toBe('https://wiki.example/noc/runbooks#fp-device-offline');
    expect(offline.annotations.device_url).toBe('https://fleet.example/ui/devices/{{ $labels.device }}');
  });
});
