import mqtt, { type MqttClient } from 'mqtt';
import { CommandFailed, type PluginContext } from '../../collector/sdk/index.ts';
import { plugPower, plugState } from './measurements.ts';
import { parseTasmota, ProtocolError, TASMOTA_SUBSCRIPTIONS, tasmotaPowerCommand } from './protocol.ts';

export interface TasmotaOptions {
  broker_url: string;
  username: string;
  /** Read from the environment, so that no password sits in the config file. */
  password?: string;
  client_id: string;
}

interface Waiter {
  on: boolean;
  resolve: () => void;
}

/**
 * Tasmota plugs over one MQTT connection. The device id is the Tasmota topic (`tasmota_3A1F2C`
 * by default, unique per device). The client reconnects by itself and subscribes again (a broker
 * that restarted has forgotten the session); while the broker is away, devices fall silent and
 * the runtime marks them offline after two missed reporting intervals (see the README).
 */
export class TasmotaLink {
  private readonly client: MqttClient;
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(
    private readonly ctx: PluginContext,
    options: TasmotaOptions,
    private readonly presence: { up(topic: string): void; down(topic: string): void },
  ) {
    this.client = mqtt.connect(options.broker_url, {
      clientId: options.client_id,
      username: options.username || undefined,
      password: options.password,
      reconnectPeriod: 5000,
      connectTimeout: 10_000,
    });
    this.client.on('connect', () => {
      this.ctx.gauge('mqtt_connected', 1);
      this.client.subscribe(TASMOTA_SUBSCRIPTIONS, { qos: 0 }, (err) => {
        if (err) this.ctx.log.error({ err: err.message }, 'could not subscribe to Tasmota topics');
      });
    });
    this.client.on('close', () => this.ctx.gauge('mqtt_connected', 0));
    this.client.on('error', (err) => {
      this.ctx.count('mqtt_error');
      this.ctx.log.warn({ broker: options.broker_url, err: err.message }, 'MQTT error');
    });
    this.client.on('message', (topic, payload) => this.handle(topic, payload.toString()));
  }

  private handle(mqttTopic: string, payload: string): void {
    let msg;
    try {
      msg = parseTasmota(mqttTopic, payload);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.ctx.count('tasmota_malformed');
      this.ctx.log.warn({ topic: mqttTopic, err: err.message }, 'malformed Tasmota message');
      return;
    }
    if (!msg) return;
    const device = msg.topic;
    const tags = { device, protocol: 'tasmota' };
    const now = this.ctx.clock.now();
    if (msg.type === 'lwt') {
      if (msg.online) this.alive(device);
      else {
        this.presence.down(device);
        this.ctx.offline(device);
      }
      return;
    }
    this.alive(device);
    if (msg.type === 'sensor') this.ctx.emit(plugPower.name, { ...msg.reading }, tags, now);
    else if (msg.type === 'state')
      this.ctx.emit(plugState.name, { on: bit(msg.on), rssi_dbm: msg.rssi_dbm, uptime_s: msg.uptime_s }, tags, now);
    else {
      this.ctx.emit(plugState.name, { on: bit(msg.on) }, tags, now);
      const list = this.waiting.get(device) ?? [];
      for (const w of list.filter((w) => w.on === msg.on)) w.resolve();
    }
  }

  private alive(device: string): void {
    this.ctx.seen(device, { kind: 'plug' });
    this.presence.up(device);
  }

  /** Publishes `cmnd/<topic>/POWER` and resolves when the device reports the new state. */
  async setPower(topic: string, on: boolean, signal: AbortSignal): Promise<void> {
    const { topic: commandTopic, payload } = tasmotaPowerCommand(topic, on);
    const answered = new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        on,
        resolve: () => {
          remove();
          resolve();
        },
      };
      const remove = () => {
        const list = (this.waiting.get(topic) ?? []).filter((w) => w !== waiter);
        if (list.length) this.waiting.set(topic, list);
        else this.waiting.delete(topic);
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        remove();
        reject(new CommandFailed(`Tasmota ${topic} did not report POWER ${payload}`));
      };
      this.waiting.set(topic, [...(this.waiting.get(topic) ?? []), waiter]);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    answered.catch(() => {}); // settled by whoever awaits below; avoid an unhandled rejection if publish fails first
    try {
      await this.client.publishAsync(commandTopic, payload, { qos: 0 });
    } catch (err) {
      throw new CommandFailed(`could not publish ${commandTopic}: ${(err as Error).message}`);
    }
    await answered;
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }
}

const bit = (on: boolean | undefined) => (on === undefined ? undefined : on ? 1 : 0);
