/**
 * How many items and bytes one request of a kind may hold, as the charger says: 2.0.1
 * DeviceDataCtrlr ItemsPerMessage / BytesPerMessage (instances GetVariables and SetVariables) and
 * MonitoringCtrlr ItemsPerMessage / BytesPerMessage (instances SetVariableMonitoring and
 * ClearVariableMonitoring); 1.6
 * GetConfigurationMaxKeys (a Core key). Each learnt once per connection: from what the charger
 * reported (NotifyReport, an earlier GetVariables), else asked with one request; what it does not
 * say gets the default.
 */
import { CommandFailed, CommandRejected } from '../../collector/sdk/index.ts';
import type { OcppCall } from './ocpp-call.ts';
import type { Charger, MessageLimits, Station } from './station.ts';
import type { OcppComponent, OcppVariable } from './variables.ts';

export type LimitedAction = keyof MessageLimits;
export type Limit = NonNullable<MessageLimits[LimitedAction]>;
/** Sends a call; `params`: the part of the command's parameters it carries, when not all of them. */
export type Send = (call: OcppCall, params?: unknown) => Promise<unknown>;

/** When the charger does not say: a size every charger we met took, and no byte limit. */
export const DEFAULT_LIMIT: Limit = { items: 8, bytes: 0 };

/** The 2.0.1 controller component that holds each request kind's limits (its variables' instance). */
const CONTROLLER: Record<Exclude<LimitedAction, 'GetConfiguration'>, string> = {
  GetVariables: 'DeviceDataCtrlr',
  SetVariables: 'DeviceDataCtrlr',
  SetVariableMonitoring: 'MonitoringCtrlr',
  ClearVariableMonitoring: 'MonitoringCtrlr',
};

interface Result {
  attributeStatus: string;
  component: OcppComponent;
  variable: OcppVariable;
  attributeValue?: string;
}

/** The same call, its answer taken whatever it says (the merge reads every status). */
export function anyAnswer(action: string, payload: Record<string, unknown>): OcppCall {
  return { action, payload, interpret: (a) => ({ outcome: 'ok', result: a }) };
}

/** The charger's limit for one request kind. */
export async function limitOf(station: Station, charger: Charger, action: LimitedAction, send: Send): Promise<Limit> {
  const known = charger.messageLimits?.[action];
  if (known) return known;
  const learnt =
    action === 'GetConfiguration'
      ? { GetConfiguration: await maxKeys(send) }
      : await controllerLimits(station, charger, CONTROLLER[action], send);
  charger.messageLimits = { ...charger.messageLimits, ...learnt };
  return charger.messageLimits[action] ?? DEFAULT_LIMIT;
}

/** A charger that cannot say (a CALLERROR) gets the default; a command given up on is not sent on. */
async function unlessRefused<T>(ask: () => Promise<T>): Promise<T | undefined> {
  try {
    return await ask();
  } catch (err) {
    if (!(err instanceof CommandRejected || err instanceof CommandFailed)) throw err;
    return undefined;
  }
}

async function maxKeys(send: Send): Promise<Limit> {
  const answer = (await unlessRefused(() =>
    send(anyAnswer('GetConfiguration', { key: ['GetConfigurationMaxKeys'] })),
  )) as { configurationKey?: Array<{ key: string; value?: string }> } | undefined;
  const n = Number(answer?.configurationKey?.find((k) => k.key === 'GetConfigurationMaxKeys')?.value);
  return { items: Number.isInteger(n) && n > 0 ? n : DEFAULT_LIMIT.items, bytes: 0 };
}

/** The limits of every request kind whose variables `component` holds, asked in one GetVariables. */
async function controllerLimits(
  station: Station,
  charger: Charger,
  component: string,
  send: Send,
): Promise<MessageLimits> {
  const { variables } = station;
  const actions = (Object.keys(CONTROLLER) as Array<keyof typeof CONTROLLER>).filter(
    (a) => CONTROLLER[a] === component,
  );
  const wanted = ['ItemsPerMessage', 'BytesPerMessage'].flatMap((name) =>
    actions.map((instance) => ({ name, instance })),
  );
  const actual = (v: { name: string; instance: string }) =>
    variables.actual(charger.identity, component, v.name, v.instance);
  if (!wanted.every(actual)) {
    const getVariableData = wanted.map((variable) => ({ component: { name: component }, variable }));
    const answer = (await unlessRefused(() => send(anyAnswer('GetVariables', { getVariableData })))) as
      { getVariableResult: Result[] } | undefined;
    for (const r of answer?.getVariableResult ?? [])
      if (r.attributeStatus === 'Accepted' && r.attributeValue !== undefined)
        variables.recordActual(charger.identity, r.component, r.variable, r.attributeValue, station.ctx.clock.now());
  }
  const read = (name: string, instance: string, fallback: number) => {
    const n = Number(actual({ name, instance }));
    return Number.isInteger(n) && n > 0 ? n : fallback;
  };
  return Object.fromEntries(
    actions.map((a) => [
      a,
      {
        items: read('ItemsPerMessage', a, DEFAULT_LIMIT.items),
        bytes: read('BytesPerMessage', a, DEFAULT_LIMIT.bytes),
      },
    ]),
  );
}
