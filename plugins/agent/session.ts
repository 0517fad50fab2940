import type { WebSocket } from 'ws';
import {
  DeviceUnreachable,
  deviceIdProblem,
  MalformedLine,
  PointsRefused,
  parseLineHead,
  type Attachment,
  type CommandSpec,
  type PluginContext,
} from '../../collector/sdk/index.ts';
import { encode, type AckReason, type AgentMessage, type AnnouncedDevice } from './protocol.ts';

type Result = Extract<AgentMessage, { t: 'result' }>;

/** Commands sent down to agents and waiting for their result, by command id. */
export type Waiting = Map<string, { ws: WebSocket; settle: (r: Result) => void; fail: (e: Error) => void }>;

/**
 * The devices whose edge last said they are in error, with the reason (one map per plugin
 * instance, kept across reconnects). The edge writes liveness only on a change and every status
 * interval, so most batches carry a device's data without its state: the data says it is alive,
 * this says it is still in error.
 */
export type EdgeErrors = Map<string, string | undefined>;

/** Liveness the runtime keeps itself; an edge's copy of it is translated, not stored twice. */
const LIVENESS = new Set(['device_status', 'device_availability', 'device_attention']);
/** A string field of a line's field set, unescaped (`\"` and `\\` in line protocol). */
const stringField = (rest: string, name: string) =>
  new RegExp(`(?:^|,)${name}="((?:[^"\\\\]|\\\\.)*)"`).exec(rest)?.[1]?.replace(/\\(.)/g, '$1');

/** One connected agent: its batches, the devices it announced, and its commands in flight. */
export class AgentSession {
  private readonly attachments = new Map<string, Attachment>();
  private alive = true;
  private replaced = false;

  constructor(
    private readonly ctx: PluginContext,
    readonly agentId: string,
    private readonly ws: WebSocket,
    private readonly waiting: Waiting,
    private readonly edgeErrors: EdgeErrors,
    private readonly unknownDevices: 'pending' | 'refuse' = 'pending',
  ) {
    this.attach({ id: agentId, kind: 'pc', commands: {} }, false);
    ctx.seen(agentId);
    ws.on('pong', () => (this.alive = true));
    ws.on('close', () => this.closed());
  }

  handle(msg: AgentMessage): void {
    switch (msg.t) {
      case 'batch':
        void this.batch(msg.id, msg.lines);
        return;
      case 'devices':
        for (const d of msg.devices) this.attach(d, true);
        return;
      case 'result': {
        const w = this.waiting.get(msg.id);
        if (!w || w.ws !== this.ws) return this.ctx.count('unexpected_result');
        this.waiting.delete(msg.id);
        w.settle(msg);
      }
    }
  }

  ping(): void {
    if (!this.alive) return this.ws.terminate();
    this.alive = false;
    this.ws.ping();
  }

