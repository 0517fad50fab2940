import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../api/app.ts';
import { loadConfig } from '../bin/config.ts';
import { maintenanceCalendar, startOperations } from '../bin/operations.ts';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import { startFleet, type Fleet } from '../collector/operations/testing.ts';
import type { Inventory } from '../collector/inventory/index.ts';

/** One message as the SMTP server received it: the envelope, the headers and the decoded text body. */
interface Received {
  from: string;
  to: string[];
  user: string | undefined;
  headers: Record<string, string>;
  text: string;
}

/** Splits a raw RFC 5322 message (nodemailer's: one text part, 7bit or quoted-printable). */
function parseMessage(raw: string): { headers: Record<string, string>; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of raw
    .slice(0, split)
    .replace(/\r\n(?=[ \t])/g, '')
    .split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.slice(split + 4);
  if (headers['content-transfer-encoding'] === 'quoted-printable') {
    const bytes = body
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    body = Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return { headers, text: body.replace(/\r\n/g, '\n') };
}

/** startOperations as serve calls it: over a running collector, with serve's configuration and environment. */
describe('startOperations', () => {
  let inventory: Inventory;
  let fleet: Fleet;
  let cleanup: () => void;
  let smtp: SMTPServer;
  let smtpPort: number;
  const received: Received[] = [];
  let refuseRecipients = false;
  const log = pino({ level: 'silent' });

  beforeAll(async () => {
    const f = tempInventory();
    inventory = f.inventory;
    cleanup = f.cleanup;
    seedOwners(inventory);
    inventory.devices.create({ id: 'kiosk-7', kind: 'widget', site: 'acme-berlin' });
    fleet = await startFleet(inventory);
    // A real SMTP server on loopback: plain SMTP (STARTTLS off: its certificate would be
    // self-signed), AUTH required, so the credentials in smtp_url are shown to be used.
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === 'fleet' && auth.password === 's3cret:pw') cb(null, { user: auth.username });
        else cb(new Error('bad credentials'));
      },
      onRcptTo(_address, _session, cb) {
        if (!refuseRecipients) return cb();
        cb(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const envelope = session.envelope;
          received.push({
            from: envelope.mailFrom ? envelope.mailFrom.address : '',
            to: envelope.rcptTo.map((r) => r.address),
            user: session.user as string | undefined,
            ...parseMessage(Buffer.concat(chunks).toString('latin1')),
          });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    smtpPort = (smtp.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await fleet?.stop();
    cleanup?.();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  });

  const deps = () => ({ inventory, collector: fleet.collector, plugins: [fleet.plugin], log });

  it('refuses settings that do not fit together, naming the key', () => {
    const start =
      (env: Record<string, string>, processEnv: Record<string, string> = {}) =>
      () =>
        startOperations({ ...deps(), config: loadConfig(undefined, env).operations, env: processEnv });
    const CONTACTS = 'FLEETPULSE_OPERATIONS__ESCALATION__CONTACTS';
    expect(start({ [CONTACTS]: '[mailto:oncall@example.com]' })).toThrow(
      /^operations\.escalation\.contacts: mailto: contacts need an SMTP server: set operations\.escalation\.smtp_url/,
    );
    expect(
      start({
        [CONTACTS]: '[mailto:oncall@example.com]',
        FLEETPULSE_OPERATIONS__ESCALATION__SMTP_URL: 'smtp://127.0.0.1:25',
      }),
    ).toThrow(/set operations\.escalation\.from/);
    expect(start({ [CONTACTS]: '[mailto:not-an-address]' })).toThrow(
      /^operations\.escalation\.contacts\[0\]: 'mailto:not-an-address': 'not-an-address' is not an email address/,
    );
    expect(start({ [CONTACTS]: '[https://pager.example.com/a, ftp://x.example.com]' })).toThrow(
      /^operations\.escalation\.contacts\[1\]: /,
    );
    expect(start({ FLEETPULSE_OPERATIONS__ESCALATION__SMTP_URL: 'http://u:hidden@mail.example.com' })).toThrow(
      /^operations\.escalation\.smtp_url: 'http:\/\/u:\*\*\*@mail\.example\.com' must start with smtp:\/\//,
    );
    expect(
      start({
        FLEETPULSE_OPERATIONS__ESCALATION__SMTP_URL: 'smtp://mail.example.com',
        FLEETPULSE_OPERATIONS__ESCALATION__FROM: 'fleetpulse',
      }),
    ).toThrow(/^operations\.escalation\.from: /);
    expect(start({ FLEETPULSE_OPERATIONS__ESCALATION__PUBLIC_URL: 'fleetpulse.example.com' })).toThrow(
      /^operations\.escalation\.public_url: /,
    );
    // The variables of earlier versions would page nobody now: refused, pointing at the key.
    expect(start({}, { FLEETPULSE_ESCALATION_CONTACTS: 'https://pager.example.com/a' })).toThrow(
      /^FLEETPULSE_ESCALATION_CONTACTS is no longer read: set operations\.escalation\.contacts/,
    );
    expect(start({}, { FLEETPULSE_PREMIUM_CUSTOMERS: 'acme|globex' })).toThrow(
      /^FLEETPULSE_PREMIUM_CUSTOMERS is no longer read: alerts are routed by the customer's contract in the inventory/,
    );
    expect(start({}, { FLEETPULSE_INCIDENT_WEBHOOK_SECRET: 'short' })).toThrow(/at least 16/);
  });

  it('refuses private, loopback and metadata contacts unless operations.escalation.allowed_networks opens them', () => {
    const start = (env: Record<string, string>) => () =>
      startOperations({ ...deps(), config: loadConfig(undefined, env).operations, env: {} });
    const CONTACTS = 'FLEETPULSE_OPERATIONS__ESCALATION__CONTACTS';
    const NETWORKS = 'FLEETPULSE_OPERATIONS__ESCALATION__ALLOWED_NETWORKS';
    const mail = {
      [CONTACTS]: '[mailto:oncall@example.com]',
      FLEETPULSE_OPERATIONS__ESCALATION__FROM: 'fleetpulse@example.com',
    };
    expect(start({ [CONTACTS]: '[https://pager.example.com/a, http://10.0.0.5/hook]' })).toThrow(
      /^operations\.escalation\.contacts\[1\]: 10\.0\.0\.5 is a private address outside operations\.escalation\.allowed_networks/,
    );
    expect(start({ [CONTACTS]: '[http://0x7f.1:9/hook]' })).toThrow(
      /^operations\.escalation\.contacts\[0\]: 127\.0\.0\.1 is a loopback address/,
    );
    expect(start({ [CONTACTS]: '[http://169.254.169.254/latest/]', [NETWORKS]: '[0.0.0.0/0]' })).toThrow(
      /cloud metadata/,
    );
    expect(start({ ...mail, FLEETPULSE_OPERATIONS__ESCALATION__SMTP_URL: 'smtp://192.168.1.25:587' })).toThrow(
      /^operations\.escalation\.smtp_url: 192\.168\.1\.25 is a private address/,
    );
    expect(start({ ...mail, FLEETPULSE_OPERATIONS__ESCALATION__SMTP_URL: 'smtp://localhost:25' })).toThrow(
      /^operations\.escalation\.smtp_url: localhost is a loopback name/,
    );
    expect(start({ [CONTACTS]: '[http://10.0.0.5/hook]', [NETWORKS]: '[10.0.0.0/8, 300.0.0.0/8]' })).toThrow(
      /^operations\.escalation\.allowed_networks\.1: '300\.0\.0\.0\/8' is not a CIDR/,
    );
    // Configured: the same private webhook and SMTP server are accepted.
    for (const env of [
      { [CONTACTS]: '[http://10.0.0.5/hook]', [NETWORKS]: '[10.0.0.0/8]' },
      {
        ...mail,
        FLEETPULSE_OPERATIONS__ESCALATION__SMTP_URL: 'smtp://192.168.1.25:587',
        [NETWORKS]: '[192.168.1.0/24]',
      },
    ]) {
      const ops = start(env)();
      void ops.stop(100);
    }
  });

  it('wires the webhook secret, the calendar and the API', async () => {
    const maintenance = maintenanceCalendar(inventory);
    const ops = startOperations({
      ...deps(),
      maintenance,
      config: loadConfig(undefined, {
        FLEETPULSE_OPERATIONS__ESCALATION__CONTACTS: '[http://127.0.0.1:9/a, https://pager.example.com/b]',
        FLEETPULSE_OPERATIONS__ESCALATION__ALLOWED_NETWORKS: '[127.0.0.0/8]',
      }).operations,
      env: { FLEETPULSE_INCIDENT_WEBHOOK_SECRET: 'a-long-enough-secret' },
    });
    const app = build({ inventory, kinds: ['widget'], operations: ops });
    try {
      expect(ops.calendar).toBe(maintenance.calendar);
      const hook = (secret: string) =>
        app.inject({
          method: 'POST',
          url: '/api/v1/incidents/webhook',
          headers: { authorization: `Bearer ${secret}` },
          payload: { alerts: [{ status: 'firing', labels: { alertname: 'X' }, startsAt: '2026-10-01T00:00:00Z' }] },
        });
      expect((await hook('a-long-enough-secret')).statusCode).toBe(200);
      expect((await hook('a-long-enough-secreT')).statusCode).toBe(401);
    } finally {
      await app.close();
      await ops.stop(100);
    }
  });

  it('escalates by email over SMTP, to the next contact after each delay, only the configured severities', async () => {
    const config = loadConfig(undefined, {
      FLEETPULSE_OPERATIONS__ESCALATION__CONTACTS:
        '[mailto:oncall@example.com, "mailto:lead@example.com,duty@example.com"]',
      FLEETPULSE_OPERATIONS__ESCALATION__SMTP_URL: `smtp://fleet:s3cret%3Apw@127.0.0.1:${smtpPort}`,
      FLEETPULSE_OPERATIONS__ESCALATION__FROM: 'fleetpulse@example.com',
      FLEETPULSE_OPERATIONS__ESCALATION__PUBLIC_URL: 'https://fleetpulse.example.com/',
      FLEETPULSE_OPERATIONS__ESCALATION__SEVERITIES: '[critical, high]',
      FLEETPULSE_OPERATIONS__ESCALATION__DELAY_S: '600',
      FLEETPULSE_OPERATIONS__ESCALATION__ALLOWED_NETWORKS: '[127.0.0.0/8]', // the test's SMTP server
    });
    const ops = startOperations({ ...deps(), config: config.operations, env: {} });
    try {
      const alert = (fingerprint: string, severity: string) =>
        ops.incidents.record({
          status: 'firing',
          labels: { alertname: 'TerminalError', severity, device: 'kiosk-7' },
          annotations: { summary: 'Terminal kiosk-7 reports error E-17 (card reader)' },
          startsAt: '2026-10-03T10:00:00Z',
          fingerprint,
        }).incident;
      const critical = alert('mail-critical', 'critical');
      const high = alert('mail-high', 'high');
      const warning = alert('mail-warning', 'warning');
      const due = critical.created_at + 601_000;

      // The SMTP server refuses the recipient: nothing counts, and the next check tries again.
      refuseRecipients = true;
      expect(await ops.escalator.check(due)).toBe(0);
      expect(ops.incidents.get(critical.id)!.escalations).toBe(0);
      refuseRecipients = false;
      expect(await ops.escalator.check(due)).toBe(2);
      expect(received.map((m) => m.headers['x-fleetpulse-incident']).sort()).toEqual(
        [String(critical.id), String(high.id)].sort(),
      );
      expect(ops.incidents.get(warning.id)!.escalations).toBe(0);

      const mail = received.find((m) => m.headers['x-fleetpulse-incident'] === String(critical.id))!;
      expect(mail).toMatchObject({ from: 'fleetpulse@example.com', to: ['oncall@example.com'], user: 'fleet' });
      expect(mail.headers.subject).toBe(
        `[Fleetpulse] CRITICAL incident #${critical.id} not acknowledged: TerminalError (kiosk-7, acme / acme-berlin)`,
      );
      expect(mail.text).toContain(`Incident #${critical.id} has not been acknowledged. This is escalation 1 of 2.`);
      for (const line of [
        'Rule:      TerminalError',
        'Severity:  critical',
        'Device:    kiosk-7',
        'Customer:  acme',
        'Site:      acme-berlin',
        'Since:     2026-10-03T10:00:00.000Z',
        'Summary:   Terminal kiosk-7 reports error E-17 (card reader)',
      ]) {
        expect(mail.text).toContain(line);
      }
      expect(mail.text).toContain(`Look at it:  https://fleetpulse.example.com/api/v1/incidents/${critical.id}\n`);
      expect(ops.incidents.events(critical.id).find((e) => e.type === 'escalated')).toMatchObject({
        text: 'escalated to contact 1 (email oncall@example.com)',
        details: { level: 1 },
      });

      // Acknowledged incidents stop; the other goes on to the second contact (two addresses) after another delay.
      ops.incidents.acknowledge(high.id, 'dana');
      expect(await ops.escalator.check(due + 300_000)).toBe(0);
      expect(await ops.escalator.check(due + 600_000)).toBe(1);
      expect(received).toHaveLength(3);
      expect(received[2]).toMatchObject({
        to: ['lead@example.com', 'duty@example.com'],
        headers: expect.objectContaining({ 'x-fleetpulse-incident': String(critical.id) }),
      });
      expect(received[2].text).toContain('This is escalation 2 of 2.');
      expect(await ops.escalator.check(due + 1_800_000)).toBe(0); // every contact was told
    } finally {
      await ops.stop(100);
    }
  });
});
