import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
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
