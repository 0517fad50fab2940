import PQueue from 'p-queue';
import {
  CommandFailed,
  outboundRequest,
  OutboundRefused,
  type OutboundPolicy,
  type PluginContext,
} from '../../collector/sdk/index.ts';
import { plugPower, plugState } from './measurements.ts';
import { parseShellySet, parseShellyStatus, ProtocolError, shellySetUrl, shellyStatusUrl } from './protocol.ts';

/** A Shelly plug to poll: from the plugin config or from the inventory. */
export interface ShellyTarget {
  id: string;
  /** `host` or `host:port`. */
  address: string;
  switch_id: number;
}

export interface ShellyOptions {
  timeout_ms: number;
  concurrency: number;
  /** Every request goes through it: a name is resolved and checked as the socket connects. */
  policy: OutboundPolicy;
}

/** How a poll ended, counted as `shelly_<outcome>` in the plugin's events. */
export type PollOutcome = 'ok' | 'timeout' | 'unreachable' | 'refused' | 'http_error' | 'bad_response';

/**
 * Polls Shelly plugs with bounded concurrency. Each request has its own timeout, so a dead plug
 * costs one queue slot for `timeout_ms` and never delays the others beyond that; a plug still in
 * flight from the previous round is skipped rather than queued twice.
 *
 * Stopping aborts every request in flight. The poller listens to the plugin's stop signal once and
 * keeps its requests' controllers itself: a listener per request on that shared signal would pile
 * up `concurrency` listeners (50 by default) and Node warns of a leak past 10.
 */
export class ShellyPoller {
  private readonly queue: PQueue;
  private readonly inFlight = new Set<string>();
  /** Controllers of the HTTP requests under way (polls and commands). */
  private readonly requests = new Set<AbortController>();
  private stopped = false;
  private readonly onStop = () => this.abortAll(this.ctx.signal.reason);

  constructor(
    private readonly ctx: PluginContext,
    private readonly options: ShellyOptions,
    /** Told of every poll's outcome (attach on ok, detach otherwise). */
    private readonly onOutcome: (target: ShellyTarget, outcome: PollOutcome) => void,
  ) {
    this.queue = new PQueue({ concurrency: options.concurrency });
    ctx.signal.addEventListener('abort', this.onStop, { once: true });
  }

  /** Queues one poll of every target; resolves when this round (and any left over) is done. */
  async round(targets: Iterable<ShellyTarget>): Promise<void> {
    for (const target of targets) {
      if (this.inFlight.has(target.id)) {
        this.ctx.count('shelly_skipped_busy');
        continue;
      }
      this.inFlight.add(target.id);
      void this.queue.add(() => this.poll(target)).finally(() => this.inFlight.delete(target.id));
    }
    this.ctx.gauge('shelly_queue', this.queue.size + this.queue.pending);
    await this.queue.onIdle();
  }

  private async poll(target: ShellyTarget): Promise<void> {
    const outcome = await this.fetchStatus(target);
    // A poll cut short by stop says nothing about the plug: neither counted nor reported.
    if (outcome === 'stopped') return;
    this.ctx.count(`shelly_${outcome}`);
    this.onOutcome(target, outcome);
  }

