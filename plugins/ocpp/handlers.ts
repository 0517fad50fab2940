/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment,
   @typescript-eslint/no-unsafe-argument -- handlers read OcppPayload, schema-checked by ocpp-rpc (station.ts) */
/**
 * Charger → backend messages other than transactions, both versions. Each handler records what
 * the charger says (points, inventory) and answers; payloads arrive already checked against the
 * version's schema by ocpp-rpc's strict mode.
 */
import { isDiskFull, PointsRefused } from '../../collector/sdk/index.ts';
import { registerCertificates } from './certificates.ts';
import { idTagInfo } from './id-tags.ts';
import {
  boot,
  chargerError,
  connectorStatus,
  diagnostics,
  firmware,
  firmwarePublish,
  securityEvent,
} from './measurements.ts';
import { CRITICAL_SECURITY_EVENTS } from './security-events.ts';
import { autoLocalList } from './station-commands.ts';
import { emitMeterValues } from './meter-points.ts';
import { epochMs, rpcError } from './protocol.ts';
import type { OcppVersion } from './config.ts';
import { report, requireAccepted, tagOf, type Charger, type Handler, type On, type Station } from './station.ts';
import { registerSmartCharging } from './smart-charging-handlers.ts';
import { registerDeviceModel } from './device-model-handlers.ts';
import { registerDisplayMessages } from './display-message-handlers.ts';
import { registerCustomerReports } from './customer-report-handlers.ts';
import { registerDataTransfer } from './data-transfer-handlers.ts';
import { registerTransactions, updateSessionMeter } from './transactions.ts';

/** Handles one action for any charger of one version. */
export type Handlers = Map<string, Handler>;

/**
 * Answers one call of a charger. The tables are built once per version and shared by every
 * connection: per-connection closures for 20 actions cost ~3.5 KB per charger, which is a fifth
 * of what a connection may cost at 10,000 chargers.
 */
export async function dispatch(
  station: Station,
  handlers: Handlers,
  charger: Charger,
  action: string,
  params: unknown,
): Promise<unknown> {
  const handler = handlers.get(action);
  if (!handler) throw rpcError('NotImplemented', `Unable to handle '${action}' calls`);
  requireAccepted(station, charger, action);
  try {
    return await handler(params, charger);
  } catch (err) {
    if ((err as { rpcErrorCode?: string }).rpcErrorCode) throw err;
    // Not stored (the spool's or the inventory's commit failed): a CALLERROR makes the charger
    // keep the message and send it again, where an answer would make it delete the only copy.
    if (err instanceof PointsRefused || isDiskFull(err)) {
      station.ctx.count('disk_full');
      station.ctx.log.warn({ device: charger.identity, action }, 'charger message not stored: the disk is full');
      throw rpcError('InternalError', `${action} not stored: the server's disk is full; send it again`);
    }
    // Our failure, not the charger's: say so in the protocol, keep the connection.
    station.ctx.count('handler_error');
    station.ctx.log.error({ device: charger.identity, action, err }, 'could not handle a charger message');
    throw rpcError('InternalError', `${action} could not be processed`);
  }
}

