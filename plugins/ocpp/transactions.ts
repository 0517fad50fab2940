/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment,
   @typescript-eslint/no-unsafe-argument -- handlers read OcppPayload, schema-checked by ocpp-rpc (station.ts) */
/**
 * Transactions: StartTransaction / StopTransaction (1.6) and TransactionEvent (2.0.1) become
 * charging sessions. Each message is applied once, keyed by what identifies it (1.6 start: connector,
 * time, tag and meter; stop: transaction id; 2.0.1: transaction id and seqNo), and its answer is
 * stored with the change: a resend after a lost reply gets the same answer and changes nothing.
 * A StopTransaction or TransactionEvent is answered only once the row is committed and its
 * points (meter values, the summary at a session's end) are in the durable spool.
 */
import { idTagInfo } from './id-tags.ts';
import { energyRegister, type MeterValue } from './meter.ts';
import { emitMeterValues } from './meter-points.ts';
import { session as sessionPoint } from './measurements.ts';
import type { OcppVersion } from './config.ts';
import { epochMs } from './protocol.ts';
import { sendRunningCost } from './running-cost.ts';
import type { SessionRow } from './sessions.ts';
import { tagOf, type Charger, type Station, type On } from './station.ts';

export function registerTransactions(station: Station, version: OcppVersion, on: On): void {
  const { ctx, sessions, idTags, ends } = station;
  const where = (id: string) => {
    const device = ctx.devices.lookup(id);
    return { site: device?.site, customer: device?.customer };
  };
  // A reserved connector refuses other tags; the reserved tag's start uses the reservation up.
  const authorize = (id: string, tag: string, unknown: 'Invalid' | 'Unknown', connector?: number, start = false) =>
    station.reservations.honour(
      id,
      connector,
      tag,
      idTags.one(tag)?.parent_id_tag ?? undefined,
      idTags.authorize(tag, where(id).customer, ctx.clock.now(), unknown),
      start,
    );

  if (version === 'ocpp1.6') {
    on('StartTransaction', (p, charger) => {
      const id = charger.identity;
      const time = epochMs(p.timestamp) ?? ctx.clock.now();
      const key = `start:${p.connectorId}:${p.timestamp}:${p.idTag}:${p.meterStart}`;
      const { reply, replayed } = sessions.once(id, key, () => {
        const info = idTagInfo(authorize(id, p.idTag, 'Invalid', p.connectorId, true), 'ocpp1.6');
        const row = sessions.open16(id, {
          connector: p.connectorId,
          idTag: p.idTag,
          idTagStatus: info.status as string,
          ...where(id),
          time,
          meterWh: p.meterStart,
        });
        ends.supersede(row);
        return { reply: { transactionId: row.id, idTagInfo: info } };
      });
      if (replayed) ctx.count('resend_answered');
      return reply;
    });

    on('StopTransaction', async (p, charger) => {
      const id = charger.identity;
      const txId = String(p.transactionId);
      const time = epochMs(p.timestamp) ?? ctx.clock.now();
      const data: MeterValue[] = p.transactionData ?? [];
      const stop = { time, meterStop: p.meterStop as number, reason: p.reason as string | undefined, data };
      const result = sessions.once(
        id,
        `stop:${txId}`,
        () => {
          const row = sessions.get(id, txId) ?? sessions.openUnknown(id, txId, 'ocpp1.6', null);
          // The charger's own stop after we closed the session: now it is the whole story.
          if (row.state === 'ended' && row.start_time !== null) row.complete = 1;
          applyStop(station, row, stop);
          const reply = p.idTag ? { idTagInfo: idTagInfo(authorize(id, p.idTag, 'Invalid'), 'ocpp1.6') } : {};
          return { reply, session: sessions.save(row) };
        },
        () => secondStop(station, id, txId, stop),
      );
      if (result.replayed && !result.session) ctx.count('resend_answered');
      const row = result.session ?? sessions.get(id, txId);
      emitMeterValues(station, charger, row?.connector ?? undefined, data, txId);
      // Emitted again on a resend: the point has the same time and overwrites itself, and a crash
      // between the row's commit and the spool's cannot lose the summary.
      if (row) emitSummary(station, row);
      await ctx.committed();
      return result.reply;
    });
    return;
  }

  on('TransactionEvent', async (p, charger) => {
    const id = charger.identity;
    const txId: string = p.transactionInfo.transactionId;
    const time = epochMs(p.timestamp) ?? ctx.clock.now();
    const token: string | undefined = p.idToken?.idToken;
    const values: MeterValue[] = p.meterValue ?? [];
    const result = sessions.once(id, `tx:${txId}:${p.seqNo}`, () => {
      const started = p.eventType === 'Started';
      const verdict =
        p.idToken && p.idToken.type !== 'NoAuthorization'
          ? authorize(id, token!, 'Unknown', p.evse?.id, started)
          : undefined;
      const row = sessions.openOrGet201(id, txId, {
        connector: p.evse?.id ?? null,
        idTag: token ?? null,
        idTagStatus: verdict?.status ?? null,
        ...where(id),
        time,
      });
      if (row.connector === null && p.evse?.id !== undefined) row.connector = p.evse.id;
      if (row.id_tag === null && token !== undefined)
        Object.assign(row, { id_tag: token, id_tag_status: verdict?.status ?? null });
      const remoteStartId: number | undefined = p.transactionInfo.remoteStartId;
      if (row.id_tag === null && remoteStartId !== undefined)
        row.id_tag = sessions.remoteStartTag(id, remoteStartId) ?? null;
      // Events may arrive out of order (offline backlog): the earliest one is the start.
      if (row.start_time === null || time < row.start_time) row.start_time = time;
      for (const r of energyRegister(values)) sessions.observeMeter(row, r.time, r.wh);
      sessions.recordEvent(row, p.seqNo, p.eventType, time);
      if (p.eventType === 'Ended') sessions.end(row, time, p.transactionInfo.stoppedReason ?? 'Local');
      sessions.save(row);
      if (p.eventType === 'Started') ends.supersede(row);
      const reply: Record<string, unknown> = {};
      if (verdict) reply.idTokenInfo = idTagInfo(verdict, 'ocpp2.0.1');
      if (row.state === 'ended' && row.cost !== null) reply.totalCost = row.cost;
      return { reply, session: row };
    });
    if (result.replayed) ctx.count('resend_answered');
    const row = result.session ?? sessions.get(id, txId);
    // Only the Started event names the EVSE: the others' readings are on the transaction's.
    emitMeterValues(station, charger, p.evse?.id ?? row?.connector ?? undefined, values, txId);
    if (row?.state === 'ended') emitSummary(station, row);
    // While charging: the running cost after each reading (the start's cost is only the fee).
    else if (row && !result.replayed && p.eventType === 'Updated' && energyRegister(values).length > 0)
      sendRunningCost(station, charger, row, time);
    if (!result.replayed && p.eventType === 'Ended' && row?.complete === 0) void ends.gap(charger, row);
    // Every event may carry meter values the charger deletes once answered.
    await ctx.committed();
    return result.reply;
  });
}

