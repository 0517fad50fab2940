/**
 * One simulated charge point for `fleetpulse simulate --ocpp N`: boots, reports connector status,
 * heartbeats at the interval the server gives, runs transactions with meter values, answers every
 * command the plugin sends, keeps the local list and the reservations it is sent (across
 * reconnects, as a charge point does; a plug-in on a reserved charger charges the reserved tag), sends
 * security events (StartupOfTheDevice at each boot, now and then a routine one, alerting ones only when
 * asked), holds the charging profiles it is sent with its power draw under their limit
 * (simulated-profiles.ts), and injects the faults it is told to. A 2.0.1 one has a small device
 * model with monitors (simulated-device-model.ts).
 */
import { randomUUID } from 'node:crypto';
import { RPCClient } from 'ocpp-rpc';
import { ALERTING_SECURITY_EVENTS } from './security-events.ts';
import { ChargerAuthority } from './simulated-auth.ts';
import { SimulatedDeviceModel } from './simulated-device-model.ts';
import { SimulatedProfiles } from './simulated-profiles.ts';
import { ChargerOperations } from './simulated-operations.ts';

export interface SimOptions {
  endpoint: string;
  identity: string;
  version: 'ocpp1.6' | 'ocpp2.0.1';
  password?: string;
  connectors: number;
  meterIntervalS: number;
  /** Per meter interval and idle connector: chance that a car plugs in. */
  plugInChance: number;
  faults: { drop: number; resend: number; slowMs: number; malformed: number; ignoreProfiles: number };
  /** Per meter interval: chance of a routine security event, and of one that pages someone. */
  securityEvents: { routine: number; alerting: number };
  signal: AbortSignal;
  count(event: string): void;
  /** The server refused this charger (handshake 401/403, or BootNotification not Accepted). */
  refused?(reason: string): void;
  connected(up: boolean): void;
}

/** What every simulated charger says it is in its BootNotification. */
export const SIM_MODEL = 'SIM-22';
export const SIM_FIRMWARE = '1.0.0';

interface Connector {
  id: number;
  wh: number;
  tx?: { id: string; seq: number; left: number; startedAt: number };
}

/** What the simulated car draws when nothing limits it, W (one phase at 32 A). */
export const CAR_W = 7400;

export async function runCharger(o: SimOptions): Promise<void> {
  const v16 = o.version === 'ocpp1.6';
  const connectors: Connector[] = Array.from({ length: o.connectors }, (_, i) => ({
    id: i + 1,
    wh: Math.floor(Math.random() * 1e6),
  }));
  const authority = new ChargerAuthority(o.version);
  // 2.0.1: its variables and monitors, kept across reconnects as a charge point keeps them.
  const model = v16 ? undefined : new SimulatedDeviceModel(o.connectors);
  // Held across reconnects, as a charge point keeps its profiles.
  const profiles = new SimulatedProfiles(
    v16,
    (n) => connectors.find((c) => c.id === n)?.tx,
    Math.random() < o.faults.ignoreProfiles,
  );
  const operations = new ChargerOperations(o.version);
  while (!o.signal.aborted) {
    const client = new RPCClient({
      endpoint: o.endpoint,
      identity: o.identity,
      password: o.password,
      protocols: [o.version],
      strictMode: true,
      reconnect: false,
      callTimeoutMs: 60_000,
    } as never);
    answerCommands(client, o, connectors, profiles);
    profiles.serve(client);
    model?.serve(client);
    authority.serve(client, (n) => connectors.some((c) => c.id === n && c.tx !== undefined));
    operations.serve(client);
    try {
      await client.connect();
    } catch (err) {
      o.count('connect_failed');
      const status = (err as { code?: unknown }).code;
      if (status === 401 || status === 403) o.refused?.(`handshake answered HTTP ${status}`);
      await pause(2000 + Math.random() * 3000, o.signal);
      continue;
    }
    o.connected(true);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const onAbort = () => void client.close({ code: 1000 }).catch(() => {});
    o.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const boot = (await client.call(
        'BootNotification',
        v16
          ? {
              chargePointVendor: 'Fleetpulse',
              chargePointModel: SIM_MODEL,
              chargePointSerialNumber: o.identity,
              firmwareVersion: SIM_FIRMWARE,
            }
          : {
              reason: 'PowerUp',
              chargingStation: {
                vendorName: 'Fleetpulse',
                model: SIM_MODEL,
                serialNumber: o.identity,
                firmwareVersion: SIM_FIRMWARE,
              },
            },
      )) as { status: string; interval: number };
      o.count(`boot_${boot.status.toLowerCase()}`);
      if (boot.status !== 'Accepted') o.refused?.(`BootNotification answered ${boot.status}`);
      if (boot.status === 'Accepted') {
        await securityEvent(client, o, 'StartupOfTheDevice');
        for (const c of connectors) await client.call('StatusNotification', status(o.version, c.id, 'Available'));
        await Promise.race([live(client, o, connectors, authority, profiles, boot.interval), closed]);
      } else await Promise.race([pause(boot.interval * 1000, o.signal), closed]);
    } catch {
      o.count('errors');
    }
    o.signal.removeEventListener('abort', onAbort);
    await client.close({ force: true }).catch(() => {});
    o.connected(false);
    if (!o.signal.aborted) await pause(1000 + Math.random() * 2000, o.signal);
  }
}

