import { randomUUID } from 'node:crypto';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { allowedValues } from './allowed-values.ts';
import { CommandFailed, CommandRejected, DeviceUnreachable, type Command, type CommandSpec } from '../sdk/index.ts';

/** How a command ended. `expired` and `cancelled` come from the durable layer above the bus. */
export type CommandStatus = 'succeeded' | 'failed' | 'rejected' | 'expired' | 'timed_out' | 'cancelled';

export interface CommandOutcome {
  id: string;
  device: string;
  command: string;
  status: CommandStatus;
  result?: unknown;
  error?: string;
  latencyMs: number;
}

export interface CommandRequest {
  /** Given by the durable layer so that outcomes match its records; generated otherwise. */
  id?: string;
  name: string;
  params?: unknown;
  /** Overrides the plugin's declared timeout, seconds. */
  timeout_s?: number;
  /** Cancels a command in flight. */
  signal?: AbortSignal;
}

/** A plugin instance as the bus sees it. */
export interface CommandTarget {
  instance: string;
  commands: Record<string, CommandSpec>;
  execute(deviceId: string, command: Command): Promise<unknown>;
}

/** The command or its parameters are wrong; nothing reached the device. */
export class InvalidCommand extends Error {
  override name = 'InvalidCommand';
  constructor(
    message: string,
    /** Dotted path of the offending parameter, when one is to blame. */
    readonly field?: string,
  ) {
    super(message);
  }
}

const DEFAULT_TIMEOUT_S = 30;

/**
 * Routes a command to the plugin instance that attached the device, validates it against the
 * plugin's declared schema, applies the timeout and reports exactly one outcome. Persistence,
 * queueing for offline devices and the API belong to the layer above.
 */
export class CommandBus {
  private readonly attached = new Map<string, { target: CommandTarget; token: object }>();
  private readonly validators = new WeakMap<CommandSpec, ReturnType<typeof Compile>>();
  private readonly attachListeners = new Set<(deviceId: string) => void>();

  constructor(private readonly onOutcome: (outcome: CommandOutcome, target: string) => void = () => {}) {}

  attach(deviceId: string, target: CommandTarget): () => void {
    const token = {};
    this.attached.set(deviceId, { target, token });
    for (const listener of this.attachListeners) {
      try {
        listener(deviceId);
      } catch {
        // A listener's failure is its own: the device is attached all the same.
      }
    }
    return () => {
      if (this.attached.get(deviceId)?.token === token) this.attached.delete(deviceId);
    };
  }

  /**
   * Calls `listener(deviceId)` after every attach: a device that (re)connected, or one whose
   * connection announced a new command list. For state that must reach a device once it is back
   * (e.g. a station's session end time). Returns the unsubscribe.
   */
  onAttach(listener: (deviceId: string) => void): () => void {
    this.attachListeners.add(listener);
    return () => this.attachListeners.delete(listener);
  }

  isAttached(deviceId: string): boolean {
    return this.attached.has(deviceId);
  }

  /** The declared commands for a device attached now, e.g. to validate before queueing. */
  commandsFor(deviceId: string): Record<string, CommandSpec> | undefined {
    return this.attached.get(deviceId)?.target.commands;
  }

