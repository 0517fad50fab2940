/**
 * The OCPP-J endpoint: handshakes (subprotocol, identity, Basic Auth) decided before the upgrade,
 * one ocpp-rpc connection per charger with its handlers, and commands sent over it.
 */
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { RPCServer } from 'ocpp-rpc';
import {
  CommandFailed,
  CommandRejected,
  DeviceUnreachable,
  DiscoveryRefused,
  OutboundPolicy,
  PluginConfigError,
  type Command,
} from '../../collector/sdk/index.ts';
import { askForRenewal, renewalDue } from './certificates.ts';
import { CREDENTIAL, type OcppVersion } from './config.ts';
import { buildHandlers, dispatch, type Handlers } from './handlers.ts';
import { chooseProtocol, frameErrorCode, identityProblem, jittered, rpcError } from './protocol.ts';
import { recordSmartChargingAnswer } from './smart-charging-handlers.ts';
import { recordDisplayAnswer } from './display-message-handlers.ts';
import { authenticatedWith, startRotation } from './rotation.ts';
import { securityAccepted, securityRefusal } from './security-commands.ts';
import { presented, type SecurityProfile } from './security.ts';
import { enqueue, report, type Charger, type OcppConnection, type Station } from './station.ts';
import { stationCall } from './station-commands.ts';
import { recordDeviceModelAnswer } from './device-model-handlers.ts';
import { CSMS_URL_PROTOCOLS, csmsUrlOf } from './network-profile.ts';
import { inParts, sendInParts } from './variable-batches.ts';
import { upgradeRequest } from './upgrade-request.ts';
import { CHARGER_URL_PROTOCOLS, toCall, type CommandName } from './vocabulary.ts';

const OPEN = 1;
/** Close code for a connection replaced by a newer one of the same charger (private range). */
const REPLACED = 4000;

interface SchemaValidator {
  readonly subprotocol: string;
  validate(schemaId: string, params: unknown): boolean;
}

/**
 * ocpp-rpc's own validators, answering NotImplemented (not ProtocolError "schema missing") for an
 * action that has no schema in the version: with one shared handler per connection (see
 * `dispatch`) strict mode validates before our handler can say the action is unknown.
 */
function validators(): SchemaValidator[] {
  const standard = createRequire(import.meta.url)('ocpp-rpc/lib/standard-validators.js') as SchemaValidator[];
  return standard.map((v) => ({
    subprotocol: v.subprotocol,
    validate(schemaId: string, params: unknown) {
      try {
        return v.validate(schemaId, params);
      } catch (err) {
        if (
          (err as { rpcErrorCode?: string }).rpcErrorCode === 'ProtocolError' &&
          /is missing from subprotocol schema/.test((err as Error).message)
        ) {
          throw rpcError('NotImplemented', `Unable to handle '${schemaId.replace(/^urn:|\.req$/g, '')}' calls`);
        }
        throw err;
      }
    },
  }));
}

const CHARGER = Symbol('charger');
type Tagged = OcppConnection & { [CHARGER]: Charger };

/**
 * Event listeners for every connection, created once: ocpp-rpc calls them with `this` = the
 * connection, on which `attach` left its charger. Five closures per connection would cost more
 * memory than the work they do.
 */
function connectionListeners(station: Station): Array<[string, (this: Tagged, event: never) => void]> {
  const { ctx } = station;
  return [
    [
      'message',
      function (this: Tagged, { outbound }: { outbound: boolean }) {
        if (!outbound) report(station, this[CHARGER]);
      },
    ],
    [
      'badMessage',
      function (this: Tagged, { response, error }: { response: unknown[] | null; error: Error }) {
        ctx.count('malformed_frame');
        ctx.log.debug({ device: this.identity, err: error.message }, 'malformed OCPP frame');
        // ocpp-rpc sends this array right after the event: give it the code of the charger's version.
        if (response) response[2] = frameErrorCode(this[CHARGER].version, String(response[2]));
      },
    ],
    [
      'strictValidationFailure',
      function (
        this: Tagged,
        { outbound, isCall, method, error }: { outbound: boolean; isCall: boolean; method: string; error: Error },
      ) {
        if (!outbound && isCall) ctx.count('schema_violation');
        else if (!outbound) ctx.count('answer_schema_violation');
        else {
          ctx.count('reply_schema_violation');
          ctx.log.error(
            { device: this.identity, method, err: error.message },
            'our OCPP reply failed the schema (a plugin bug); sent InternalError',
          );
        }
      },
    ],
    [
      'callError',
      function ({ outbound, error }: { outbound: boolean; error: { rpcErrorCode?: string } }) {
        if (!outbound && error.rpcErrorCode === 'NotImplemented') ctx.count('unknown_action');
      },
    ],
  ];
}