/** Heartbeats and meter values until the connection drops (or a drop fault cuts it). */
async function live(
  client: RPCClient,
  o: SimOptions,
  connectors: Connector[],
  authority: ChargerAuthority,
  profiles: SimulatedProfiles,
  heartbeatS: number,
): Promise<void> {
  let nextHeartbeat = Date.now() + heartbeatS * 1000;
  // Spread the fleet's meter values over the interval instead of sending them in lockstep.
  await pause(Math.random() * o.meterIntervalS * 1000, o.signal);
  while (!o.signal.aborted) {
    if (Math.random() < o.faults.drop) {
      o.count('fault_drop');
      await client.close({ force: true });
      return;
    }
    if (Math.random() < o.faults.malformed) {
      o.count('fault_malformed');
      client.sendRaw('[2,"bad-frame","Heartbeat"');
    }
    if (Math.random() < o.securityEvents.routine) await securityEvent(client, o, pick(ROUTINE_SECURITY_EVENTS));
    if (Math.random() < o.securityEvents.alerting) await securityEvent(client, o, pick(ALERTING_SECURITY_EVENTS));
    const charging = connectors.filter((c) => c.tx).length;
    for (const c of connectors) await step(client, o, c, authority, profiles, charging);
    if (Date.now() >= nextHeartbeat) {
      await client.call('Heartbeat', {});
      nextHeartbeat = Date.now() + heartbeatS * 1000;
      o.count('heartbeats');
    }
    await pause(o.meterIntervalS * 1000, o.signal);
  }
}

