/**
 * Commands whose call is built from the station's records at the moment it is sent (local lists,
 * reservations), and what the plugin sends on its own. vocabulary.ts maps the stateless rest.
 */
import type { Command } from '../../collector/sdk/index.ts';
import type { SendLocalListParams } from './local-list.ts';
import type { ReserveParams } from './reservations.ts';
import type { Charger, Station } from './station.ts';
import { refuse } from './vocabulary.ts';
import type { OcppCall } from './ocpp-call.ts';

/** The call for a station command, or undefined when vocabulary.ts maps it. */
export function stationCall(station: Station, charger: Charger, command: Command): OcppCall | undefined {
  const customer = station.ctx.devices.lookup(charger.identity)?.customer;
  switch (command.name) {
    case 'send_local_list': {
      const plan = station.localLists.plan(charger.identity, customer, command.params as SendLocalListParams);
      return station.localLists.sendCall(charger.identity, charger.version, plan);
    }
    case 'get_local_list_version':
      return station.localLists.versionCall(charger.identity, charger.version);
    case 'reserve_now': {
      const call = station.reservations.reserveCall(charger.identity, charger.version, command.params as ReserveParams);
      return typeof call === 'string' ? refuse(call) : call;
    }
    case 'cancel_reservation':
      return station.reservations.cancelCall((command.params as { reservation_id: number }).reservation_id);
  }
  return undefined;
}

/**
 * With `local_list: auto`: brings a charger's local list up to date, differentially when we
 * pushed one before (a full list when the charger says its version is not ours), and not at all
 * when nothing changed.
 */
export function autoLocalList(station: Station, identity: string): void {
  const { ctx, localLists } = station;
  if (ctx.config.local_list !== 'auto' || !station.command) return;
  const send = station.command;
  const customer = ctx.devices.lookup(identity)?.customer;
  const update = localLists.stored(identity) ? 'differential' : 'full';
  const params: SendLocalListParams = { update };
  if (update === 'differential' && localLists.plan(identity, customer, params).changes.length === 0) return;
  send(identity, 'send_local_list', params)
    .catch((err: Error) => {
      if (update === 'differential' && err.message.includes('VersionMismatch'))
        return send(identity, 'send_local_list', { update: 'full' });
      throw err;
    })
    .then(
      () => ctx.count('local_list_pushed'),
      (err: Error) => {
        ctx.count('local_list_failed');
        ctx.log.warn({ device: identity, err: err.message }, 'automatic local list push failed');
      },
    );
}

/** After an id-tag change: every connected charger whose list it changes gets the difference. */
export function localListAfterChange(station: Station): void {
  const { ctx } = station;
  if (ctx.config.local_list !== 'auto') return;
  for (const device of ctx.devices.all())
    if (device.kind === 'charger' && ctx.connection(device.id)) autoLocalList(station, device.id);
}