interface Refusal {
  status: 400 | 401 | 403 | 404 | 429 | 503;
  reason: string;
  message: string;
}

export class ChargerEndpoint {
  private readonly rpc: RPCServer;
  private readonly handlers: Record<OcppVersion, Handlers>;
  private readonly listeners: Array<[string, (this: Tagged, event: never) => void]>;
  private connections = 0;
  /** Where a charger may be told to fetch firmware or upload diagnostics (SSRF by proxy). */
  private readonly locations: OutboundPolicy;

  constructor(private readonly station: Station) {
    const { config } = station.ctx;
    try {
      this.locations = new OutboundPolicy({
        setting: 'plugins.ocpp.allowed_networks',
        allowedNetworks: config.allowed_networks,
      });
    } catch (err) {
      throw new PluginConfigError('ocpp', 'allowed_networks', (err as Error).message);
    }
    if (station.ca && !station.ctx.http.requestClientCertificates(station.ca.pem))
      throw new PluginConfigError('ocpp', 'ca.cert', 'client certificates need serve to speak TLS itself (http.tls)');
    this.handlers = { 'ocpp1.6': buildHandlers(station, 'ocpp1.6'), 'ocpp2.0.1': buildHandlers(station, 'ocpp2.0.1') };
    this.listeners = connectionListeners(station);
    this.rpc = new RPCServer({
      protocols: ['ocpp2.0.1', 'ocpp1.6'],
      strictMode: true,
      strictModeValidators: validators() as never,
      // Set per connection with jitter (see `attach`); 0 here so no timer starts unjittered.
      pingIntervalMs: 0,
      maxBadMessages: config.max_bad_messages,
      callConcurrency: 1,
      wssOptions: { maxPayload: 256 * 1024 },
    });
    this.rpc.auth((accept, reject, handshake) => {
      const source = station.ctx.http.clientAddress(handshake.request);
      void this.admit(handshake, source).then(
        (result) => {
          if ('status' in result) {
            station.ctx.count(`handshake_refused_${result.reason}`);
            station.ctx.log.info(
              { device: handshake.identity, remote: source, reason: result.reason },
              'OCPP handshake refused',
            );
            return reject(result.status, result.message);
          }
          // The session is all a connection keeps of its handshake: only what attach needs.
          accept(renewalDue(station, handshake.request) ? { renew: true } : {}, result.protocol);
        },
        (err) => {
          station.ctx.log.error({ device: handshake.identity, err }, 'OCPP handshake failed');
          reject(500, 'internal error');
        },
      );
    });
    this.rpc.on('client', (client: OcppConnection) => this.attach(client));
    station.ctx.http.upgrade(
      config.path,
      (request, socket, head) => void this.rpc.handleUpgrade(upgradeRequest(request), socket as never, head),
    );
  }

