/**
 * Transport security of the real `fleetpulse serve` (a child process, real influxd, certificates
 * made by openssl): TLS on its one port for the API, the real agent process over wss:// trusting
 * a test CA, OCPP security profile 2 (wss:// + Basic Auth) with ocpp-rpc, a certificate swapped
 * on SIGHUP without dropping connections; `http.allow` keeping the API to its networks while
 * devices still connect; `http.trust_proxy` believing X-Forwarded-For only from a trusted peer.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { RPCClient } from 'ocpp-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AgentProcess, until } from './helpers/agent-rig.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { runServeToExit, startServe, type ServeProcess } from './helpers/serve-process.ts';
import { issueServerCert, makeCa, type ServerCert, type TestCa } from './helpers/test-ca.ts';

const influx = useInfluxd();
const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-serve-tls-'));
const KEY = 'test-admin-key-7f1e2d3c4b5a69788796a5b4';
const PC = 'tls-store-pc';
const CHARGER = 'CP-TLS-0001';
/** The files serve is configured with; a test copies another certificate over them. */
const SERVED = { cert: path.join(dir, 'served.crt'), key: path.join(dir, 'served.key') };

let ca: TestCa;
let first: ServerCert;
let second: ServerCert;
let db: string;
let caPem: Buffer;
const secrets: Record<string, string> = {};

interface Reply {
  status: number;
  body: any;
  text: string;
}

/** An HTTPS request to serve that trusts only the test CA. */
function call(
  serve: ServeProcess,
  method: string,
  route: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: serve.port,
        method,
        path: route,
        ca: caPem,
        agent: false,
        headers: {
          authorization: `Bearer ${KEY}`,
          ...(payload !== undefined && { 'content-type': 'application/json' }),
          ...opts.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode!, body, text });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to serve is given. */
function servedFingerprint(serve: ServeProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: serve.port, ca: caPem, servername: 'localhost' }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

function serveConfig(http: Record<string, unknown>, plugins: Record<string, unknown> = {}) {
  return {
    data_dir: path.join(dir, 'data'),
    http: { host: '127.0.0.1', port: 0, tls: SERVED, ...http },
    log: { level: 'info' },
    influx: { url: influx.url, database: db },
    pipeline: { flush_interval_ms: 100 },
    plugins: { ocpp: { unknown_chargers: 'refuse' }, ...plugins },
  };
}

function charger(serve: ServeProcess, password: string): RPCClient {
  return new RPCClient({
    endpoint: `wss://127.0.0.1:${serve.port}/ocpp`,
    identity: CHARGER,
    password,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
    wsOpts: { ca: caPem },
  } as never);
}

/** The HTTP status a charger's handshake is answered with: 101 when admitted. */
async function chargerHandshake(serve: ServeProcess, password: string): Promise<{ status: number; client: RPCClient }> {
  const client = charger(serve, password);
  try {
    await client.connect();
    return { status: 101, client };
  } catch (err) {
    return { status: (err as { code?: number }).code ?? -1, client };
  }
}

async function metric(serve: ServeProcess, sample: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await call(serve, 'GET', '/metrics', { headers });
  expect(res.status, res.text).toBe(200);
  const row = res.text.split('\n').find((r) => r.startsWith(sample + ' '));
  return row ? Number(row.slice(sample.length + 1)) : 0;
}

