import { defineMeasurement, type FieldSpec } from '../../collector/sdk/index.ts';
import { METER_FIELDS } from './meter.ts';

export const connectorStatus = defineMeasurement({
  name: 'ocpp_connector_status',
  description:
    'Each StatusNotification: the state of one connector (connector 0 = the whole charger in 1.6), at the time the charger reports.',
  tags: {
    connector: 'Connector id (1.6: 0 = the charge point itself)',
    evse: 'EVSE id (2.0.1 only)',
  },
  fields: {
    status: {
      type: 'string',
      description:
        '1.6: Available, Preparing, Charging, SuspendedEVSE, SuspendedEV, Finishing, Reserved, Unavailable, Faulted; 2.0.1: Available, Occupied, Reserved, Unavailable, Faulted',
    },
    error_code: { type: 'string', description: '1.6 errorCode (NoError when fine); absent in 2.0.1' },
    vendor_error_code: { type: 'string', description: 'Vendor-specific error code, if sent' },
    info: { type: 'string', description: 'Free text from the charger, if sent' },
  },
});

const meterFields = Object.fromEntries(
  Object.values(METER_FIELDS).map((f) => [
    f.field,
    { type: 'float', unit: f.unit, description: f.description } satisfies FieldSpec,
  ]),
) as Record<string, FieldSpec>;

export const meter = defineMeasurement({
  name: 'ocpp_meter',
  description:
    'Meter values (MeterValues, StopTransaction transactionData, TransactionEvent meterValue), one point per timestamp, connector, phase and location; every measurand as its own field, normalised to Wh, varh, VAh, W, var, VA, A, V, Hz, %, °C.',
  tags: {
    connector: 'Connector id (1.6) or EVSE id (2.0.1; for a TransactionEvent naming none, the one of its transaction)',
    phase: 'L1, L2, L3, N, L1-N, L2-N, L3-N, L1-L2, L2-L3, L3-L1; absent for totals',
    location: 'Outlet (default), Inlet, Cable, EV, Body',
  },
  fields: {
    ...meterFields,
    transaction_id: { type: 'string', description: 'The transaction the reading belongs to, if any' },
  },
});

export const session = defineMeasurement({
  name: 'ocpp_session',
  description: 'One point per charging session when it ends (time = stop time; a late correction overwrites it).',
  tags: {
    connector: 'Connector id (1.6) or EVSE id (2.0.1)',
    tariff: 'Name of the tariff that priced it (`tariff` for the single tariff of older configs); absent if unpriced',
  },
  fields: {
    transaction_id: { type: 'string', description: 'Transaction id as the charger knows it' },
    id_tag: { type: 'string', description: 'RFID / id token that started the session' },
    energy_wh: { type: 'float', unit: 'Wh', description: 'Energy delivered (meter stop − meter start)' },
    duration_s: { type: 'float', unit: 's', description: 'Stop time − start time' },
    cost: { type: 'float', description: 'Total price incl. tax, in `currency`' },
    cost_net: { type: 'float', description: 'Price before tax, in `currency`' },
    currency: { type: 'string', description: 'ISO 4217 code of the tariff' },
    stop_reason: {
      type: 'string',
      description:
        "Why it stopped: the charger's (Local, Remote, EVDisconnected, ...) or ours (charger_rebooted, superseded, connector_available, timeout, manual)",
    },
    complete: {
      type: 'bool',
      description:
        'false when the start is missing, (2.0.1) a seqNo gap shows lost messages, or the backend closed the session',
    },
  },
});

export const boot = defineMeasurement({
  name: 'ocpp_boot',
  description: 'Each BootNotification with what the charger says about itself and how it was answered.',
  tags: {},
  fields: {
    vendor: { type: 'string', description: 'chargePointVendor / chargingStation.vendorName' },
    model: { type: 'string', description: 'chargePointModel / chargingStation.model' },
    firmware: { type: 'string', description: 'Firmware version' },
    serial: { type: 'string', description: 'Charge point / station serial number' },
    reason: { type: 'string', description: '2.0.1 boot reason (PowerUp, Watchdog, ...)' },
    registration: { type: 'string', description: 'Our answer: Accepted, Pending or Rejected' },
  },
});

export const firmware = defineMeasurement({
  name: 'ocpp_firmware',
  description: 'FirmwareStatusNotification: progress of a firmware update.',
  tags: {},
  fields: {
    status: {
      type: 'string',
      description: 'Downloading, Downloaded, Installing, Installed, InstallationFailed, DownloadFailed, Idle, ...',
    },
    request_id: { type: 'int', description: '2.0.1 requestId of the UpdateFirmware it reports on' },
  },
});

export const firmwarePublish = defineMeasurement({
  name: 'ocpp_firmware_publish',
  description:
    'PublishFirmwareStatusNotification (2.0.1 local controller): progress of publishing firmware to the stations behind it.',
  tags: {},
  fields: {
    status: {
      type: 'string',
      description:
        'Idle, DownloadScheduled, Downloading, Downloaded, Published, DownloadFailed, DownloadPaused, InvalidChecksum, ChecksumVerified, PublishFailed',
    },
    request_id: { type: 'int', description: 'requestId of the PublishFirmware it reports on' },
    locations: { type: 'string', description: 'Where the stations fetch it (Published), space-separated' },
  },
});