/** Every handler of one version. Actions not in the table get NotImplemented. */
export function buildHandlers(station: Station, version: OcppVersion): Handlers {
  const table: Handlers = new Map();
  const on: On = (action, handler) => void table.set(action, handler);
  const { ctx } = station;
  const v16 = version === 'ocpp1.6';
  const now = () => new Date(ctx.clock.now()).toISOString();

  on('BootNotification', async (p, charger) => {
    const cs = v16 ? undefined : p.chargingStation;
    const vendor: string = v16 ? p.chargePointVendor : cs.vendorName;
    const model: string = v16 ? p.chargePointModel : cs.model;
    const fw: string | undefined = v16 ? p.firmwareVersion : cs.firmwareVersion;
    const serial: string | undefined = v16 ? (p.chargePointSerialNumber ?? p.chargeBoxSerialNumber) : cs.serialNumber;
    const reported = definedValues({ vendor, model, serial, firmware: fw });
    const record = await ctx.devices.discover(charger.identity, {
      kind: 'charger',
      model: `${vendor} ${model}`,
      firmware: fw,
      reported,
    });
    const status = record.lifecycle === 'active' ? 'Accepted' : record.lifecycle === 'pending' ? 'Pending' : 'Rejected';
    report(station, charger);
    // A charger not accepted writes no points: what it said waits in the inventory for the approver.
    if (status === 'Accepted') {
      station.ends.rebooted(charger);
      ctx.emit(
        boot.name,
        { vendor, model, firmware: fw, serial, reason: v16 ? undefined : p.reason, registration: status },
        { device: charger.identity },
      );
    }
    // After the answer: a charger may not take calls before it knows it is accepted.
    if (status === 'Accepted') setImmediate(() => autoLocalList(station, charger.identity));
    const interval = status === 'Accepted' ? ctx.config.heartbeat_interval_s : ctx.config.boot_retry_interval_s;
    return { status, currentTime: now(), interval };
  });

  on('Heartbeat', () => ({ currentTime: now() }));

  on('StatusNotification', (p, charger) => {
    const connector: number = p.connectorId;
    const evse = v16 ? undefined : p.evseId;
    const status: string = v16 ? p.status : p.connectorStatus;
    const key = `${evse ?? ''}/${connector}`;
    if (status === 'Faulted') (charger.faulted ??= new Set()).add(key);
    else charger.faulted?.delete(key);
    report(station, charger);
    // A session is on a 1.6 connector, on a 2.0.1 EVSE.
    station.ends.connectorStatus(charger, v16 ? connector : evse, status);
    const time = epochMs(p.timestamp) ?? untimedStatusTime(charger, ctx.clock.now());
    const tags = { device: charger.identity, connector: tagOf(connector), evse: tagOf(evse) };
    ctx.emit(
      connectorStatus.name,
      { status, error_code: p.errorCode, vendor_error_code: p.vendorErrorCode, info: p.info },
      tags,
      time,
    );
    if (v16 && p.errorCode !== 'NoError') {
      ctx.emit(
        chargerError.name,
        { code: p.errorCode, vendor_error_code: p.vendorErrorCode, info: p.info },
        { device: charger.identity, connector: tagOf(connector), source: 'status_notification' },
        time,
      );
    }
    return {};
  });

  on('MeterValues', async (p, charger) => {
    const connector: number = v16 ? p.connectorId : p.evseId;
    const transactionId = v16 && p.transactionId !== undefined ? String(p.transactionId) : undefined;
    const ended =
      transactionId === undefined ? undefined : updateSessionMeter(station, charger, transactionId, p.meterValue);
    emitMeterValues(station, charger, connector, p.meterValue, transactionId, ended);
    // The answer tells the charger it may delete its copy: only once the points are durable.
    await ctx.committed();
    return {};
  });

  on('Authorize', (p, charger) => {
    const customer = ctx.devices.lookup(charger.identity)?.customer;
    // Authorize names no connector: only a reservation of the whole charger concerns it.
    const check = (tag: string, unknown: 'Invalid' | 'Unknown') =>
      station.reservations.honour(
        charger.identity,
        undefined,
        tag,
        station.idTags.one(tag)?.parent_id_tag ?? undefined,
        station.idTags.authorize(tag, customer, ctx.clock.now(), unknown),
        false,
      );
    if (v16) return { idTagInfo: idTagInfo(check(p.idTag, 'Invalid'), version) };
    if (p.idToken.type === 'NoAuthorization') return { idTokenInfo: { status: 'Accepted' } };
    return { idTokenInfo: idTagInfo(check(p.idToken.idToken, 'Unknown'), version) };
  });

  const firmwareStatus: Handler = (p, charger) => {
    ctx.emit(firmware.name, { status: p.status, request_id: p.requestId }, { device: charger.identity });
    return {};
  };
  on('FirmwareStatusNotification', firmwareStatus);
  // 1.6 security whitepaper: the status of a SignedUpdateFirmware, and of a GetLog upload.
  if (v16) on('SignedFirmwareStatusNotification', firmwareStatus);

  if (!v16)
    on('PublishFirmwareStatusNotification', (p, charger) => {
      const locations = (p.location as string[] | undefined)?.join(' ');
      ctx.emit(
        firmwarePublish.name,
        { status: p.status, request_id: p.requestId, locations },
        { device: charger.identity },
      );
      return {};
    });

  const uploadStatus: Handler = (p: { status: string; requestId?: number }, charger) => {
    ctx.emit(diagnostics.name, { status: p.status, request_id: p.requestId }, { device: charger.identity });
    return {};
  };
  if (v16) on('DiagnosticsStatusNotification', uploadStatus);
  on('LogStatusNotification', uploadStatus);

  registerDataTransfer(station, on);

  if (!v16) {
    on('ReservationStatusUpdate', (p, charger) => {
      station.reservations.updatedByCharger(charger.identity, p.reservationId, p.reservationUpdateStatus);
      return {};
    });
  }

  on('SecurityEventNotification', (p, charger) => {
    ctx.emit(
      securityEvent.name,
      { type: p.type, critical: CRITICAL_SECURITY_EVENTS.has(p.type), tech_info: p.techInfo },
      { device: charger.identity },
      epochMs(p.timestamp),
    );
    return {};
  });

  registerTransactions(station, version, on);
  registerSmartCharging(station, version, on);
  registerDeviceModel(station, version, on);
  registerCertificates(station, version, on);
  registerDisplayMessages(station, version, on);
  registerCustomerReports(station, version, on);
  return table;
}

/** The receive time, made later than the charger's previous untimed status (see `Charger`). */
function untimedStatusTime(charger: Charger, now: number): number {
  const time = Math.max(now, (charger.untimedStatusAt ?? -Infinity) + 1);
  charger.untimedStatusAt = time;
  return time;
}

function definedValues(o: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
