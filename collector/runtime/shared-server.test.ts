import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import Fastify from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { issueClientCert, issueServerCert, makeCa } from '../../test/helpers/test-ca.ts';
import { SharedServer } from './shared-server.ts';

/** Opens a WebSocket and resolves with the HTTP status that answered the upgrade (101 when it opened). */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', reject);
  });
}

describe('SharedServer upgrades', () => {
  const app = Fastify({ logger: false });
  afterEach(() => app.close());

  it('answers 500 when a plugin handler throws or rejects, and keeps serving the others', async () => {
    const server = new SharedServer(app);
    const http = server.forPlugin('flaky');
    http.upgrade('/throws', () => {
      throw new Error('inventory unavailable');
    });
    http.upgrade('/rejects', async () => {
      await Promise.resolve();
      throw new Error('inventory unavailable');
    });
    http.upgrade('/works', (request, socket) => {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    app.get('/ping', async () => 'pong');
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const ws = address.replace('http', 'ws');

    expect(await upgradeStatus(`${ws}/throws`)).toBe(500);
    expect(await upgradeStatus(`${ws}/rejects`)).toBe(500);
    expect(await upgradeStatus(`${ws}/works`)).toBe(401);
    expect(await upgradeStatus(`${ws}/nobody`)).toBe(404);
    expect(await (await fetch(`${address}/ping`)).text()).toBe('pong');
  });
});

describe('SharedServer client certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-shared-tls-'));
  const ca = makeCa(dir);
  const served = issueServerCert(ca, dir, 'server');
  const client = issueClientCert(ca, dir, 'CP-1');
  const tls = { cert: readFileSync(served.cert), key: readFileSync(served.key) };
  const app = Fastify({ logger: false, https: tls });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The subject a plugin's upgrade handler sees, or '' without a certificate. */
  function subjectSeen(options: { cert?: Buffer; key?: Buffer }): Promise<string> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${(app.server.address() as { port: number }).port}/seen`, {
        ca: readFileSync(ca.cert),
        ...options,
      });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      ws.on('error', reject);
    });
  }

  it('asks for a client certificate only once a plugin does, and never requires one', async () => {
    const server = new SharedServer(app, { tls });
    const http = server.forPlugin('ocpp');
    http.upgrade('/seen', (request, socket) => {
      const subject = (request.socket as TLSSocket).getPeerX509Certificate()?.subject ?? '';
      socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: ${subject.length}\r\n\r\n${subject}`);
    });
    app.get('/ping', async () => 'pong');
    await app.listen({ host: '127.0.0.1', port: 0 });
    const withCert = { cert: readFileSync(client.cert), key: readFileSync(client.key) };

    expect(await subjectSeen(withCert)).toBe('');
    expect(http.tls).toBe(true);
    expect(http.requestClientCertificates(readFileSync(ca.cert))).toBe(true);
    expect(await subjectSeen(withCert)).toBe('CN=CP-1');
    // A client without a certificate (a browser, an API client) is served as before.
    expect(await subjectSeen({})).toBe('');
    const port = (app.server.address() as { port: number }).port;
    const pong = await new Promise<string>((resolve, reject) =>
      httpsGet({ host: '127.0.0.1', port, path: '/ping', ca: readFileSync(ca.cert) }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      }).on('error', reject),
    );
    expect(pong).toBe('pong');
  });
});
