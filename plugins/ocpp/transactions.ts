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
import { tagOf, type Charger, type OcppPayload, type Station } from './station.ts';

type On = (action: string, handler: (params: OcppPayload, charger: Charger) => unknown) => void;

export function registerTransactions(station: Station, version: OcppVersion, on: On): void {
  const { ctx, sessions, idTags } = station;
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
      const result = sessions.once(id, `stop:${txId}`, () => {
        const row = sessions.get(id, txId) ?? sessions.openUnknown(id, txId, 'ocpp1.6', null);
        for (const r of energyRegister(data)) sessions.observeMeter(row, r.time, r.wh);
        sessions.observeMeter(row, time, p.meterStop);
        sessions.end(row, time, p.reason ?? 'Local');
        const reply = p.idTag ? { idTagInfo: idTagInfo(authorize(id, p.idTag, 'Invalid'), 'ocpp1.6') } : {};
        return { reply, session: sessions.save(row) };
      });
      if (result.replayed) ctx.count('resend_answered');
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
      // Events may arrive out of order (offline backlog): the earliest one is the start.
      if (row.start_time === null || time < row.start_time) row.start_time = time;
      for (const r of energyRegister(values)) sessions.observeMeter(row, r.time, r.wh);
      sessions.recordEvent(row, p.seqNo, p.eventType, time);
      if (p.eventType === 'Ended') sessions.end(row, time, p.transactionInfo.stoppedReason ?? 'Local');
      sessions.save(row);
      const reply: Record<string, unknown> = {};
      if (verdict) reply.idTokenInfo = idTagInfo(verdict, 'ocpp2.0.1');
      if (row.state === 'ended' && row.cost !== null) reply.totalCost = row.cost;
      return { reply, session: row };
    });
    if (result.replayed) ctx.count('resend_answered');
    emitMeterValues(station, charger, p.evse?.id, values, txId);
    const row = result.session ?? sessions.get(id, txId);
    if (row?.state === 'ended') emitSummary(station, row);
    // While charging: the running cost after each reading (the start's cost is only the fee).
    else if (row && !result.replayed && p.eventType === 'Updated' && energyRegister(values).length > 0)
      sendRunningCost(station, charger, row, time);
    // Every event may carry meter values the charger deletes once answered.
    await ctx.committed();
    return result.reply;
  });
}

/** 1.6 MeterValues inside a transaction: the session's energy so far, placed by timestamp. */
export function updateSessionMeter(
  station: Station,
  charger: Charger,
  transactionId: string,
  values: MeterValue[],
): void {
  const { sessions, ctx } = station;
  const readings = energyRegister(values);
  if (readings.length === 0) return;
  ctx.db.transaction(() => {
    const row = sessions.get(charger.identity, transactionId);
    if (!row || row.state === 'ended') return;
    for (const r of readings) sessions.observeMeter(row, r.time, r.wh);
    sessions.save(row);
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
    { device: row.charger, connector: tagOf(row.connector) },
    row.stop_time,
  );
}
