import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundRequest } from './outbound-http.ts';
import { OutboundPolicy, OutboundRefused, type Resolve } from './outbound-policy.ts';

// Real listeners on 127.0.0.1 that count what reaches them; names resolve through a table
// (`plug.venue` exists in no DNS: a connection to it proves the checked lookup is the one used).
let target: Server;
let redirector: Server;
let hits = 0;
let url: (server: Server, host?: string) => string;

beforeAll(async () => {
  target = createServer((_req, res) => {
    hits++;
    res.end('target');
  });
  redirector = createServer((_req, res) => res.writeHead(302, { location: url(target) }).end());
  await Promise.all([target, redirector].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  url = (server, host = '127.0.0.1') => `http://${host}:${(server.address() as AddressInfo).port}/rpc`;
});
afterAll(async () => {
  await Promise.all([target, redirector].map((s) => new Promise((resolve) => s.close(resolve))));
});

const DNS: Record<string, string[]> = { 'plug.venue': ['127.0.0.1'], 'split.venue': ['127.0.0.1', '169.254.169.254'] };
const asked: string[] = [];
const resolve: Resolve = async (name) => (asked.push(name), DNS[name] ?? []);
const loopbackOk = new OutboundPolicy({ setting: 'test.allowed_networks', allowedNetworks: ['127.0.0.1/32'], resolve });
const closed = new OutboundPolicy({ setting: 'test.allowed_networks', resolve });

describe('outboundRequest', () => {
  it('connects where the policy allows, to the address its lookup checked', async () => {
    const before = hits;
    asked.length = 0;
    const res = await outboundRequest(loopbackOk, url(target, 'plug.venue'));
    expect(res).toMatchObject({ status: 200, ok: true, text: 'target' });
    expect(hits).toBe(before + 1);
    // One question, in the socket's lookup: no earlier answer a rebinding DNS could contradict.
    expect(asked).toEqual(['plug.venue']);
  });

  it('refuses a literal or a resolved forbidden address before anything is sent', async () => {
    const before = hits;
    await expect(outboundRequest(closed, url(target))).rejects.toThrow(OutboundRefused);
    await expect(outboundRequest(closed, url(target, 'plug.venue'))).rejects.toThrow(
      /resolves to 127\.0\.0\.1 is a loopback address/,
    );
    // One allowed and one metadata address: refused, although the first would connect.
    await expect(outboundRequest(loopbackOk, url(target, 'split.venue'))).rejects.toThrow(
      /169\.254\.169\.254 is a cloud metadata address/,
    );
    await expect(outboundRequest(loopbackOk, url(target, 'localhost'))).rejects.toThrow(/loopback name/);
    expect(hits).toBe(before);
  });

  it('does not follow a redirect, even to an allowed address', async () => {
    const before = hits;
    const res = await outboundRequest(loopbackOk, url(redirector));
    expect(res).toMatchObject({ status: 302, ok: false });
    expect(hits).toBe(before);
  });
});
