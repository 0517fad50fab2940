/**
 * 2.0.1 CostUpdated: while a transaction charges, the charger is told its running cost (incl. tax)
 * after each TransactionEvent Updated that brought an energy reading, so its display can show it. The final
 * cost goes in the Ended event's answer (`totalCost`). 1.6 has no such message.
 */
import type { SessionRow } from './sessions.ts';
import type { Charger, Station } from './station.ts';

export function sendRunningCost(station: Station, charger: Charger, row: SessionRow, until: number): void {
  if (charger.version !== 'ocpp2.0.1' || row.state !== 'active') return;
  const cost = station.pricing.cost(row, until);
  if (!cost) return;
  const { ctx } = station;
  const payload = { totalCost: cost.total, transactionId: row.transaction_id };
  // Behind the commands already waiting: OCPP-J allows one outstanding CALL each way.
  const run = (charger.outbound ?? Promise.resolve()).then(() => charger.connection.call('CostUpdated', payload));
  charger.outbound = run.then(
    () => ctx.count('cost_updated'),
    (err: Error) => {
      ctx.count('cost_update_failed');
      ctx.log.warn({ device: charger.identity, err: err.message }, 'CostUpdated failed');
    },
  );
}