/** How serve answers a WebSocket upgrade to `route`: 101 when it opens, else the status and JSON body. */
function upgrade(
  serve: ServeProcess,
  route: string,
  headers: Record<string, string> = {},
  protocol?: string,
): Promise<{ status: number; body?: any }> {
  // ws reports a refused handshake as 'unexpected-response', with the answer's body to read.
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${serve.port}${route}`, protocol ? [protocol] : [], {
      ca: caPem,
      headers,
    });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        const json = res.headers['content-type']?.startsWith('application/json');
        resolve({ status: res.statusCode!, body: json ? JSON.parse(text) : text });
      });
    });
    ws.once('error', reject);
  });
}

/** The `remote` a refusal log line of serve names, once it is written. */
async function loggedRemote(serve: ServeProcess, msg: string, key: 'agent' | 'device', id: string): Promise<string> {
  const find = () =>
    serve
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === msg && l[key] === id);
  await until(`'${msg}' logged for ${id}`, () => find() !== undefined);
  return find()!.remote as string;
}

/** Refused upgrades of an agent (wrong token) and a charger (unknown) sending `headers`; the addresses serve logged. */
async function refusedDoors(serve: ServeProcess, name: string, headers: Record<string, string>) {
  const agent = await upgrade(serve, `/agent/${name}-pc`, { authorization: 'Bearer wrong', ...headers });
  expect(agent.status).toBe(401);
  const charger = await upgrade(serve, `/ocpp/${name}-CP`, headers, 'ocpp1.6');
  expect(charger.status).toBe(401);
  return {
    agent: await loggedRemote(serve, 'agent connection refused', 'agent', `${name}-pc`),
    charger: await loggedRemote(serve, 'OCPP handshake refused', 'device', `${name}-CP`),
  };
}

/** The newest audit rows, as the API lists them. */
async function auditRows(
  serve: ServeProcess,
  headers: Record<string, string> = {},
): Promise<Array<{ action: string; target: string | null; source: string; status: number }>> {
  const res = await call(serve, 'GET', '/api/v1/audit?limit=20', { headers });
  expect(res.status, res.text).toBe(200);
  return res.body.items;
}

beforeAll(() => {
  ca = makeCa(dir);
  caPem = readFileSync(ca.cert);
  first = issueServerCert(ca, dir, 'first');
  second = issueServerCert(ca, dir, 'second');
  copyFileSync(first.cert, SERVED.cert);
  copyFileSync(first.key, SERVED.key);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('serve with http.tls, allowing only 127.0.0.1/32', () => {
  let serve: ServeProcess;
  let agent: AgentProcess | undefined;

  beforeAll(async () => {
    db = await influx.freshDatabase();
    serve = await startServe({
      dir,
      env: { FLEETPULSE_ADMIN_KEY: KEY },
      config: serveConfig({ allow: ['127.0.0.1/32'] }),
    });
    for (const [id, kind, type] of [
      [PC, 'pc', 'agent_token'],
      [CHARGER, 'charger', 'ocpp_password'],
    ] as const) {
      const created = await call(serve, 'POST', '/api/v1/devices', { body: { id, kind } });
      expect(created.status, created.text).toBe(201);
      const credential = await call(serve, 'POST', `/api/v1/devices/${id}/credentials`, { body: { type } });
      expect(credential.status, credential.text).toBe(201);
      secrets[id] = credential.body.secret;
    }
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await serve?.stop('SIGKILL');
  });

  it('speaks HTTPS only: the API answers over TLS with the configured certificate, plain HTTP gets no answer', async () => {
    expect(await servedFingerprint(serve)).toBe(first.fingerprint256);
    const devices = await call(serve, 'GET', '/api/v1/devices');
    expect(devices.status, devices.text).toBe(200);
    expect(devices.body.items.map((d: { id: string }) => d.id).sort()).toEqual([CHARGER, PC]);
    await expect(fetch(`http://127.0.0.1:${serve.port}/healthz`)).rejects.toThrow();
  });

  it('the real agent process delivers points over wss:// trusting the test CA (uplink.ca)', async () => {
    agent = new AgentProcess(dir, {
      agent: { id: PC, server: `wss://127.0.0.1:${serve.port}/agent/`, token: secrets[PC] },
      data_dir: path.join(dir, 'agent'),
      log: { level: 'info' },
      outbox: { flush_interval_ms: 100 },
      uplink: { ca: ca.cert, reconnect_initial_ms: 200, reconnect_max_ms: 500 },
      plugins: { host: { interval_s: 1, cpu_interval_s: 1 } },
    });
    await until(
      'host_memory of the agent in InfluxDB',
      async () => (await influx.count('host_memory', db)) > 0,
      40_000,
    );
    const series = await influx.query(`SELECT LAST(used_pct) FROM host_memory GROUP BY "device"`, { db });
    expect(series.map((s) => s.tags.device)).toEqual([PC]);
    expect(agent.output).toContain('uplink connected');
  }, 60_000);

  it('an agent that does not trust the CA is refused by its own TLS check, and says why', async () => {
    const untrusting = new AgentProcess(
      dir,
      {
        agent: { id: PC, server: `wss://127.0.0.1:${serve.port}/agent/`, token: secrets[PC] },
        data_dir: path.join(dir, 'agent-untrusting'),
        log: { level: 'info' },
        uplink: { reconnect_initial_ms: 200, reconnect_max_ms: 500 },
        plugins: { host: { interval_s: 1, cpu_interval_s: 1 } },
      },
      'agent-untrusting',
    );
    try {
      await until(
        'the untrusted-certificate error',
        () => untrusting.output.includes("the server's TLS certificate is not trusted"),
        30_000,
      );
      expect(untrusting.output).not.toContain('uplink connected');
    } finally {
      await untrusting.kill();
    }
  }, 40_000);

  it('a charger with its password is admitted over wss:// (OCPP security profile 2), a wrong password is refused', async () => {
    const good = await chargerHandshake(serve, secrets[CHARGER]);
    expect(good.status).toBe(101);
    const boot = await good.client.call('BootNotification', { chargePointVendor: 'Test', chargePointModel: 'TLS-1' });
    expect(boot).toMatchObject({ status: 'Accepted' });
    await good.client.close({ force: true });

    const before = await metric(
      serve,
      'fleetpulse_plugin_events_total{plugin="ocpp",event="handshake_refused_bad_password"}',
    );
    const bad = await chargerHandshake(serve, 'not-the-password');
    expect(bad.status).toBe(401);
    expect(
      await metric(serve, 'fleetpulse_plugin_events_total{plugin="ocpp",event="handshake_refused_bad_password"}'),
    ).toBe(before + 1);
  });

  it('SIGHUP swaps the certificate for new connections and keeps the open ones; a broken pair is refused and counted', async () => {
    const open = await chargerHandshake(serve, secrets[CHARGER]);
    expect(open.status).toBe(101);
    let closed = false;
    open.client.once('close', () => (closed = true));

    copyFileSync(second.cert, SERVED.cert);
    copyFileSync(second.key, SERVED.key);
    serve.child.kill('SIGHUP');
    await until(
      'the new certificate on a new connection',
      async () => (await servedFingerprint(serve)) === second.fingerprint256,
    );
    // The charger connected before the reload is still there and still answered.
    expect(closed).toBe(false);
    expect(await open.client.call('Heartbeat', {})).toHaveProperty('currentTime');
    expect(await metric(serve, 'fleetpulse_tls_reloads_total{result="ok"}')).toBe(1);

    // A key that is not the certificate's: refused, the previous pair stays in use.
    copyFileSync(first.key, SERVED.key);
    serve.child.kill('SIGHUP');
    await until(
      'the failed reload counted',
      async () => (await metric(serve, 'fleetpulse_tls_reloads_total{result="failed"}')) === 1,
    );
    expect(await servedFingerprint(serve)).toBe(second.fingerprint256);
    expect(serve.output()).toContain('TLS certificate reload failed; keeping the previous one');
    expect(serve.child.exitCode).toBeNull();
    copyFileSync(second.key, SERVED.key);
    await open.client.close({ force: true });
  });

  it('X-Forwarded-For from a peer that is not a trusted proxy is ignored: the audit log has the peer', async () => {
    const res = await call(serve, 'PATCH', `/api/v1/devices/${PC}`, {
      body: { model: 'untrusted-hop' },
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(res.status, res.text).toBe(200);
    const row = (await auditRows(serve)).find((r) => r.action === 'devices.update' && r.target === PC);
    expect(row?.source).toBe('127.0.0.1');
  });

  it('a forged X-Forwarded-For on a WebSocket upgrade is ignored too: agent and OCPP refusals name the peer', async () => {
    expect(await refusedDoors(serve, 'forged', { 'x-forwarded-for': '203.0.113.9' })).toEqual({
      agent: '127.0.0.1',
      charger: '127.0.0.1',
    });
  });
});