export const diagnostics = defineMeasurement({
  name: 'ocpp_diagnostics',
  description:
    'DiagnosticsStatusNotification (1.6) and LogStatusNotification (2.0.1): progress of a diagnostics upload.',
  tags: {},
  fields: {
    status: { type: 'string', description: 'Idle, Uploading, Uploaded, UploadFailed, ...' },
    request_id: { type: 'int', description: '2.0.1 requestId of the GetLog it reports on' },
  },
});

export const dataTransfer = defineMeasurement({
  name: 'ocpp_data_transfer',
  description:
    "Each DataTransfer a charger sends, with our answer (vendorId routing: data_transfer.vendors). The vendor is a field: it is the charger's text.",
  tags: {},
  fields: {
    vendor_id: { type: 'string', description: 'vendorId' },
    message_id: { type: 'string', description: 'messageId, if sent' },
    data: { type: 'string', description: 'data (2.0.1 JSON encoded); absent when over max_data_bytes' },
    data_bytes: { type: 'int', unit: 'bytes', description: 'Size of data' },
    status: { type: 'string', description: 'Our answer: Accepted, Rejected, UnknownMessageId, UnknownVendorId' },
  },
});

export const chargerError = defineMeasurement({
  name: 'ocpp_error',
  description:
    'A fault the charger reports: a 1.6 StatusNotification errorCode other than NoError, or a 2.0.1 NotifyEvent of trigger Alerting or Problem.',
  tags: {
    connector: 'Connector / EVSE id, when the fault is on one',
    source: 'status_notification or notify_event',
  },
  fields: {
    code: { type: 'string', description: "errorCode, or the event's component.variable" },
    vendor_error_code: { type: 'string', description: 'Vendor-specific code, if sent' },
    info: { type: 'string', description: 'Free text, if sent' },
  },
});

export const securityEvent = defineMeasurement({
  name: 'ocpp_security_event',
  description:
    'Each SecurityEventNotification (1.6 security whitepaper, 2.0.1), at the time the charger says it happened.',
  tags: {},
  fields: {
    type: {
      type: 'string',
      description: 'The event: TamperDetectionActivated, SecurityLogWasCleared, InvalidFirmwareSignature, ...',
    },
    critical: {
      type: 'bool',
      description: 'Critical in the specifications (a charger must deliver it, queued while offline)',
    },
    tech_info: { type: 'string', description: 'techInfo, if sent' },
  },
});

export const ocppEvent = defineMeasurement({
  name: 'ocpp_event',
  description:
    'Each eventData of a 2.0.1 NotifyEvent (a monitor that fired, a hard-wired notification), at the time the charger says it happened.',
  tags: {
    component: 'Component of the variable, e.g. EVSE, ChargingStation, TempSensor',
    variable: 'The variable, e.g. Problem, Temperature',
    evse: 'EVSE id of the component, if on one',
  },
  fields: {
    severity: {
      type: 'int',
      description:
        'The severity of the monitor that raised it (0 Danger … 9 Debug), as set or reported to us; absent when we know no such monitor',
    },
    alerting: {
      type: 'bool',
      description: 'severity ≤ plugins.ocpp.event_alert_severity: what the alert rule fp-charger-severe-event counts',
    },
    trigger: { type: 'string', description: 'Alerting, Delta or Periodic' },
    event_type: {
      type: 'string',
      description:
        'eventNotificationType: HardWiredNotification, HardWiredMonitor, PreconfiguredMonitor, CustomMonitor',
    },
    actual_value: { type: 'string', description: 'The Actual value of the variable' },
    cleared: { type: 'bool', description: 'The condition that raised an earlier event has gone' },
    event_id: { type: 'int', description: "The charger's event id" },
    monitor_id: { type: 'int', description: 'variableMonitoringId, if a monitor raised it' },
    tech_code: { type: 'string', description: 'techCode, if sent' },
    tech_info: { type: 'string', description: 'techInfo, if sent' },
  },
});

export const sitePower = defineMeasurement({
  name: 'ocpp_site_power',
  description:
    'A site with a power limit (PUT /sites/:id/power-limit): its limit and what its active sessions draw, at each meter value carrying power from one of them and each time the shares are sent. No device tag: one series per site.',
  tags: { site: 'Site id (as in the inventory)', customer: "The site's customer" },
  fields: {
    limit_w: { type: 'float', unit: 'W', description: "The site's max_power_kw, in W" },
    drawn_w: {
      type: 'float',
      unit: 'W',
      description: "Sum of the last Power.Active.Import of each of the site's active sessions",
    },
    sessions: { type: 'int', description: 'Active sessions at the site, among which the limit is divided' },
  },
});

export const chargingLimit = defineMeasurement({
  name: 'ocpp_charging_limit',
  description:
    'The limit the charging profiles a connector / EVSE holds put on it now (composite of TxProfile or TxDefault and the station max; A × 230 V × phases), beside its power: when a site share is accepted and at each meter value carrying power while a limit is in force.',
  tags: { connector: 'Connector id (1.6) or EVSE id (2.0.1)' },
  fields: {
    limit_w: { type: 'float', unit: 'W', description: 'The limit in force' },
    drawn_w: {
      type: 'float',
      unit: 'W',
      description: 'Power.Active.Import of the same meter value (absent at a share)',
    },
  },
});

export const measurements = [
  connectorStatus,
  meter,
  session,
  boot,
  firmware,
  firmwarePublish,
  diagnostics,
  chargerError,
  securityEvent,
  dataTransfer,
  ocppEvent,
  sitePower,
  chargingLimit,
];
