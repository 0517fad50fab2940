import { definePlugin } from '../../collector/sdk/index.ts';
import { ChargingProfiles } from './charging-profiles.ts';
import { IssuedCertificates } from './issued-certificates.ts';
import { ChargerCa } from './charger-ca.ts';
import { config } from './config.ts';
import { ChargerEndpoint } from './connections.ts';
import { randomUUID } from 'node:crypto';
import { IdTags } from './id-tags.ts';
import { LocalLists } from './local-list.ts';
import { registerReservationRoutes } from './reservation-routes.ts';
import { Reservations } from './reservations.ts';
import { measurements } from './measurements.ts';
import { registerRoutes } from './routes.ts';
import { SessionEnds } from './session-ends.ts';
import { PasswordRotations } from './password-rotations.ts';
import { SecurityProfiles } from './security.ts';
import { SiteLimits } from './site-limits.ts';
import { SitePower } from './site-power.ts';
import { registerSmartChargingRoutes } from './smart-charging-routes.ts';
import { migrate } from './migrations.ts';
import { Pricing } from './pricing.ts';
import { SessionStore } from './sessions.ts';
import { localListAfterChange } from './station-commands.ts';
import type { Station } from './station.ts';
import { Variables } from './variables.ts';
import { Monitors } from './monitors.ts';
import { ReportParts } from './report-parts.ts';
import { registerDeviceModelRoutes } from './device-model-routes.ts';
import { DisplayMessages } from './display-message-store.ts';
import { registerDisplayRoutes } from './display-message-handlers.ts';
import { CustomerReports } from './customer-reports.ts';
import { registerCustomerReportRoutes } from './customer-report-handlers.ts';
import { DataTransferHandlers } from './data-transfer-registry.ts';
import { checkDataTransferConfig } from './data-transfer-handlers.ts';
import { commandSpecs } from './vocabulary.ts';

/**
 * OCPP-J 1.6 and 2.0.1 charge points on the shared HTTP server: registration, connector status,
 * meter values, RFID authorization, charging sessions with cost, and remote commands. Built on
 * ocpp-rpc in strict mode (every message checked against the version's JSON schemas).
 */
export default definePlugin({
  name: 'ocpp',
  description: 'EV chargers speaking OCPP-J 1.6 or 2.0.1 (charging station management)',
  kinds: ['charger'],
  runs_in: ['serve'],
  // serve is a charging station management backend out of the box: unknown chargers wait as pending.
  enabled_by_default: true,
  config,
  measurements,
  commands: commandSpecs,
  recovery: [
    {
      name: 'charger_fault_soft_reset',
      kinds: ['charger'],
      state: 'error',
      for_s: 600,
      command: 'reset',
      params: { type: 'soft' },
    },
  ],
  reporting_interval_s: (c) => c.heartbeat_interval_s,

  async start(ctx) {
    migrate(ctx.db);
    const now = () => ctx.clock.now();
    const idTags = new IdTags(ctx.db);
    const pricing = new Pricing(ctx.db, ctx.config);
    const station = {
      ctx,
      sessions: new SessionStore(ctx.db, pricing, now),
      idTags,
      variables: new Variables(ctx.db),
      monitors: new Monitors(ctx.db),
      reportParts: new ReportParts(ctx.db),
      chargingProfiles: new ChargingProfiles(ctx.db),
      profiles: new SecurityProfiles(ctx.db),
      rotations: new PasswordRotations(ctx.db),
      ca: ChargerCa.of(ctx.config.ca),
      certificates: new IssuedCertificates(ctx.db),
      localLists: new LocalLists(ctx.db, idTags, now),
      reservations: new Reservations(ctx.db, now),
      pricing,
      displayMessages: new DisplayMessages(ctx.db),
      customerReports: new CustomerReports(ctx.db),
      dataTransfer: new DataTransferHandlers(),
    } as Station;
    checkDataTransferConfig(station);
    const ends = new SessionEnds(station);
    station.ends = ends;
    const sitePower = new SitePower(station, station.chargingProfiles);
    station.power = sitePower;
    const siteLimits = new SiteLimits(station, station.chargingProfiles, sitePower);
    station.sessions.onChange = (row) => siteLimits.sessionChanged(row);
    registerRoutes(ctx, station.sessions, station.idTags, ends, () => localListAfterChange(station));
    registerSmartChargingRoutes(ctx, station, siteLimits);
    const endpoint = new ChargerEndpoint(station);
    station.command = (deviceId, name, params) =>
      endpoint.execute(deviceId, { id: randomUUID(), name, params, signal: AbortSignal.timeout(60_000) });
    registerReservationRoutes(station);
    registerDeviceModelRoutes(station);
    registerDisplayRoutes(ctx, station.displayMessages);
    registerCustomerReportRoutes(ctx, station.customerReports);
    const pruning = setInterval(() => station.sessions.prune(), 3600_000);
    pruning.unref();
    const sweeping = setInterval(() => void ends.sweep(), ctx.config.session_sweep_s * 1000);
    sweeping.unref();
    return {
      async stop() {
        clearInterval(pruning);
        clearInterval(sweeping);
        await endpoint.stop();
      },
      execute: (deviceId, command) => endpoint.execute(deviceId, command),
    };
  },
});
