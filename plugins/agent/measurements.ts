import type { MeasurementSpec } from '../../collector/sdk/index.ts';

/**
 * The uplink emits no measurements of its own: the points it carries are the edge plugins'
 * (host, tc200), forwarded as encoded, and its events are self-metrics
 * (`fleetpulse_plugin_events_total{plugin="agent"}`: malformed_frame, malformed_line,
 * foreign_device, refused_*; `fleetpulse_plugin_gauge{name="agents_connected"}`).
 */
export const measurements: MeasurementSpec[] = [];