  /**
   * Checks a command against a spec and returns its parameters with the schema's defaults filled
   * in (a copy); throws InvalidCommand naming the parameter. Every command passes here, from the
   * API's queue or a plugin's own dispatch, so both send the same defaulted parameters.
   */
  validate(commands: Record<string, CommandSpec>, request: CommandRequest): unknown {
    const spec = Object.hasOwn(commands, request.name) ? commands[request.name] : undefined;
    if (!spec) {
      throw new InvalidCommand(
        `unknown command "${request.name}"; this device accepts: ${Object.keys(commands).join(', ') || 'none'}`,
      );
    }
    let check = this.validators.get(spec);
    if (!check) this.validators.set(spec, (check = Compile(spec.params)));
    const params = Value.Default(spec.params, structuredClone(request.params ?? {}));
    if (!check.Check(params)) {
      const errors = [...check.Errors(params)];
      const first = errors[0];
      const field = first?.instancePath.replace(/^\//, '').replaceAll('/', '.') || undefined;
      throw new InvalidCommand(
        `${request.name}: ${field ? `parameter "${field}" ` : 'parameters '}${problem(spec.params, errors) ?? 'are invalid'}`,
        field,
      );
    }
    return params;
  }

  /**
   * Sends a command now. Throws InvalidCommand (bad name or parameters) or DeviceUnreachable
   * (not attached) before anything is sent; otherwise resolves with the outcome.
   */
  async dispatch(deviceId: string, request: CommandRequest): Promise<CommandOutcome> {
    const entry = this.attached.get(deviceId);
    if (!entry) throw new DeviceUnreachable(deviceId);
    const { target } = entry;
    const params = this.validate(target.commands, request);
    const spec = target.commands[request.name];
    const id = request.id ?? randomUUID();
    const timeoutMs = (request.timeout_s ?? spec.timeout_s ?? DEFAULT_TIMEOUT_S) * 1000;
    const abort = new AbortController();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const ended = (status: CommandStatus, extra: Partial<CommandOutcome> = {}): CommandOutcome => {
      const outcome = {
        id,
        device: deviceId,
        command: request.name,
        status,
        latencyMs: performance.now() - started,
        ...extra,
      };
      this.onOutcome(outcome, target.instance);
      return outcome;
    };
    // Cancelled before it was sent: the device never sees it (an 'abort' listener would not fire).
    if (request.signal?.aborted) return ended('cancelled', { error: 'cancelled before it was sent' });
    let onCancel: (() => void) | undefined;
    const stopped = new Promise<CommandStatus>((resolve) => {
      timer = setTimeout(() => resolve('timed_out'), timeoutMs);
      onCancel = () => resolve('cancelled');
      request.signal?.addEventListener('abort', onCancel, { once: true });
    });
    try {
      const run = target.execute(deviceId, {
        id,
        name: request.name,
        params,
        signal: abort.signal,
      });
      const winner = await Promise.race([run.then((result) => ({ result })), stopped]);
      if (typeof winner === 'string') {
        abort.abort();
        run.catch(() => {}); // the late answer no longer matters
        return ended(winner, {
          error: winner === 'timed_out' ? `no answer within ${timeoutMs / 1000} s` : 'cancelled',
        });
      }
      return ended('succeeded', winner.result === undefined ? {} : { result: winner.result });
    } catch (err) {
      if (err instanceof CommandRejected) return ended('rejected', { error: err.message, result: err.result });
      if (err instanceof CommandFailed) return ended('failed', { error: err.message, result: err.result });
      if (err instanceof DeviceUnreachable) return ended('failed', { error: err.message });
      return ended('failed', { error: err instanceof Error ? err.message : String(err) });
    } finally {
      clearTimeout(timer);
      // A long-lived signal (one per API request or session) must not collect a listener per command.
      if (onCancel) request.signal?.removeEventListener('abort', onCancel);
    }
  }
}

/**
 * What is wrong, in words an operator can act on: for a choice of values (an enum, a union of
 * literals) every value allowed (allowed-values.ts), not "must be equal to constant".
 */
function problem(
  schema: unknown,
  errors: Array<{ keyword: string; instancePath: string; params: object; message?: string }>,
) {
  const first = errors[0];
  if (!first) return undefined;
  const here = errors.filter((e) => e.instancePath === first.instancePath);
  // A choice the path does not lead to (inside a union of objects, say): what the errors name.
  const named =
    first.keyword === 'enum'
      ? ((first.params as { allowedValues?: unknown[] }).allowedValues ?? [])
      : here.filter((e) => e.keyword === 'const').map((e) => (e.params as { allowedValue?: unknown }).allowedValue);
  const choice = ['enum', 'const', 'anyOf'].includes(first.keyword) ? allowedValues(schema, first.instancePath) : [];
  const allowed = choice ?? named;
  return allowed.length ? `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : first.message;
}
