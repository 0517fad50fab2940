import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundPolicy } from '../sdk/index.ts';
import { ContactDelivery, escalationPolicy, type EscalationNotice } from './escalation-contacts.ts';
import type { Incident } from './incidents.ts';

// The contacts are real listeners on 127.0.0.1 that count what reaches them: loopback stands for
// any address the operator did not open with operations.escalation.allowed_networks.
let hook: Server;
let redirector: Server;
let smtp: SMTPServer;
let hookHits = 0;
let smtpConnections = 0;
const port = (s: { address(): unknown }) => (s.address() as AddressInfo).port;

beforeAll(async () => {
  hook = createServer((req, res) => {
    hookHits++;
    req.resume();
    res.writeHead(204).end();
  });
  redirector = createServer((req, res) => {
    req.resume();
    res.writeHead(307, { location: `http://127.0.0.1:${port(hook)}/page` }).end();
  });
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onConnect(_session, cb) {
      smtpConnections++;
      cb();
    },
    onData(stream, _session, cb) {
      stream.resume();
      stream.on('end', () => cb());
    },
  });
  await Promise.all([hook, redirector].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  await Promise.all([hook, redirector].map((s) => new Promise((r) => s.close(r))));
  await new Promise<void>((r) => smtp.close(() => r()));
});

const incident = {
  id: 7,
  fingerprint: 'f',
  rule: 'TerminalError',
  severity: 'critical',
  summary: null,
  device: 'kiosk-7',
  customer: null,
  site: null,
  labels: {},
  status: 'open',
  starts_at: 0,
  ends_at: null,
  acked_at: null,
  acked_by: null,
  assignee: null,
  resolved_at: null,
  resolved_by: null,
  escalations: 0,
  escalated_at: null,
  notifications: 1,
  created_at: 0,
  updated_at: 0,
} as Incident;
const notice: EscalationNotice = { incident, level: 1, levels: 1, link: '/api/v1/incidents/7', now: 0 };
const delivery = (allowed: string[], withSmtp = false) =>
  new ContactDelivery({
    timeoutMs: 5_000,
    policy: escalationPolicy(allowed),
    ...(withSmtp ? { smtp: { url: `smtp://127.0.0.1:${port(smtp.server)}`, from: 'fleetpulse@example.com' } } : {}),
  });

describe('escalation contacts through the outbound policy (at send)', () => {
  it('refuses a webhook on a network not configured, and delivers once it is', async () => {
    const url = `http://127.0.0.1:${port(hook)}/page`;
    await expect(delivery([]).deliver({ kind: 'webhook', url }, notice)).rejects.toThrow(
      /127\.0\.0\.1 is a loopback address/,
    );
    await expect(delivery(['10.0.0.0/8']).deliver({ kind: 'webhook', url }, notice)).rejects.toThrow(
      /outside operations\.escalation\.allowed_networks/,
    );
    expect(hookHits).toBe(0);
    await delivery(['127.0.0.0/8']).deliver({ kind: 'webhook', url }, notice);
    expect(hookHits).toBe(1);
  });

  it('does not follow a webhook redirect: the delivery fails and the target is never asked', async () => {
    const before = hookHits;
    const d = delivery(['127.0.0.0/8']);
    await expect(
      d.deliver({ kind: 'webhook', url: `http://127.0.0.1:${port(redirector)}/page` }, notice),
    ).rejects.toThrow(/HTTP 307/);
    expect(hookHits).toBe(before);
  });

  it('refuses an SMTP server on a network not configured, and sends once it is', async () => {
    await expect(delivery([], true).deliver({ kind: 'email', to: ['oncall@example.com'] }, notice)).rejects.toThrow(
      /SMTP server .*loopback address/,
    );
    expect(smtpConnections).toBe(0);
    await delivery(['127.0.0.0/8'], true).deliver({ kind: 'email', to: ['oncall@example.com'] }, notice);
    expect(smtpConnections).toBe(1);
  });

  it('connects to the SMTP address it checked: a name only the policy resolves reaches the server', async () => {
    // nodemailer would resolve the name again on its own; `mail.venue` is in no DNS but this table.
    const asked: string[] = [];
    const policy = new OutboundPolicy({
      setting: 'operations.escalation.allowed_networks',
      allowedNetworks: ['127.0.0.0/8'],
      resolve: async (name) => (asked.push(name), name === 'mail.venue' ? ['127.0.0.1'] : []),
    });
    const before = smtpConnections;
    await new ContactDelivery({
      timeoutMs: 5_000,
      policy,
      smtp: { url: `smtp://mail.venue:${port(smtp.server)}`, from: 'fleetpulse@example.com' },
    }).deliver({ kind: 'email', to: ['oncall@example.com'] }, notice);
    expect(smtpConnections).toBe(before + 1);
    expect(asked).toEqual(['mail.venue']);
  });
});
