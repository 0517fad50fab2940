/**
 * get_config and set_config of many keys, sent in as many requests as the charger takes: a 2.0.1
 * charger says how many items and bytes one GetVariables / SetVariables may hold
 * (DeviceDataCtrlr.ItemsPerMessage / BytesPerMessage, instances GetVariables and SetVariables)
 * and answers a bigger one with OccurenceConstraintViolation. 1.6 ChangeConfiguration has one
 * key per request. The answers are merged into one outcome.
 */
import { CommandFailed, CommandRejected, type Command } from '../../collector/sdk/index.ts';
import type { OcppCall } from './ocpp-call.ts';
import type { Charger, MessageLimits, Station } from './station.ts';
import type { OcppComponent, OcppVariable } from './variables.ts';
import { componentVariable, configEntries, guardedKeyRefusal, setConfig } from './vocabulary.ts';

type Action = keyof MessageLimits;
type Limit = MessageLimits[Action];

/** When the charger does not say: a size every charger we met took, and no byte limit. */
const DEFAULT_LIMIT: Limit = { items: 8, bytes: 0 };
/** A frame's envelope around the payload, as long as ocpp-rpc writes it (a UUID message id). */
const envelope = (action: string) => JSON.stringify([2, '00000000-0000-0000-0000-000000000000', action]).length + 1;

interface Result {
  attributeStatus: string;
  component: OcppComponent;
  variable: OcppVariable;
  attributeValue?: string;
}

/** Whether the command is sent in parts: several keys read from a 2.0.1 charger, or several set. */
export function inParts(charger: Charger, command: Command): boolean {
  if (command.name === 'set_config') return configEntries(command.params as never).length > 1;
  const keys = (command.params as { keys?: string[] } | undefined)?.keys;
  return command.name === 'get_config' && charger.version === 'ocpp2.0.1' && (keys?.length ?? 0) > 1;
}

/** Sends the command's parts one after the other with `send` and merges the answers. */
export async function sendInParts(
  station: Station,
  charger: Charger,
  command: Command,
  send: (call: OcppCall) => Promise<unknown>,
): Promise<unknown> {
  const now = () => station.ctx.clock.now();
  if (command.name === 'set_config') {
    const guarded = guardedKeyRefusal(configEntries(command.params as never));
    if (guarded) throw new CommandRejected(`not sent: ${guarded}`);
  }
  if (charger.version === 'ocpp1.6') {
    const entries = configEntries(command.params as never);
    const answers: Array<{ key: string; status: string }> = [];
    for (const [key, value] of entries) {
      const call = setConfig(true, key, value);
      const answer = (await send(anyAnswer(call))) as { status: string };
      answers.push({ key, status: answer.status });
    }
    return verdict(
      answers.filter((a) => a.status !== 'Accepted' && a.status !== 'RebootRequired'),
      {
        results: answers,
      },
    );
  }
  const limits = await limitsOf(station, charger, send);
  if (command.name === 'get_config') {
    const items = (command.params as { keys: string[] }).keys.map(componentVariable);
    const results = await sendItems('GetVariables', 'getVariableData', 'getVariableResult', items, limits, send);
    for (const r of results)
      if (r.attributeStatus === 'Accepted' && r.attributeValue !== undefined)
        station.variables.recordActual(charger.identity, r.component, r.variable, r.attributeValue, now());
    return { getVariableResult: results };
  }
  const entries = configEntries(command.params as never);
  const items = entries.map(([key, value]) => ({ ...componentVariable(key), attributeValue: value }));
  const results = await sendItems('SetVariables', 'setVariableData', 'setVariableResult', items, limits, send);
  results.forEach((r, i) => {
    if (r.attributeStatus === 'Accepted')
      station.variables.recordActual(charger.identity, r.component, r.variable, items[i].attributeValue, now());
  });
  const refused = results
    .map((r, i) => ({ key: entries[i][0], status: r.attributeStatus }))
    .filter((a) => a.status !== 'Accepted' && a.status !== 'RebootRequired');
  return verdict(refused, { setVariableResult: results });
}