  /** A newer connection of the same agent took over. */
  replace(): void {
    this.replaced = true;
    this.ctx.count('connection_replaced');
    this.close(4000, 'replaced by a newer connection');
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  /**
   * Spools the lines of one batch and acknowledges it once they are committed, saying how many
   * were refused and why. Lines without a device are the agent runtime's own (`fleetpulse_*`)
   * and are tagged with the agent's id.
   */
  private async batch(id: number, lines: string[]): Promise<void> {
    const ctx = this.ctx;
    let refused = 0;
    const reasons: Partial<Record<AckReason, number>> = {};
    const refuse = (reason: AckReason) => {
      refused++;
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    };
    const reported = new Map<string, { kind?: string; state?: string; reason?: string }>();
    for (const line of lines) {
      let head;
      try {
        head = parseLineHead(line);
      } catch (err) {
        if (!(err instanceof MalformedLine)) throw err;
        refuse('malformed');
        ctx.count('malformed_line');
        continue;
      }
      const device = (head.tags.device ??= this.agentId);
      if (!this.mayReport(device)) {
        refuse('foreign_device');
        ctx.count('foreign_device');
        continue;
      }
      let seen = reported.get(device);
      if (!seen) {
        seen = { kind: head.tags.kind };
        // A device the inventory does not know meets its discovery policy before its first point
        // is written: registered (pending, or active if its kind is auto-accepted) or refused.
        const undiscovered = this.discovered(device, seen.kind);
        if (undiscovered) {
          refuse(undiscovered);
          continue;
        }
        reported.set(device, seen);
      }
      if (LIVENESS.has(head.measurement)) {
        if (head.measurement === 'device_status') seen.state = /(?:^|,)state="(\w+)"/.exec(head.rest)?.[1];
        // The edge plugin's reason for an error travels on the edge's attention point.
        // (A reason change comes on an attention point alone: its state stands for the status.)
        if (head.measurement === 'device_attention') {
          seen.reason = stringField(head.rest, 'reason');
          seen.state ??= stringField(head.rest, 'state');
        }
        continue;
      }
      const refusal = ctx.forward(head);
      if (refusal !== undefined) refuse(refusal);
    }
    if (refused > 0) ctx.log.warn({ agent: this.agentId, batch: id, refused, reasons }, 'lines refused from agent');
    for (const [device, r] of reported) {
      if (r.state === 'error') this.edgeErrors.set(device, r.reason);
      else if (r.state !== undefined) this.edgeErrors.delete(device);
      if (r.state === 'offline') ctx.offline(device);
      else {
        const known = ctx.devices.lookup(device);
        const error = this.edgeErrors.has(device)
          ? { state: 'error' as const, reason: this.edgeErrors.get(device) }
          : {};
        ctx.seen(device, known ? error : { kind: r.kind, gateway: this.agentId });
      }
    }
    ctx.seen(this.agentId);
    try {
      await ctx.committed();
    } catch (err) {
      if (!(err instanceof PointsRefused)) throw err;
      // Nothing appended was stored (the server's disk is full): the agent keeps the batch.
      const lost = lines.length - refused;
      reasons[err.reason] = (reasons[err.reason] ?? 0) + lost;
      refused += lost;
    }
    if (this.ws.readyState !== this.ws.OPEN) return;
    const accepted = lines.length - refused;
    this.ws.send(
      encode(refused === 0 ? { t: 'ack', id, accepted, refused } : { t: 'ack', id, accepted, refused, reasons }),
    );
  }

  /** The agent itself, devices behind it, and devices nobody knows yet (see `discovered`). */
  private mayReport(device: string): boolean {
    if (device === this.agentId) return true;
    const known = this.ctx.devices.lookup(device);
    return !known || known.gateway === this.agentId;
  }

  /**
   * Why the inventory does not know `device` now, or undefined when it does: an unknown one is
   * registered behind this agent (pending, unless its kind is auto-accepted) or refused, with
   * `unknown_devices: refuse`, for an id no device may have, or over the inventory's bounds on
   * pending devices (counted by the runtime as `discovery_refused_*`).
   */
  private discovered(device: string, kind: string | undefined): AckReason | undefined {
    if (this.ctx.devices.lookup(device)) return undefined;
    if (this.unknownDevices === 'refuse') {
      this.ctx.count('unknown_device');
      return 'foreign_device';
    }
    if (deviceIdProblem(device)) {
      this.ctx.count('bad_device_id');
      return 'device_id';
    }
    this.ctx.seen(device, { kind, gateway: this.agentId });
    return this.ctx.devices.lookup(device) ? undefined : 'not_admitted';
  }

  private attach(d: AnnouncedDevice, announced: boolean): void {
    if (!this.mayReport(d.id)) {
      this.ctx.count('foreign_device');
      return;
    }
    if (announced && !this.ctx.devices.lookup(d.id))
      this.ctx.seen(d.id, { kind: d.kind, model: d.model, firmware: d.firmware, gateway: this.agentId });
    const commands = d.commands as unknown as Record<string, CommandSpec>;
    this.attachments.get(d.id)?.detach();
    this.attachments.set(d.id, this.ctx.attach(d.id, this.ws, { commands }));
  }

  private closed(): void {
    for (const a of this.attachments.values()) a.detach();
    for (const [id, w] of this.waiting) {
      if (w.ws !== this.ws) continue;
      this.waiting.delete(id);
      w.fail(new DeviceUnreachable(`${this.agentId} (uplink closed)`));
    }
    // Nobody can observe the devices behind a lost uplink; a replaced connection is not a loss.
    if (this.replaced) return;
    for (const device of this.attachments.keys()) if (!this.ctx.connection(device)) this.ctx.offline(device);
  }
}