  private async fetchStatus(target: ShellyTarget): Promise<PollOutcome | 'stopped'> {
    let text: string;
    const deadline = this.deadline();
    try {
      const res = await outboundRequest(this.options.policy, shellyStatusUrl(target.address, target.switch_id), {
        signal: deadline.signal,
      });
      text = res.text;
      if (!res.ok) {
        this.ctx.log.warn({ device: target.id, status: res.status }, 'Shelly answered with an HTTP error');
        return 'http_error';
      }
    } catch (err) {
      if (this.stopped) return 'stopped';
      if (err instanceof OutboundRefused) {
        this.ctx.log.warn({ device: target.id, reason: err.reason }, 'plug address refused by the outbound policy');
        return 'refused';
      }
      // http.request rejects with an AbortError whatever the reason: the deadline's says which.
      const timeout = deadline.signal.aborted && (deadline.signal.reason as Error | undefined)?.name === 'TimeoutError';
      this.ctx.log.debug(
        { device: target.id, address: target.address, err: (err as Error).message },
        'Shelly poll failed',
      );
      return timeout ? 'timeout' : 'unreachable';
    } finally {
      deadline.clear();
    }
    try {
      const status = parseShellyStatus(text);
      const now = this.ctx.clock.now();
      const { on, ...reading } = status;
      this.ctx.emit(plugState.name, { on: on ? 1 : 0 }, { device: target.id, protocol: 'shelly' }, now);
      if (Object.values(reading).some((v) => v !== undefined))
        this.ctx.emit(plugPower.name, { ...reading }, { device: target.id, protocol: 'shelly' }, now);
      this.ctx.seen(target.id, { kind: 'plug' });
      return 'ok';
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.ctx.log.warn({ device: target.id, err: err.message }, 'Shelly sent something that is not a switch status');
      return 'bad_response';
    }
  }

  /** Switches the relay; resolves with the state before. Throws CommandFailed with the reason. */
  async set(target: ShellyTarget, on: boolean, signal: AbortSignal): Promise<{ was_on: boolean }> {
    let res: { ok: boolean; status: number; text: string };
    const deadline = this.deadline(signal);
    try {
      res = await outboundRequest(this.options.policy, shellySetUrl(target.address, target.switch_id, on), {
        signal: deadline.signal,
      });
    } catch (err) {
      if (err instanceof OutboundRefused) throw new CommandFailed(`Shelly ${err.message}`);
      const why = deadline.signal.aborted
        ? String((deadline.signal.reason as Error | undefined)?.message ?? deadline.signal.reason)
        : (err as Error).message;
      throw new CommandFailed(`Shelly ${target.address} did not answer: ${why}`);
    } finally {
      deadline.clear();
    }
    if (!res.ok)
      throw new CommandFailed(`Shelly ${target.address} answered HTTP ${res.status}: ${res.text.slice(0, 200)}`);
    try {
      const result = parseShellySet(res.text);
      this.ctx.emit(
        plugState.name,
        { on: on ? 1 : 0 },
        { device: target.id, protocol: 'shelly' },
        this.ctx.clock.now(),
      );
      return result;
    } catch (err) {
      throw new CommandFailed(err instanceof Error ? err.message : String(err));
    }
  }

  /**
   * Aborts after `timeout_ms`, on stop, or with `also` (a command's own signal). A plain timer
   * rather than AbortSignal.timeout inside AbortSignal.any: on Node 20 the combined signal holds
   * its sources weakly, and under load a collected timeout signal never fires (seen with 1,000
   * plugs). Stop reaches the request through `requests`, not through a listener of its own.
   */
  private deadline(also?: AbortSignal): { signal: AbortSignal; clear(): void } {
    const controller = new AbortController();
    const abort = (reason: unknown) => controller.abort(reason);
    if (this.stopped) abort(new DOMException('the plug plugin is stopping', 'AbortError'));
    const timer = setTimeout(
      () => abort(new DOMException(`no answer within ${this.options.timeout_ms} ms`, 'TimeoutError')),
      this.options.timeout_ms,
    );
    const onAlso = () => abort(also!.reason);
    this.requests.add(controller);
    also?.addEventListener('abort', onAlso, { once: true });
    return {
      signal: controller.signal,
      clear: () => {
        clearTimeout(timer);
        this.requests.delete(controller);
        also?.removeEventListener('abort', onAlso);
      },
    };
  }

  private abortAll(reason: unknown): void {
    this.stopped = true;
    for (const controller of this.requests) controller.abort(reason);
  }

  /** Drops the polls not started yet and aborts those in flight; later requests fail at once. */
  stop(): void {
    this.queue.clear();
    this.abortAll(new DOMException('the plug plugin is stopping', 'AbortError'));
    this.ctx.signal.removeEventListener('abort', this.onStop);
  }
}
