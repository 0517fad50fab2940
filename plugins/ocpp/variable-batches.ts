/**
 * Commands of many items sent in as many requests as the charger takes (message-limits.ts): a
 * 2.0.1 get_config / set_config (GetVariables / SetVariables), set_variable_monitoring and
 * clear_variable_monitoring (SetVariableMonitoring, ClearVariableMonitoring), and a 1.6
 * get_config (GetConfiguration, at most GetConfigurationMaxKeys keys). A bigger request is
 * answered OccurrenceConstraintViolation (2.0.1) or cut short (1.6).
 * 1.6 ChangeConfiguration has one key per request. The answers are merged into one outcome.
 */
import { CommandRejected, type Command } from '../../collector/sdk/index.ts';
import { anyAnswer, limitOf, type Limit, type LimitedAction, type Send } from './message-limits.ts';
import { clearRefusals, monitoringRefusals, setMonitoringPayload, type MonitorParams } from './monitoring.ts';
import type { Charger, Station } from './station.ts';
import type { OcppComponent, OcppVariable } from './variables.ts';
import { componentVariable, configEntries, guardedKeyRefusal, setConfig } from './vocabulary.ts';

/** A frame's envelope around the payload, as long as ocpp-rpc writes it (a UUID message id). */
const envelope = (action: string) => JSON.stringify([2, '00000000-0000-0000-0000-000000000000', action]).length + 1;

interface Result {
  attributeStatus: string;
  component: OcppComponent;
  variable: OcppVariable;
  attributeValue?: string;
}

/** Whether the command is sent in parts: several keys read or set, several monitors set (2.0.1). */
export function inParts(charger: Charger, command: Command): boolean {
  if (command.name === 'set_config') return configEntries(command.params as never).length > 1;
  if (command.name === 'get_config') return ((command.params as { keys?: string[] }).keys?.length ?? 0) > 1;
  const p = command.params as { monitors?: unknown[]; ids?: unknown[] };
  const items = { set_variable_monitoring: p.monitors, clear_variable_monitoring: p.ids }[command.name];
  return charger.version === 'ocpp2.0.1' && (items?.length ?? 0) > 1;
}

/** Sends the command's parts one after the other with `send` and merges the answers. */
export async function sendInParts(station: Station, charger: Charger, command: Command, send: Send): Promise<unknown> {
  const now = () => station.ctx.clock.now();
  const limit = (action: LimitedAction) => limitOf(station, charger, action, send);
  if (command.name === 'set_config') {
    const guarded = guardedKeyRefusal(configEntries(command.params as never));
    if (guarded) throw new CommandRejected(`not sent: ${guarded}`);
  }
  if (command.name === 'set_variable_monitoring') {
    const { monitors } = command.params as { monitors: MonitorParams[] };
    const data = setMonitoringPayload({ monitors }).setMonitoringData as unknown[];
    const results = await sendItems(
      'SetVariableMonitoring',
      'setMonitoringData',
      data,
      await limit('SetVariableMonitoring'),
      send,
      // Each part's answer is recorded against its own monitors (device-model-handlers.ts).
      (from, to) => ({ monitors: monitors.slice(from, to) }),
    );
    const merged = { setMonitoringResult: results };
    const refused = monitoringRefusals(merged);
    if (refused) throw new CommandRejected(`SetVariableMonitoring: ${refused}`, merged);
    return merged;
  }
  if (command.name === 'clear_variable_monitoring') {
    const { ids } = command.params as { ids: number[] };
    const results = (await sendItems(
      'ClearVariableMonitoring',
      'id',
      ids,
      await limit('ClearVariableMonitoring'),
      send,
      (from, to) => ({
        ids: ids.slice(from, to),
      }),
    )) as Array<{ status: string; id: number }>;
    const merged = { clearMonitoringResult: results };
    const refused = clearRefusals(merged);
    if (refused) throw new CommandRejected(`ClearVariableMonitoring: ${refused}`, merged);
    return merged;
  }
  if (charger.version === 'ocpp1.6' && command.name === 'get_config') {
    const keys = (command.params as { keys: string[] }).keys;
    const answers = await sendParts('GetConfiguration', 'key', keys, await limit('GetConfiguration'), send);
    const known = answers.flatMap((a) => (a.configurationKey as unknown[] | undefined) ?? []);
    const unknown = answers.flatMap((a) => (a.unknownKey as string[] | undefined) ?? []);
    return { configurationKey: known, ...(unknown.length ? { unknownKey: unknown } : {}) };
  }
  if (charger.version === 'ocpp1.6') {
    const entries = configEntries(command.params as never);
    const answers: Array<{ key: string; status: string }> = [];
    for (const [key, value] of entries) {
      const call = setConfig(true, key, value);
      const answer = (await send(anyAnswer(call.action, call.payload))) as { status: string };
      answers.push({ key, status: answer.status });
    }
    return verdict(
      answers.filter((a) => a.status !== 'Accepted' && a.status !== 'RebootRequired'),
      {
        results: answers,
      },
    );
  }
  if (command.name === 'get_config') {
    const items = (command.params as { keys: string[] }).keys.map(componentVariable);
    const results = (await sendItems('GetVariables', 'getVariableData', items, await limit('GetVariables'), send)).map(
      (r) => r as Result,
    );
    for (const r of results)
      if (r.attributeStatus === 'Accepted' && r.attributeValue !== undefined)
        station.variables.recordActual(charger.identity, r.component, r.variable, r.attributeValue, now());
    return { getVariableResult: results };
  }
  const entries = configEntries(command.params as never);
  const items = entries.map(([key, value]) => ({ ...componentVariable(key), attributeValue: value }));
  const results = (await sendItems('SetVariables', 'setVariableData', items, await limit('SetVariables'), send)).map(
    (r) => r as Result,
  );
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

/** The answer field of each kind's result list. */
const RESULTS: Record<string, string> = {
  GetVariables: 'getVariableResult',
  SetVariables: 'setVariableResult',
  SetVariableMonitoring: 'setMonitoringResult',
  ClearVariableMonitoring: 'clearMonitoringResult',
};

/** The items' results, in order, from as many requests as fit the limit. */
async function sendItems<T>(
  action: string,
  field: string,
  items: T[],
  limit: Limit,
  send: Send,
  paramsOf?: (from: number, to: number) => unknown,
): Promise<unknown[]> {
  const answers = await sendParts(action, field, items, limit, send, paramsOf);
  return answers.flatMap((a) => a[RESULTS[action]] as unknown[]);
}

/** Each part's answer, the parts sent one after the other. */
async function sendParts<T>(
  action: string,
  field: string,
  items: T[],
  limit: Limit,
  send: Send,
  /** The command's parameters a part carries, when the answer is recorded against them. */
  paramsOf?: (from: number, to: number) => unknown,
): Promise<Array<Record<string, unknown>>> {
  const answers: Array<Record<string, unknown>> = [];
  let from = 0;
  for (const part of split(action, field, items, limit)) {
    answers.push(
      (await send(anyAnswer(action, { [field]: part }), paramsOf?.(from, from + part.length))) as Record<
        string,
        unknown
      >,
    );
    from += part.length;
  }
  return answers;
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