function verdict(refused: Array<{ key: string; status: string }>, merged: unknown): unknown {
  if (refused.length) throw new CommandRejected(refused.map((r) => `${r.key}: ${r.status}`).join(', '), merged);
  return merged;
}

/** The same call, its answer taken whatever it says (the merge reads every status). */
function anyAnswer(call: OcppCall): OcppCall {
  return { ...call, interpret: (a) => ({ outcome: 'ok', result: a }) };
}

async function sendItems<T>(
  action: Action,
  field: string,
  resultField: string,
  items: T[],
  limits: MessageLimits,
  send: (call: OcppCall) => Promise<unknown>,
): Promise<Result[]> {
  const results: Result[] = [];
  for (const part of split(action, field, items, limits[action])) {
    const call = anyAnswer({ action, payload: { [field]: part }, interpret: () => undefined as never });
    const answer = (await send(call)) as Record<string, Result[]>;
    results.push(...answer[resultField]);
  }
  return results;
}

/** Items in order, as few requests as fit the limit (an item alone is sent even if over the bytes). */
export function split<T>(action: string, field: string, items: T[], limit: Limit): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  const fits = (candidate: T[]) =>
    candidate.length <= limit.items &&
    (limit.bytes === 0 || envelope(action) + JSON.stringify({ [field]: candidate }).length <= limit.bytes);
  for (const item of items) {
    if (part.length && !fits([...part, item])) {
      parts.push(part);
      part = [];
    }
    part.push(item);
  }
  if (part.length) parts.push(part);
  return parts;
}

const LIMIT_VARIABLES = ['ItemsPerMessage', 'BytesPerMessage'].flatMap((variable) =>
  (['GetVariables', 'SetVariables'] as const).map((instance) => ({ variable, instance })),
);

/**
 * The charger's limits: from what it reported (NotifyReport, an earlier GetVariables), else asked
 * once per connection with one GetVariables; what it does not know gets the default.
 */
async function limitsOf(
  station: Station,
  charger: Charger,
  send: (call: OcppCall) => Promise<unknown>,
): Promise<MessageLimits> {
  if (charger.messageLimits) return charger.messageLimits;
  const { variables } = station;
  const known = () =>
    LIMIT_VARIABLES.every((v) => variables.actual(charger.identity, 'DeviceDataCtrlr', v.variable, v.instance));
  if (!known()) {
    const getVariableData = LIMIT_VARIABLES.map((v) => ({
      component: { name: 'DeviceDataCtrlr' },
      variable: { name: v.variable, instance: v.instance },
    }));
    try {
      const answer = (await send(
        anyAnswer({ action: 'GetVariables', payload: { getVariableData }, interpret: () => undefined as never }),
      )) as { getVariableResult: Result[] };
      for (const r of answer.getVariableResult)
        if (r.attributeStatus === 'Accepted' && r.attributeValue !== undefined)
          variables.recordActual(charger.identity, r.component, r.variable, r.attributeValue, station.ctx.clock.now());
    } catch (err) {
      // A charger that cannot say (a CALLERROR) gets the default; a command given up on is not sent on.
      if (!(err instanceof CommandRejected || err instanceof CommandFailed)) throw err;
    }
  }
  const limit = (instance: Action): Limit => {
    const read = (variable: string, fallback: number) => {
      const n = Number(variables.actual(charger.identity, 'DeviceDataCtrlr', variable, instance));
      return Number.isInteger(n) && n > 0 ? n : fallback;
    };
    return { items: read('ItemsPerMessage', DEFAULT_LIMIT.items), bytes: read('BytesPerMessage', DEFAULT_LIMIT.bytes) };
  };
  charger.messageLimits = { GetVariables: limit('GetVariables'), SetVariables: limit('SetVariables') };
  return charger.messageLimits;
}
