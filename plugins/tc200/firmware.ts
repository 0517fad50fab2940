import { createHash } from 'node:crypto';
import {
  CommandFailed,
  CommandRejected,
  OutboundPolicy,
  outboundRequest,
  Type,
  type Static,
} from '../../collector/sdk/index.ts';
import type { CommandContext, TerminalLine } from './terminal-line.ts';
import { terminalFirmware } from './measurements.ts';
import type { Hello, Result } from './protocol.ts';

export const UpdateFirmwareParams = Type.Object(
  {
    version: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'Version the image installs; confirmed from the hello after reboot',
    }),
    sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'SHA-256 of the image, hex' }),
    url: Type.Optional(
      Type.String({ pattern: '^https?://', description: 'Where the agent downloads the image (http or https)' }),
    ),
    image_base64: Type.Optional(Type.String({ description: 'The image inline, base64 (small images and tests)' })),
  },
  { additionalProperties: false },
);
export type UpdateFirmwareParams = Static<typeof UpdateFirmwareParams>;

export interface FirmwareDeps {
  ctx: CommandContext;
  /** Resolves with the terminal's first hello from a boot other than `bootCount`, wherever it reconnects. */
  nextBoot(serial: string, bootCount: number, timeoutMs: number, signal: AbortSignal): Promise<Hello>;
}

/**
 * Installs a firmware image on one terminal: FW_BEGIN (version, size, SHA-256), the image in
 * acknowledged FW_CHUNKs, FW_VERIFY, FW_APPLY, then waits for the hello that shows the new
 * version. The terminal keeps its old firmware until apply, so any failure before that (a lost
 * link, a power cut, a checksum mismatch) leaves it on the old version; it ends with an
 * `update_failed` point and CommandFailed.
 */
export async function updateFirmware(
  deps: FirmwareDeps,
  terminal: TerminalLine,
  params: UpdateFirmwareParams,
  signal: AbortSignal,
) {
  const { ctx } = deps;
  const { chunk_bytes, confirm_timeout_s, max_image_bytes } = ctx.config.firmware;
  const serial = terminal.serial!;
  const from = terminal.hello!.firmware;
  const to = params.version;
  const report = (state: string, progress_pct: number, error?: string) =>
    ctx.emit(
      terminalFirmware.name,
      { state, progress_pct, from_version: from, to_version: to, error },
      { device: serial },
      ctx.clock.now(),
    );

  const sha256 = Buffer.from(params.sha256, 'hex');
  let progress = 0;
  try {
    const image = await loadImage(params, max_image_bytes, signal);
    if (!createHash('sha256').update(image).digest().equals(sha256)) throw new Error('image does not match its sha256');
    report('transferring', 0);
    expectOk(await terminal.request({ type: 'fw_begin', version: to, size: image.length, sha256 }, signal), 'fw_begin');
    let reported = 0;
    for (let offset = 0; offset < image.length; offset += chunk_bytes) {
      const data = image.subarray(offset, offset + chunk_bytes);
      expectOk(await terminal.request({ type: 'fw_chunk', offset, data }, signal), `fw_chunk at ${offset}`);
      progress = Math.round(((offset + data.length) * 1000) / image.length) / 10;
      // A point per tenth of the image: enough to draw progress, few enough for 16 MB images.
      if (progress - reported >= 10 || progress === 100) {
        report('transferring', progress);
        reported = progress;
      }
    }
    report('verifying', 100);
    expectOk(await terminal.request({ type: 'fw_verify' }, signal), 'fw_verify');
    report('applying', 100);
    // Listen before applying: the terminal may be back before the result is read.
    const back = deps.nextBoot(serial, terminal.hello!.boot_count, confirm_timeout_s * 1000, signal);
    back.catch(() => {});
    expectOk(await terminal.request({ type: 'fw_apply' }, signal), 'fw_apply');
    const hello = await back;
    if (hello.firmware !== to)
      throw new Error(`terminal came back on ${hello.firmware}, not ${to} (the new image did not boot)`);
    report('updated', 100);
    return { firmware: to, previous: from, bytes: image.length };
  } catch (err) {
    if (err instanceof CommandRejected) throw err; // a bad request: nothing was started
    const reason = err instanceof Error ? err.message : String(err);
    report('update_failed', progress, reason);
    ctx.count('firmware_update_failed');
    // Best effort: tell a terminal that is still there to drop the staged image.
    if (terminal.serial === serial) terminal.request({ type: 'fw_abort' }, undefined, 1000).catch(() => {});
    throw new CommandFailed(`firmware update of ${serial} to ${to} failed: ${reason}`, {
      state: 'update_failed',
      firmware: from,
      error: reason,
    });
  }
}

function expectOk(result: Result, step: string): void {
  if (result.code !== 'ok') throw new Error(`${step} ${result.code}: ${result.message || 'no reason given'}`);
}

async function loadImage(params: UpdateFirmwareParams, max: number, signal: AbortSignal): Promise<Buffer> {
  if ((params.url === undefined) === (params.image_base64 === undefined)) {
    throw new CommandRejected('update_firmware needs exactly one of url and image_base64');
  }
  if (params.image_base64 !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(params.image_base64)) throw new CommandRejected('image_base64 is not base64');
    const image = Buffer.from(params.image_base64, 'base64');
    if (image.length === 0 || image.length > max)
      throw new CommandRejected(`image of ${image.length} bytes: must be 1..${max}`);
    return image;
  }
  const url = await checkFirmwareUrl(params.url!);
  const image = await downloadImage(firmwarePolicy, url.href, max, signal);
  if (image.length === 0) throw new CommandRejected('the image at its url is empty');
  return image;
}

/** Public addresses only: the agent sits on a store LAN, whose private hosts a command must not reach. */
const firmwarePolicy = new OutboundPolicy({ setting: 'plugins.tc200 (no private networks)' });

/**
 * Downloads an image through `policy`'s lookup: the name is resolved as the socket connects and
 * the connection goes to the addresses that were checked, so a DNS server answering differently
 * the second time (rebinding) cannot lead the agent to its LAN. A redirect is not followed.
 */
export async function downloadImage(policy: OutboundPolicy, url: string, max: number, signal: AbortSignal) {
  const response = await outboundRequest(policy, url, { signal, maxBytes: max }).catch((err: Error) => {
    throw new Error(`cannot download ${url}: ${err.message}`);
  });
  if (!response.ok) throw new Error(`downloading ${url}: HTTP ${response.status}`);
  return response.body;
}

/**
 * Refuses URLs that would make the agent fetch from itself, its LAN or cloud metadata: the
 * outbound policy, the name resolved and every address checked.
 */
export async function checkFirmwareUrl(raw: string): Promise<URL> {
  const bad = await firmwarePolicy.deviceUrlRefusal(raw);
  if (bad) throw new CommandRejected(`firmware url refused: ${bad}`);
  return new URL(raw);
}