/** One meter interval of one connector: maybe start, charge, or stop a transaction. */
async function step(
  client: RPCClient,
  o: SimOptions,
  c: Connector,
  authority: ChargerAuthority,
  profiles: SimulatedProfiles,
  charging: number,
): Promise<void> {
  const v16 = o.version === 'ocpp1.6';
  const now = new Date().toISOString();
  if (!c.tx) {
    if (Math.random() >= o.plugInChance) return;
    await startTransaction(client, o, c, reservedTag(o, c, authority) ?? `TAG-${o.identity}`.slice(0, 20), profiles);
    return;
  }
  const watts = profiles.drawW(c.id, CAR_W, Date.now(), charging);
  const amps = Math.round(watts / 230);
  c.wh += Math.max(1, Math.round(watts * (o.meterIntervalS / 3600))); // at least 1 Wh per interval
  c.tx.left--;
  const sampled = v16
    ? [
        { value: String(c.wh), unit: 'Wh' },
        { value: String(watts), measurand: 'Power.Active.Import', unit: 'W' },
        { value: String(amps), measurand: 'Current.Import', phase: 'L1', unit: 'A' },
      ]
    : [
        { value: c.wh },
        { value: watts, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } },
        { value: amps, measurand: 'Current.Import', phase: 'L1', unitOfMeasure: { unit: 'A' } },
      ];
  const meterValue = [{ timestamp: now, sampledValue: sampled }];
  if (c.tx.left > 0) {
    if (v16) await client.call('MeterValues', { connectorId: c.id, transactionId: Number(c.tx.id), meterValue });
    else
      await transactional(client, o, 'TransactionEvent', txEvent(c, 'Updated', 'MeterValuePeriodic', now, meterValue));
    o.count('meter_values');
    return;
  }
  if (v16)
    await transactional(client, o, 'StopTransaction', {
      transactionId: Number(c.tx.id),
      meterStop: c.wh,
      timestamp: now,
      reason: 'EVDisconnected',
    });
  else
    await transactional(client, o, 'TransactionEvent', {
      ...txEvent(c, 'Ended', 'EVDeparted', now, meterValue),
      transactionInfo: { transactionId: c.tx.id, stoppedReason: 'EVDisconnected' },
    });
  profiles.ended(c.tx.id);
  c.tx = undefined;
  await client.call('StatusNotification', status(o.version, c.id, 'Available'));
  o.count('sessions');
}

/** The tag of a reservation that holds this connector (or the whole charger), used up; expired ones drop. */
function reservedTag(o: SimOptions, c: Connector, authority: ChargerAuthority): string | undefined {
  for (const [id, r] of authority.reservations) {
    if (r.expiresAt <= Date.now()) authority.reservations.delete(id);
    else if (r.connector === 0 || r.connector === c.id) {
      authority.reservations.delete(id);
      o.count('reservation_used');
      return r.idTag;
    }
  }
  return undefined;
}

async function startTransaction(
  client: RPCClient,
  o: SimOptions,
  c: Connector,
  idTag: string,
  profiles: SimulatedProfiles,
): Promise<void> {
  const now = new Date().toISOString();
  const startedAt = Date.now();
  const left = 3 + Math.floor(Math.random() * 10);
  await client.call('StatusNotification', status(o.version, c.id, o.version === 'ocpp1.6' ? 'Charging' : 'Occupied'));
  if (o.version === 'ocpp1.6') {
    profiles.opened(c.id);
    const answer = (await transactional(client, o, 'StartTransaction', {
      connectorId: c.id,
      idTag,
      meterStart: c.wh,
      timestamp: now,
    })) as { transactionId: number };
    c.tx = { id: String(answer.transactionId), seq: 0, left, startedAt };
    profiles.started(c.id, c.tx.id);
  } else {
    c.tx = { id: randomUUID(), seq: 0, left, startedAt };
    profiles.started(c.id, c.tx.id);
    await transactional(client, o, 'TransactionEvent', {
      ...txEvent(c, 'Started', 'Authorized', now, [{ timestamp: now, sampledValue: [{ value: c.wh }] }]),
      idToken: { idToken: idTag, type: 'ISO14443' },
    });
  }
}

function txEvent(c: Connector, eventType: string, triggerReason: string, timestamp: string, meterValue: unknown[]) {
  return {
    eventType,
    timestamp,
    triggerReason,
    seqNo: c.tx!.seq++,
    transactionInfo: { transactionId: c.tx!.id },
    evse: { id: c.id, connectorId: 1 },
    meterValue,
  };
}

/** A message the charger must resend until answered: with the resend fault, it is sent twice. */
async function transactional(client: RPCClient, o: SimOptions, action: string, params: unknown): Promise<unknown> {
  if (Math.random() >= o.faults.resend) return client.call(action, params);
  const id = randomUUID();
  await rawCall(client, id, action, params); // "lost" reply
  const answer = await rawCall(client, id, action, params);
  o.count('fault_resend'); // counted once the resend is answered
  return answer[2];
}