interface Stop {
  time: number;
  meterStop: number;
  reason: string | undefined;
  data: MeterValue[];
}

function applyStop(station: Station, row: SessionRow, stop: Stop): void {
  const { sessions } = station;
  for (const r of energyRegister(stop.data)) sessions.observeMeter(row, r.time, r.wh);
  sessions.observeMeter(row, stop.time, stop.meterStop);
  sessions.end(row, stop.time, stop.reason ?? 'Local');
}

/**
 * A StopTransaction for a session whose stop was answered already. The same message again (a
 * lost reply) changes nothing. A different one is the charger's word against its own: logged,
 * audited, counted, and its reading replaces the first when it is larger and later (the first
 * reply was lost and the charger sent its real final reading). Returns the changed session.
 */
function secondStop(station: Station, charger: string, txId: string, stop: Stop): SessionRow | undefined {
  const { ctx, sessions } = station;
  const row = sessions.get(charger, txId);
  if (!row || (row.stop_time === stop.time && row.meter_stop_wh === stop.meterStop)) return undefined;
  const later = row.stop_time !== null && row.meter_stop_wh !== null && stop.time > row.stop_time;
  const replaced = later && stop.meterStop > row.meter_stop_wh!;
  const details = {
    transaction_id: txId,
    stored: { stop_time: row.stop_time, meter_stop_wh: row.meter_stop_wh, energy_wh: row.energy_wh },
    received: { stop_time: stop.time, meter_stop_wh: stop.meterStop },
    replaced,
  };
  ctx.count('stop_conflict');
  ctx.log.warn({ device: charger, ...details }, 'a second StopTransaction says something else than the first');
  ctx.audit({
    device: charger,
    action: 'ocpp.stop_conflict',
    target: String(row.id),
    method: 'StopTransaction',
    details,
  });
  if (!replaced) return row;
  applyStop(station, row, stop);
  return sessions.save(row);
}

/**
 * 1.6 MeterValues inside a transaction: the session's energy so far, placed by timestamp. Returns
 * the stop time of a session that has ended: readings after it are not the session's.
 */
export function updateSessionMeter(
  station: Station,
  charger: Charger,
  transactionId: string,
  values: MeterValue[],
): number | undefined {
  const { sessions, ctx } = station;
  const readings = energyRegister(values);
  return ctx.db.transaction(() => {
    const row = sessions.get(charger.identity, transactionId);
    if (row?.state === 'ended') return row.stop_time ?? undefined;
    if (!row || readings.length === 0) return undefined;
    for (const r of readings) sessions.observeMeter(row, r.time, r.wh);
    sessions.save(row);
    return undefined;
  })();
}

/** The session summary point, at the session's stop time (so a correction overwrites it). */
export function emitSummary(station: Station, row: SessionRow): void {
  if (row.stop_time === null) return;
  station.ctx.emit(
    sessionPoint.name,
    {
      transaction_id: row.transaction_id,
      id_tag: row.id_tag,
      energy_wh: row.energy_wh,
      duration_s: row.duration_s,
      cost: row.cost,
      cost_net: row.cost_net,
      currency: row.currency,
      stop_reason: row.stop_reason,
      complete: row.complete === 1,
    },
    { device: row.charger, connector: tagOf(row.connector), tariff: row.tariff ?? undefined },
    row.summary_at ?? row.stop_time,
  );
}