  /** Decides a handshake before the upgrade: the subprotocol to use, or why not. */
  private async admit(
    handshake: {
      identity: string;
      endpoint: string;
      protocols: Set<string>;
      password: Buffer | undefined;
      request: IncomingMessage;
    },
    source: string,
  ): Promise<Refusal | { protocol: OcppVersion }> {
    const { identity, endpoint, protocols: offered, password } = handshake;
    const { ctx } = this.station;
    if (endpoint !== ctx.config.path.replace(/\/$/, ''))
      return { status: 404, reason: 'bad_path', message: `connect to ${ctx.config.path}<identity>` };
    // ocpp-rpc alone would accept a client offering no subprotocol with an empty one.
    const protocol = chooseProtocol(offered);
    if (!protocol) return { status: 400, reason: 'no_subprotocol', message: 'offer subprotocol ocpp1.6 or ocpp2.0.1' };
    const problem = identityProblem(identity);
    if (problem) return { status: 400, reason: 'bad_identity', message: problem };
    const secure = ctx.http.secure(handshake.request);
    const shown = presented(secure, handshake.request, this.station.ca?.cert, ctx.clock.now());
    // The certificate is the identity at profile 3: one issued for CP-1 never connects as CP-2.
    if (shown.certified !== undefined && shown.certified !== identity)
      return { status: 403, reason: 'certificate_identity', message: 'the client certificate names another charger' };
    const required: SecurityProfile = this.station.profiles.of(identity);
    if (shown.profile < required)
      return {
        status: 401,
        reason: 'profile_downgrade',
        message: `this charger is at security profile ${required}: ${required === 3 ? 'present its client certificate' : 'connect over wss://'}`,
      };
    const certified = shown.profile === 3;
    const secret = password?.toString('utf8') ?? '';
    const auth = await ctx.devices.authenticate(identity, { type: CREDENTIAL, secret });
    if (auth.ok) {
      await authenticatedWith(this.station, identity, auth.credential);
      return { protocol };
    }
    switch (auth.reason) {
      case 'unknown_device':
      case 'pending':
        if (ctx.config.unknown_chargers !== 'pending')
          return { status: 401, reason: auth.reason, message: 'unknown charger' };
        if (auth.reason === 'unknown_device') return this.discover(identity, protocol, source);
        return { protocol };
      case 'no_credential':
        if (certified || !ctx.config.password_required) return { protocol };
        return { status: 401, reason: 'no_credential', message: 'no password on file for this charger' };
      case 'bad_secret':
        // At profile 3 the certificate authenticates: chargers send no Basic Auth then.
        if (certified) return { protocol };
        return {
          status: 401,
          reason: password === undefined ? 'no_password' : 'bad_password',
          message: 'wrong or missing password',
        };
      default:
        return { status: 401, reason: auth.reason, message: `charger is ${auth.reason}` };
    }
  }

  /**
   * An unknown charger becomes pending at its handshake, so that the inventory's bounds on
   * pending devices refuse it before the upgrade (not after a connection is held open).
   */
  private async discover(
    identity: string,
    protocol: OcppVersion,
    source: string,
  ): Promise<Refusal | { protocol: OcppVersion }> {
    try {
      await this.station.ctx.devices.discover(identity, { kind: 'charger' }, source);
      return { protocol };
    } catch (err) {
      if (!(err instanceof DiscoveryRefused)) throw err;
      if (err.reason === 'bad_id') return { status: 400, reason: err.reason, message: err.message };
      return err.reason === 'pending_full'
        ? { status: 503, reason: err.reason, message: 'too many chargers are waiting for approval; try later' }
        : { status: 429, reason: err.reason, message: 'too many new chargers from this address; try later' };
    }
  }

  private attach(client: OcppConnection): void {
    const { ctx } = this.station;
    const identity = client.identity;
    const version = client.protocol as OcppVersion;
    const charger: Charger = { identity, version, connection: client };
    const previous = ctx.connection<Charger>(identity);
    // The newer connection wins: attach it first so that the old one's close leaves it in place.
    const attachment = ctx.attach(identity, charger);
    if (previous) {
      ctx.count('connection_replaced');
      void previous.connection.close({ code: REPLACED, reason: 'replaced by a newer connection' });
    }
    ctx.gauge('connections', ++this.connections);
    if (ctx.config.ping_interval_s > 0) {
      // In steps of 1% of the interval: Node keeps one timer list per distinct duration, and
      // jitter to the millisecond gave nearly every connection its own.
      const base = ctx.config.ping_interval_s * 1000;
      client.reconfigure({
        pingIntervalMs: Math.round(Math.round(jittered(100, ctx.config.ping_jitter)) * (base / 100)),
      });
    }
    const handlers = this.handlers[version];
    client.handle(({ method, params }) => dispatch(this.station, handlers, charger, method, params));
    // Listeners shared by every connection (see `listeners`): they find the charger on `this`.
    (client as Tagged)[CHARGER] = charger;
    for (const [event, listener] of this.listeners) client.on(event, listener);
    client.once('close', () => {
      attachment.detach();
      ctx.gauge('connections', --this.connections);
      if (!ctx.connection(identity)) ctx.offline(identity);
    });
    report(this.station, charger);
    if ((client.session as { renew?: boolean }).renew) void askForRenewal(this.station, charger);
  }

  /** Sends a command; the bus has validated it. Resolves with the charger's answer. */
  execute(deviceId: string, command: Command): Promise<unknown> {
    const charger = this.station.ctx.connection<Charger>(deviceId);
    if (!charger || charger.connection.state !== OPEN) return Promise.reject(new DeviceUnreachable(deviceId));
    return enqueue(charger, () => this.send(charger, command));
  }