describe('serve with http.allow 10.0.0.0/8 behind a trusted proxy on 127.0.0.1', () => {
  let serve: ServeProcess;
  /** What a proxy in front of serve adds for a client in the NOC's network. */
  const NOC = { 'x-forwarded-for': '10.1.2.3' };

  beforeAll(async () => {
    copyFileSync(second.cert, SERVED.cert);
    copyFileSync(second.key, SERVED.key);
    // The same data dir: the devices and credentials of the first server are in the inventory.
    // The bootstrap key is operator-chosen: a serve admits it only when given it again (docs/api.md).
    serve = await startServe({
      dir,
      env: { FLEETPULSE_ADMIN_KEY: KEY },
      // The example sensors' door under /ui/: an operator path, whatever plugin answers there.
      config: serveConfig(
        { allow: ['10.0.0.0/8'], trust_proxy: ['127.0.0.1/32'] },
        { example: { path: '/ui/sensors/' } },
      ),
    });
  }, 60_000);

  afterAll(async () => {
    await serve?.stop('SIGKILL');
  });

  it('refuses the API, its docs and /metrics to 127.0.0.1 with 403 FP_NETWORK_NOT_ALLOWED, and counts it', async () => {
    for (const route of [
      '/api/v1/devices',
      '/api/v1/docs',
      '/api/v1/openapi.json',
      '/metrics',
      '/%61pi/v1/devices',
      '/API/v1/devices',
    ]) {
      const res = await call(serve, 'GET', route);
      expect(res.status, route).toBe(403);
      expect(res.body.error.code, route).toBe('FP_NETWORK_NOT_ALLOWED');
    }
    // A client cannot slip in by writing a NOC address to the left of its own: the proxy appends.
    const spoofed = await call(serve, 'GET', '/api/v1/devices', {
      headers: { 'x-forwarded-for': '10.9.9.9, 198.51.100.7' },
    });
    expect(spoofed.status).toBe(403);
    expect(await metric(serve, 'fleetpulse_http_refused_total{reason="network_not_allowed"}', NOC)).toBe(7);
  });

  it('keeps /healthz, /ocpp/ and /agent/ reachable from anywhere', async () => {
    expect((await call(serve, 'GET', '/healthz')).status).toBe(200);
    const chargerNow = await chargerHandshake(serve, secrets[CHARGER]);
    expect(chargerNow.status).toBe(101);
    await chargerNow.client.close({ force: true });
    const ws = new WebSocket(`wss://127.0.0.1:${serve.port}/agent/${PC}`, {
      ca: caPem,
      headers: { authorization: `Bearer ${secrets[PC]}` },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.close();
  });

  it('admits a client of an allowed network through the trusted proxy; the audit log has its address', async () => {
    const res = await call(serve, 'PATCH', `/api/v1/devices/${PC}`, { body: { model: 'via-the-proxy' }, headers: NOC });
    expect(res.status, res.text).toBe(200);
    const row = (await auditRows(serve, NOC)).find((r) => r.action === 'devices.update' && r.target === PC);
    expect(row?.source).toBe('10.1.2.3');
  });

  it('a WebSocket upgrade through the trusted proxy is the forwarded client: agent and OCPP refusals name it', async () => {
    // Read from the right: the hop the proxy appended, not what the client wrote to its left.
    expect(await refusedDoors(serve, 'proxied', { 'x-forwarded-for': '10.9.9.9, 198.51.100.7' })).toEqual({
      agent: '198.51.100.7',
      charger: '198.51.100.7',
    });
  });

  it('refuses WebSocket upgrades under /api/ and /ui/ outside http.allow with 403, before any plugin', async () => {
    const counted = () => metric(serve, 'fleetpulse_http_refused_total{reason="network_not_allowed"}', NOC);
    const before = await counted();
    const routes = ['/ui/sensors/S-1', '/api/v1/live', '/%61pi/v1/live', '/UI/sensors/S-1', '/metrics'];
    for (const route of routes) {
      const refused = await upgrade(serve, route);
      expect(refused.status, route).toBe(403);
      expect(refused.body.error.code, route).toBe('FP_NETWORK_NOT_ALLOWED');
    }
    expect(await counted()).toBe(before + routes.length);
    // From the NOC's network the gate lets them on: the sensor door's plugin answers (no token), nobody claims /api/.
    expect((await upgrade(serve, '/ui/sensors/S-1', NOC)).status).toBe(401);
    expect((await upgrade(serve, '/api/v1/live', NOC)).status).toBe(404);
  });
});

describe('serve refuses a transport configuration it cannot use (exit 2)', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'a network that is not one',
      { allow: ['10.0.0/33'] },
      /http\.allow: '10\.0\.0\/33' is not an IP address or CIDR network/,
    ],
    [
      'a proxy that is not an address',
      { trust_proxy: ['proxy.example'] },
      /http\.trust_proxy: 'proxy\.example' is not/,
    ],
    [
      'a certificate without a key',
      { tls: { cert: SERVED.cert } },
      /http\.tls: cert and key go together \(key is missing\)/,
    ],
    [
      'a key that is not the certificate’s',
      { tls: { cert: path.join(dir, 'first.crt'), key: path.join(dir, 'second.key') } },
      /http\.tls: .* are not a certificate and its key/,
    ],
  ];
  it.each(cases)('%s', async (_name, http, message) => {
    const caseDir = mkdtempSync(path.join(dir, 'refused-'));
    const exit = await runServeToExit(
      { data_dir: path.join(caseDir, 'data'), http: { host: '127.0.0.1', port: 0, ...http } },
      caseDir,
    );
    expect(exit.code, exit.output).toBe(2);
    expect(exit.output).toMatch(message);
  });
});
