/**
 * Structure of the generated provisioning and of docker-compose.yml: files parse, uids are unique
 * and stable, datasource references resolve, rule conditions name existing steps, nothing drifted
 * from the TypeScript (the same check as `npm run grafana:check`).
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { checkProvisioning, REPO_ROOT } from '../dashboards/build.ts';
import { DATASOURCE_UID } from '../dashboards/datasource.ts';
import { boards } from '../dashboards/index.ts';
import { UID } from '../dashboards/links.ts';
import { pluginMeasurements } from '../dashboards/plugin-measurements.ts';
import { generateProvisioning } from '../dashboards/provisioning.ts';
import { plugins } from '../plugins/index.ts';

const files = generateProvisioning();
const parsed = (suffix: string) => load(files.get(`grafana/provisioning/${suffix}`)!) as Record<string, any>;

describe('generated provisioning', () => {
  it('is what is committed (grafana:check)', async () => {
    expect(await checkProvisioning()).toEqual([]);
  });

  it('check reports a hand edit, a missing file, a stray file and an edited rule table', async () => {
    const { mkdtemp, writeFile, mkdir, rm, cp } = await import('node:fs/promises');
    const os = await import('node:os');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-grafana-'));
    try {
      await cp(path.join(REPO_ROOT, 'grafana'), path.join(dir, 'grafana'), { recursive: true });
      const doc = await readFile(path.join(REPO_ROOT, 'docs/grafana.md'), 'utf8');
      await mkdir(path.join(dir, 'docs'));
      await writeFile(path.join(dir, 'docs/grafana.md'), doc.replace('mean(cpu_pct) > 90', 'mean(cpu_pct) > 95'));
      await writeFile(path.join(dir, 'grafana/provisioning/alerting/policies.yaml'), 'apiVersion: 1\n');
      await rm(path.join(dir, 'grafana/provisioning/datasources/fleetpulse.yaml'));
      await mkdir(path.join(dir, 'grafana/provisioning/dashboards/fleetpulse'), { recursive: true });
      await writeFile(path.join(dir, 'grafana/provisioning/dashboards/fleetpulse/hand-made.json'), '{}');
      const drift = await checkProvisioning(dir);
      expect(drift).toEqual(
        expect.arrayContaining([
          { file: 'grafana/provisioning/alerting/policies.yaml', problem: 'changed' },
          { file: 'grafana/provisioning/datasources/fleetpulse.yaml', problem: 'missing' },
          { file: 'grafana/provisioning/dashboards/fleetpulse/hand-made.json', problem: 'not generated' },
          { file: 'docs/grafana.md (rule table)', problem: 'changed' },
        ]),
      );
      expect(drift).toHaveLength(4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('every YAML file parses, starts at apiVersion 1; every dashboard is JSON', () => {
    for (const [file, content] of files) {
      const doc = (file.endsWith('.json') ? JSON.parse(content) : load(content)) as Record<string, unknown>;
      if (file.endsWith('.yaml')) expect(doc.apiVersion, file).toBe(1);
    }
  });

  it('the datasource: fixed uid, InfluxQL, everything site-specific from ${VAR}', () => {
    const ds = parsed('datasources/fleetpulse.yaml').datasources[0];
    expect(ds).toMatchObject({
      uid: DATASOURCE_UID,
      type: 'influxdb',
      url: '${INFLUX_URL}',
      jsonData: { version: 'InfluxQL', dbName: '${INFLUX_DATABASE}', httpHeaderName1: 'Authorization' },
      secureJsonData: { httpHeaderValue1: 'Token ${INFLUX_TOKEN}' },
    });
  });

  it('links into Fleetpulse open operator pages (/ui/), never a JSON route that answers 401 in a browser', () => {
    const urls = boards().flatMap((b) => {
      const d = b.build() as any;
      const panelLinks = d.panels.flatMap((p: any) =>
        (p.fieldConfig?.overrides ?? []).flatMap((o: any) =>
          o.properties.flatMap((x: any) => (x.id === 'links' ? x.value.map((l: any) => l.url) : [])),
        ),
      );
      return [...(d.links ?? []).map((l: any) => l.url), ...panelLinks].filter(
        (u: unknown) => typeof u === 'string' && u.includes('fleetpulse_api'),
      );
    });
    expect(new Set(urls)).toEqual(
      new Set([
        '${fleetpulse_api}/ui/devices/${device}',
        '${fleetpulse_api}/ui/reports?month=${__from:date:YYYY-MM}',
        '${fleetpulse_api}/ui/sessions',
        '${fleetpulse_api}/ui/devices/${__data.fields.device}',
        '${fleetpulse_api}/ui/incidents?device=${__data.fields.device}',
        '${fleetpulse_api}/ui/incidents?customer=${__data.fields.customer}&site=${__data.fields.site}',
        '${fleetpulse_api}/ui/reports?customer=${__data.fields.customer}&month=${__from:date:YYYY-MM}',
      ]),
    );
  });

  it('every linked device, site and customer cell also opens its operator page, the report with its month', () => {
    const expected: Record<string, RegExp> = {
      device: /\/ui\/devices\/\$\{__data\.fields\.device\}$/,
      site: /\/ui\/incidents\?customer=.*&site=\$\{__data\.fields\.site\}$/,
      customer: /\/ui\/reports\?customer=\$\{__data\.fields\.customer\}&month=\$\{__from:date:YYYY-MM\}$/,
    };
    let checked = 0;
    for (const b of boards()) {
      for (const p of (b.build() as any).panels) {
        for (const o of p.fieldConfig?.overrides ?? []) {
          const links = o.properties.find((x: any) => x.id === 'links')?.value ?? [];
          const want = expected[o.matcher.options];
          if (!want || links.length === 0) continue;
          expect(
            links.some((l: any) => want.test(l.url)),
            `${b.spec.uid} / ${p.title} / ${o.matcher.options}`,
          ).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('alert rules on one device link its operator page and its incidents in annotations; others link none', () => {
    for (const g of parsed('alerting/rules.yaml').groups) {
      for (const r of g.rules) {
        const perDevice = r.annotations.summary.includes('{{ $labels.device }}');
        expect(r.annotations.device_url, r.uid).toBe(
          perDevice ? 'http://localhost:8080/ui/devices/{{ $labels.device }}' : undefined,
        );
        if (perDevice)
          expect(r.annotations.incidents_url, r.uid).toBe(
            'http://localhost:8080/ui/incidents?device={{ $labels.device }}',
          );
      }
    }
    const enforcement = parsed('alerting/rules.yaml')
      .groups.flatMap((g: any) => g.rules)
      .find((r: any) => r.uid === 'fp-session-enforcement-failed');
    expect(enforcement.annotations.sessions_url).toBe('http://localhost:8080/ui/sessions');
  });

  it('dashboards: unique fixed uids, generated tag, datasource refs resolve, unique panel titles, five template variables', () => {
    const uids = boards().map((b) => b.spec.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(uids.sort()).toEqual(Object.values(UID).sort()); // stable: links and bookmarks use them
    for (const b of boards()) {
      const d = b.build() as any;
      expect(d.uid).toBe(b.spec.uid);
      expect(d.tags).toContain('generated');
      const titles = d.panels.filter((p: any) => p.type !== 'row').map((p: any) => p.title);
      expect(new Set(titles).size, `${d.uid} panel titles`).toBe(titles.length);
      for (const p of d.panels) {
        if (p.datasource) expect(p.datasource.uid).toBe(DATASOURCE_UID);
        for (const t of p.targets ?? []) expect(t.datasource.uid).toBe(DATASOURCE_UID);
      }
      for (const v of d.templating.list) if (v.datasource) expect(v.datasource.uid).toBe(DATASOURCE_UID);
      if (b.spec.variables !== 'collector')
        expect(d.templating.list.map((v: any) => v.name)).toEqual(
          expect.arrayContaining(['customer', 'site', 'kind', 'model', 'device']),
        );
    }
  });

  it('alert rules: unique uids, condition C exists, every step resolves, severity/summary/runbook present', () => {
    const rules = parsed('alerting/rules.yaml').groups.flatMap((g: any) => g.rules);
    const uids = rules.map((r: any) => r.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const r of rules) {
      const refIds = r.data.map((s: any) => s.refId);
      expect(refIds, r.uid).toContain(r.condition);
      for (const s of r.data) {
        expect([DATASOURCE_UID, '__expr__'], r.uid).toContain(s.datasourceUid);
        if (s.model.expression && s.model.type !== 'math') expect(refIds).toContain(s.model.expression);
      }
      expect(['critical', 'warning', 'info']).toContain(r.labels.severity);
      expect(r.annotations.summary).toMatch(/\{\{ \$labels\.(device|host|site) \}\}|No device_status/);
      if (r.annotations.summary.includes('$labels.device')) expect(r.annotations.summary).toMatch(/customer.*site/);
      expect(r.annotations.runbook_url).toMatch(/^https:\/\//);
      expect(['OK', 'NoData', 'Alerting', 'KeepLast']).toContain(r.noDataState);
    }
  });

  it('contact points and policies: every receiver the policy tree names exists; premium pages at once', () => {
    const names = parsed('alerting/contact-points.yaml').contactPoints.map((c: any) => c.name);
    const tree = parsed('alerting/policies.yaml').policies[0];
    const receivers = [tree.receiver, ...tree.routes.map((r: any) => r.receiver)];
    for (const r of receivers) expect(names).toContain(r);
    const premium = tree.routes.find((r: any) => JSON.stringify(r.object_matchers).includes('"premium"'));
    expect(premium.group_wait).toBe('0s');
    const webhook = parsed('alerting/contact-points.yaml')
      .contactPoints.flatMap((c: any) => c.receivers)
      .find((r: any) => r.type === 'webhook');
    expect(webhook.settings.url).toBe('${FLEETPULSE_API_URL}/api/v1/incidents/webhook');
    expect(webhook.settings.authorization_credentials).toBe('${FLEETPULSE_INCIDENT_WEBHOOK_SECRET}');
  });

  it('every plugin that declares measurements has them in the dashboards, with the kinds it serves', () => {
    const declaring = plugins.filter((p) => p.measurements.length > 0);
    expect(declaring.map((p) => p.name)).toContain('example'); // sensor_reading
    expect(pluginMeasurements.map((p) => p.plugin)).toEqual(declaring.map((p) => p.name));
    for (const plugin of declaring)
      expect(pluginMeasurements.find((p) => p.plugin === plugin.name)).toEqual({
        plugin: plugin.name,
        kinds: plugin.kinds,
        measurements: plugin.measurements,
      });
    // The agent forwards the edge plugins' points and declares none of its own: no panels.
    expect(pluginMeasurements.map((p) => p.plugin)).not.toContain('agent');
  });
});

describe('docker-compose.yml', () => {
  it('pins images, has health checks and volumes, mounts the provisioning, gives every ${VAR} Grafana reads', async () => {
    const text = await readFile(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    const compose = load(text) as any;
    expect(Object.keys(compose.services).sort()).toEqual(['fleetpulse', 'grafana', 'influxdb', 'simulate']);
    for (const [name, s] of Object.entries<any>(compose.services)) {
      if (s.image) expect(s.image, name).toMatch(/:[0-9][\w.-]*$/); // a version, never latest
      expect(s.healthcheck?.test, `${name} health check`).toBeDefined();
    }
    const grafana = compose.services.grafana;
    expect(grafana.volumes).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    for (const v of ['influxdb', 'grafana', 'fleetpulse']) {
      for (const mount of compose.services[v].volumes) {
        const named = mount.split(':')[0];
        if (!named.startsWith('.')) expect(Object.keys(compose.volumes), `${v}: ${named}`).toContain(named);
      }
    }
    const provided = new Set(Object.keys(grafana.environment));
    const wanted = new Set<string>();
    // Grafana expands env vars in its YAML provisioning files (dashboard JSON keeps ${var} for itself).
    for (const [file, content] of files)
      if (file.endsWith('.yaml')) for (const m of content.matchAll(/\$\{(\w+)\}/g)) wanted.add(m[1]);
    for (const v of wanted) expect(provided, `Grafana needs ${v}`).toContain(v);
    expect(compose.services.influxdb.environment.DOCKER_INFLUXDB_INIT_MODE).toBe('setup');
    expect(compose.configs['influx-dbrp'].content).toContain('influx v1 dbrp create');
  });

  it('docker compose config accepts it (skipped without the compose binary)', (ctx) => {
    try {
      execFileSync('docker', ['compose', 'version'], { stdio: 'pipe' });
    } catch {
      ctx.skip('`docker compose` is not installed here: only the schema-level check above ran');
      return;
    }
    const out = execFileSync('docker', ['compose', '-f', path.join(REPO_ROOT, 'docker-compose.yml'), 'config', '-q'], {
      stdio: 'pipe',
    }).toString();
    expect(out).toBe('');
  });
});