  private async send(charger: Charger, command: Command): Promise<unknown> {
    // Timed out or cancelled while waiting behind an earlier command: never send it late.
    command.signal.throwIfAborted();
    if (charger.connection.state !== OPEN) throw new DeviceUnreachable(charger.identity);
    // update_firmware and get_diagnostics: the charger fetches or uploads there itself; the name
    // is resolved here too, and refused when any address it has is forbidden.
    const location = (command.params as { location?: unknown } | undefined)?.location;
    if (typeof location === 'string') {
      const bad = await this.locations.deviceUrlRefusal(location, CHARGER_URL_PROTOCOLS);
      if (bad) throw new CommandRejected(`not sent: location ${bad}`);
    }
    // set_network_profile: where the charger will connect from now on.
    const csmsUrl = csmsUrlOf(command.name, command.params);
    if (csmsUrl) {
      const bad = await this.locations.deviceUrlRefusal(csmsUrl, CSMS_URL_PROTOCOLS);
      if (bad) throw new CommandRejected(`not sent: csms_url ${bad}`);
    }
    const refused = securityRefusal(this.station, command);
    if (refused) throw new CommandRejected(`not sent: ${refused}`);
    const rotation = command.name === 'rotate_password' ? await startRotation(this.station, charger) : undefined;
    try {
      const params = rotation ? { password: rotation.password } : command.params;
      if (inParts(charger, command))
        return await sendInParts(this.station, charger, command, (call, part) =>
          this.call(charger, part === undefined ? command : { ...command, params: part }, call),
        );
      const result = await this.call(
        charger,
        command,
        stationCall(this.station, charger, command) ??
          toCall(charger.version, command.name as CommandName, params, command.id),
      );
      await rotation?.settle(true);
      return result;
    } catch (err) {
      // Only a clear no revokes the new password: after a lost answer the charger may hold it.
      await rotation?.settle(!(err instanceof CommandRejected));
      throw err;
    }
  }

  private async call(charger: Charger, command: Command, call: ReturnType<typeof toCall>): Promise<unknown> {
    if (!call.action) throw new CommandRejected(`not sent: ${call.interpret({}).reason}`);
    // Before sending: the charger may send its Started event before it answers.
    if (call.action === 'RequestStartTransaction') {
      const { idToken, remoteStartId } = call.payload as { idToken: { idToken: string }; remoteStartId: number };
      this.station.sessions.rememberRemoteStart(charger.identity, remoteStartId, idToken.idToken);
    }
    let answer: unknown;
    try {
      // No ocpp-rpc timeout: the bus owns it and aborts `command.signal`.
      answer = await charger.connection.call(call.action, call.payload, { signal: command.signal, callTimeoutMs: 0 });
    } catch (err) {
      if (command.signal.aborted) throw err;
      const code = (err as { rpcErrorCode?: string }).rpcErrorCode;
      const message = (err as Error).message;
      if (code === 'NotImplemented' || code === 'NotSupported')
        throw new CommandRejected(`${call.action}: the charger answered ${code}`, { code });
      if (code) throw new CommandFailed(`${call.action}: the charger answered ${code}: ${message}`, { code });
      if (charger.connection.state !== OPEN) throw new DeviceUnreachable(charger.identity);
      throw new CommandFailed(`${call.action}: ${message}`);
    }
    const verdict = call.interpret((answer ?? {}) as Record<string, unknown>);
    // Before the verdict: monitors a partly refused set_variable_monitoring installed are installed.
    recordDeviceModelAnswer(this.station, charger, command.name, command.params, answer);
    if (verdict.outcome === 'rejected') throw new CommandRejected(`${call.action}: ${verdict.reason}`, verdict.result);
    if (verdict.outcome === 'failed') throw new CommandFailed(`${call.action}: ${verdict.reason}`, verdict.result);
    recordSmartChargingAnswer(this.station, charger, command.name, command.params, verdict.result);
    recordDisplayAnswer(this.station, charger, command.name, command.params);
    securityAccepted(this.station, charger, command);
    return verdict.result;
  }

  async stop(): Promise<void> {
    await this.rpc.close({ code: 1001, reason: 'server stopping', force: false });
  }
}
