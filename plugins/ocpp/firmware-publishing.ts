/**
 * A 2.0.1 local controller publishing firmware to the stations behind it (PublishFirmware,
 * UnpublishFirmware; progress arrives as PublishFirmwareStatusNotification). Pure: no I/O.
 */
import { Type, type CommandSpec, type Static, type TSchema } from '../../collector/sdk/index.ts';

const closed = { additionalProperties: false } as const;
const checksum = Type.String({ pattern: '^[0-9a-fA-F]{32}$', description: 'MD5 of the firmware file, 32 hex digits' });

/** `url`: the location schema of the core commands (http(s) or ftp(s), through the outbound policy). */
export function publishingSpecs(url: TSchema) {
  return {
    publish_firmware: {
      description:
        'Has a 2.0.1 local controller download firmware and publish it to the stations behind it (PublishFirmware); progress in ocpp_firmware_publish',
      params: Type.Object(
        {
          location: url,
          checksum,
          retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
          retry_interval_s: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        closed,
      ),
      timeout_s: 60,
    },
    unpublish_firmware: {
      description: 'Has a 2.0.1 local controller stop publishing the firmware of that checksum (UnpublishFirmware)',
      params: Type.Object({ checksum }, closed),
    },
  } satisfies Record<string, CommandSpec>;
}

type Specs = ReturnType<typeof publishingSpecs>;
type Params<N extends keyof Specs> = Static<Specs[N]['params']>;

/** The call, or why not: 1.6 has no local controller messages. */
export function publishingCall(
  v16: boolean,
  name: keyof Specs,
  params: unknown,
  requestId: number,
): { action: string; payload: Record<string, unknown> } | string {
  if (v16) return 'PublishFirmware and UnpublishFirmware are OCPP 2.0.1 only (a local controller)';
  if (name === 'unpublish_firmware')
    return { action: 'UnpublishFirmware', payload: { checksum: (params as Params<'unpublish_firmware'>).checksum } };
  const p = params as Params<'publish_firmware'>;
  return {
    action: 'PublishFirmware',
    payload: {
      location: p.location,
      checksum: p.checksum.toLowerCase(),
      requestId,
      ...(p.retries !== undefined ? { retries: p.retries } : {}),
      ...(p.retry_interval_s !== undefined ? { retryInterval: p.retry_interval_s } : {}),
    },
  };
}