/** Security events of normal operation, which no alert rule pages for. */
const ROUTINE_SECURITY_EVENTS = ['SettingSystemTime', 'ReconfigurationOfSecurityParameters'];

/** SecurityEventNotification has the same shape in 1.6 (security whitepaper) and 2.0.1. */
async function securityEvent(client: RPCClient, o: SimOptions, type: string): Promise<void> {
  await client.call('SecurityEventNotification', { type, timestamp: new Date().toISOString() });
  o.count('security_events');
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)];
}

function status(version: string, connector: number, s: string) {
  const timestamp = new Date().toISOString();
  return version === 'ocpp1.6'
    ? { connectorId: connector, errorCode: 'NoError', status: s, timestamp }
    : { timestamp, connectorStatus: s, evseId: connector, connectorId: 1 };
}

/** Answers to every command the plugin sends, optionally slow. */
function answerCommands(client: RPCClient, o: SimOptions, connectors: Connector[], profiles: SimulatedProfiles): void {
  const slow = () => (o.faults.slowMs > 0 ? pause(o.faults.slowMs, o.signal) : Promise.resolve());
  const ok =
    (extra: object = {}) =>
    async () => (await slow(), { status: 'Accepted', ...extra });
  const accept = [
    'Reset',
    'ChangeAvailability',
    'ChangeConfiguration',
    'TriggerMessage',
    'ClearCache',
    'RemoteStopTransaction',
    'RequestStopTransaction',
    'GetLog',
  ];
  for (const action of accept) client.handle(action, ok());
  // A remote start charges at once; its chargingProfile (a TxProfile) belongs to the transaction it starts.
  const remoteStart = async (connector: number | undefined, idTag: string, profile: object | undefined) => {
    await slow();
    const c = connectors.find((x) => x.id === connector) ?? connectors.find((x) => !x.tx);
    if (!c || c.tx) return { status: 'Rejected' };
    profiles.startWith(c.id, profile);
    setImmediate(() => void startTransaction(client, o, c, idTag, profiles).catch(() => o.count('errors')));
    return { status: 'Accepted' };
  };
  type Start16 = { connectorId?: number; idTag: string; chargingProfile?: object };
  type Start201 = { evseId?: number; idToken: { idToken: string }; chargingProfile?: object };
  client.handle('RemoteStartTransaction', ({ params }) => {
    const p = params as Start16;
    return remoteStart(p.connectorId, p.idTag, p.chargingProfile);
  });
  client.handle('RequestStartTransaction', ({ params }) => {
    const p = params as Start201;
    return remoteStart(p.evseId, p.idToken.idToken, p.chargingProfile);
  });
  client.handle('UnlockConnector', async () => (await slow(), { status: 'Unlocked' }));
  client.handle(
    'GetConfiguration',
    async () => (await slow(), { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }] }),
  );
  client.handle('UpdateFirmware', async () => (await slow(), o.version === 'ocpp1.6' ? {} : { status: 'Accepted' }));
  client.handle('CostUpdated', async () => (o.count('cost_updated'), {}));
  client.handle('GetDiagnostics', async () => (await slow(), { fileName: `${o.identity}.tgz` }));
  client.on('call', () => o.count('commands'));
}

/** Sends a CALL with a chosen message id and resolves with the raw answer frame. */
export function rawCall(client: RPCClient, messageId: string, action: string, params: unknown): Promise<unknown[]> {
  return rawFrame(client, JSON.stringify([2, messageId, action, params]), messageId);
}

/** Sends any text and resolves with the answer frame whose message id is `answerId`. */
export function rawFrame(client: RPCClient, text: string, answerId: string): Promise<unknown[]> {
  return new Promise((resolve) => {
    const onMessage = ({ message, outbound }: { message: string; outbound: boolean }) => {
      if (outbound) return;
      const frame = JSON.parse(message) as unknown[];
      if (frame[1] !== answerId || frame[0] === 2) return;
      client.off('message', onMessage);
      resolve(frame);
    };
    client.on('message', onMessage);
    client.sendRaw(text);
  });
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
