import nodemailer from 'nodemailer';
import { isIP } from 'node:net';
import { OutboundPolicy, OutboundRefused, outboundRequest } from '../sdk/index.ts';
import type { Incident } from './incidents.ts';

/** The config key of the escalation's outbound policy, named in its refusals. */
export const ESCALATION_NETWORKS = 'operations.escalation.allowed_networks';

/** Where webhooks and the SMTP server may be: public addresses, plus `allowedNetworks`. Throws for a bad CIDR. */
export function escalationPolicy(allowedNetworks: readonly string[] = []): OutboundPolicy {
  return new OutboundPolicy({ setting: ESCALATION_NETWORKS, allowedNetworks });
}

/** Where an escalation goes: a webhook (JSON POST) or an email to one or more addresses. */
export type Contact = { kind: 'webhook'; url: string } | { kind: 'email'; to: string[] };

export class ContactError extends Error {
  override name = 'ContactError';
}

/** An address as on-call rotas write them: one `@`, no spaces, no separators. */
const ADDRESS = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;

/**
 * `http(s)://…` is a webhook; `mailto:oncall@example.com` (several addresses separated by
 * commas, as mailto URIs allow) is an email. Anything else is refused, saying why.
 */
export function parseContact(contact: string): Contact {
  let url: URL;
  try {
    url = new URL(contact);
  } catch {
    throw new ContactError(`'${contact}' is neither an http(s) URL nor mailto:<address>`);
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') return { kind: 'webhook', url: contact };
  if (url.protocol === 'mailto:') {
    const to = decodeURIComponent(url.pathname)
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
    const bad = to.find((a) => !ADDRESS.test(a));
    if (to.length === 0 || bad !== undefined)
      throw new ContactError(`'${contact}': '${bad ?? ''}' is not an email address`);
    return { kind: 'email', to };
  }
  throw new ContactError(`'${contact}' is neither an http(s) URL nor mailto:<address>`);
}

/** Checks an SMTP URL: `smtp://[user:pass@]host[:port]` (STARTTLS when offered) or `smtps://…` (TLS). */
export function checkSmtpUrl(smtpUrl: string): void {
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    throw new ContactError(`'${redact(smtpUrl)}' is not a URL (smtp://host:587 or smtps://host:465)`);
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new ContactError(`'${redact(smtpUrl)}' must start with smtp:// or smtps://`);
  if (!url.hostname) throw new ContactError(`'${redact(smtpUrl)}' names no host`);
}

export function checkAddress(address: string): void {
  if (!ADDRESS.test(address)) throw new ContactError(`'${address}' is not an email address`);
}

/** The URL without its password, for messages and logs. */
export function redact(smtpUrl: string): string {
  return smtpUrl.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

/** What the contact is told: the same facts in the webhook's `message` and the email. */
export interface EscalationNotice {
  incident: Incident;
  /** 1 for the first contact, 2 for the second, … */
  level: number;
  /** How many contacts there are. */
  levels: number;
  /** Where to look: the incident in the API (`<public_url>/api/v1/incidents/<id>`). */
  link: string;
  now: number;
}

export function noticeSubject(n: EscalationNotice): string {
  const i = n.incident;
  const where = [i.device, [i.customer, i.site].filter(Boolean).join(' / ')].filter(Boolean).join(', ');
  return `[Fleetpulse] ${i.severity.toUpperCase()} incident #${i.id} not acknowledged: ${i.rule}${where ? ` (${where})` : ''}`;
}

/** A plain-text body an on-call person can act on from a phone: what, where, since when, where to look. */
export function noticeText(n: EscalationNotice): string {
  const i = n.incident;
  const minutes = Math.max(0, Math.round((n.now - i.starts_at) / 60_000));
  const line = (label: string, value: string | null) => `${`${label}:`.padEnd(10)} ${value ?? '-'}`;
  return [
    `Incident #${i.id} has not been acknowledged. This is escalation ${n.level} of ${n.levels}.`,
    '',
    line('Rule', i.rule),
    line('Severity', i.severity),
    line('Device', i.device),
    line('Customer', i.customer),
    line('Site', i.site),
    line('Since', `${new Date(i.starts_at).toISOString()} (${minutes} min ago)`),
    ...(i.summary ? [line('Summary', i.summary)] : []),
    '',
    `Look at it:  ${n.link}`,
    `Acknowledge: POST ${n.link}/ack (role support or above), and the escalation stops.`,
    '',
  ].join('\n');
}

export interface DeliveryOptions {
  /** Needed for email contacts. `url`: smtp:// or smtps://; `from`: the sender address. */
  smtp?: { url: string; from: string };
  /** A contact must answer within this long, ms. */
  timeoutMs: number;
  /** Every webhook and the SMTP server pass it, when configured and again at each send. Default: public only. */
  policy?: OutboundPolicy;
}

/** Sends notices to contacts; a failure throws (the escalator retries at its next check). */
export class ContactDelivery {
  private readonly policy: OutboundPolicy;

  constructor(private readonly o: DeliveryOptions) {
    this.policy = o.policy ?? escalationPolicy();
    if (o.smtp) {
      checkSmtpUrl(o.smtp.url);
      checkAddress(o.smtp.from);
    }
  }

  /** Names the contact in notes and logs (a webhook's host, or the addresses). */
  static describe(contact: Contact): string {
    return contact.kind === 'webhook' ? new URL(contact.url).host : `email ${contact.to.join(', ')}`;
  }

  async deliver(contact: Contact, notice: EscalationNotice): Promise<void> {
    if (contact.kind === 'webhook') return this.post(contact.url, notice);
    return this.mail(contact.to, notice);
  }

  /** Nothing stays open: each notice has its own connection, to an address checked for it. */
  close(): void {}

  private async post(url: string, n: EscalationNotice): Promise<void> {
    const body = {
      event: 'incident_escalated',
      level: n.level,
      incident: { ...n.incident, starts_at: new Date(n.incident.starts_at).toISOString() },
      url: n.link,
      message: `Unacknowledged ${n.incident.severity} incident #${n.incident.id}: ${n.incident.summary ?? n.incident.rule}${n.incident.device ? ` on ${n.incident.device}` : ''}`,
    };
    // Through the policy: the host (every address it resolves to) checked as the socket connects;
    // a redirect is not followed (a 3xx fails the delivery).
    const res = await outboundRequest(this.policy, url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.o.timeoutMs),
      maxBytes: 64 * 1024,
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  }

  private async mail(to: string[], n: EscalationNotice): Promise<void> {
    const smtp = this.o.smtp;
    if (!smtp) throw new ContactError('email contacts need an SMTP server (operations.escalation.smtp_url)');
    // nodemailer resolves names itself: resolve and check here, and connect to the checked address
    // (the name stays the TLS server name), so no second answer can lead elsewhere.
    const u = new URL(smtp.url);
    const [address] = await this.policy.check(u.hostname).catch((err: OutboundRefused) => {
      throw new ContactError(`SMTP server ${err.message}`);
    });
    const pinned = new URL(smtp.url);
    pinned.hostname = isIP(address) === 6 ? `[${address}]` : address;
    const transport = nodemailer.createTransport({
      url: pinned.toString(),
      ...(isIP(u.hostname.replace(/^\[|\]$/g, '')) ? {} : { servername: u.hostname }),
      // nodemailer waits minutes by default; a contact that hangs must not hold up the others.
      connectionTimeout: this.o.timeoutMs,
      greetingTimeout: this.o.timeoutMs,
      socketTimeout: this.o.timeoutMs,
    });
    try {
      await transport.sendMail({
        from: smtp.from,
        to,
        subject: noticeSubject(n),
        text: noticeText(n),
        headers: { 'X-Fleetpulse-Incident': String(n.incident.id), 'X-Fleetpulse-Escalation-Level': String(n.level) },
      });
    } finally {
      transport.close();
    }
  }
}
