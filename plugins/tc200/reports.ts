import type { Fields, MeasurementSpec, SeenAttributes, Tags } from '../../collector/sdk/index.ts';
import { terminalInfo, terminalLink, terminalStatus } from './measurements.ts';
import type { Hello, Status } from './protocol.ts';

/**
 * What the plugin writes for a terminal's reports: the points of a hello and of a status, and
 * the liveness a status means. One mapping for the plugin's serial ports (terminal-port.ts) and
 * for the agent simulator's in-memory terminals, so the two cannot write different points.
 */
export interface Report {
  measurement: MeasurementSpec;
  fields: Fields;
  tags: Tags;
}

/** The link counters of `terminal_link`, since the port opened. */
export interface LinkCounters {
  frames: number;
  bad_crc: number;
  framing_errors: number;
  discarded_bytes: number;
  retransmissions: number;
  timeouts: number;
  duplicates: number;
  naks: number;
}

/** `terminal_info` for a hello heard on `port`. */
export function helloReport(hello: Hello, port: string): Report {
  const fields = {
    firmware: hello.firmware,
    model: hello.model,
    uptime_s: hello.uptime_s,
    boot_count: hello.boot_count,
  };
  return { measurement: terminalInfo, fields, tags: { device: hello.serial, port } };
}

/** `terminal_status` and `terminal_link` for a status of terminal `device` on `port`. */
export function statusReports(status: Status, device: string, port: string, link: LinkCounters): Report[] {
  const { state, error_code, transactions, failed_transactions, paper, temperature_c, cpu_pct, mem_pct, disk_pct } =
    status;
  return [
    {
      measurement: terminalStatus,
      fields: {
        state,
        error_code,
        transactions,
        failed_transactions,
        paper,
        temperature_c,
        // The protocol counts free flash in KiB; the metric is in bytes like every other size.
        free_storage_bytes: status.free_storage_kb * 1024,
        cpu_pct,
        mem_pct,
        disk_pct,
      },
      tags: { device },
    },
    { measurement: terminalLink, fields: { ...link }, tags: { device, port } },
  ];
}

/**
 * The liveness a status means: `error` with the code as PROTOCOL.md writes it (0x01f4), which
 * the NOC's list of terminals in error shows, when the terminal says so; else online.
 */
export function statusLiveness(status: Status): SeenAttributes {
  const { state, error_code } = status;
  if (state !== 'error' && error_code === 0) return { state: 'online' };
  return { state: 'error', reason: error_code !== 0 ? `0x${error_code.toString(16).padStart(4, '0')}` : undefined };
}
