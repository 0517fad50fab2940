/**
 * data_transfer: a vendor-specific message to the charger (DataTransfer, both versions), its
 * status and data the outcome. Pure: no I/O.
 */
import { Type, type CommandSpec, type Static } from '../../collector/sdk/index.ts';

export const dataTransferSpecs = {
  data_transfer: {
    description:
      "Sends a vendor-specific message (DataTransfer); the outcome carries the charger's status and data (Accepted = succeeded)",
    params: Type.Object(
      {
        vendor_id: Type.String({ minLength: 1, maxLength: 255 }),
        message_id: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
        data: Type.Optional(Type.Unknown({ description: '1.6: a string; 2.0.1: any JSON value' })),
      },
      { additionalProperties: false },
    ),
  },
} satisfies Record<string, CommandSpec>;

type Params = Static<(typeof dataTransferSpecs)['data_transfer']['params']>;

/** The call, or why not. */
export function dataTransferCall(
  v16: boolean,
  params: unknown,
): { action: string; payload: Record<string, unknown> } | string {
  const p = params as Params;
  if (v16 && p.data !== undefined && typeof p.data !== 'string')
    return '1.6 DataTransfer data is a string: encode it (JSON, say) first';
  return {
    action: 'DataTransfer',
    payload: {
      vendorId: p.vendor_id,
      ...(p.message_id ? { messageId: p.message_id } : {}),
      ...(p.data !== undefined ? { data: p.data } : {}),
    },
  };
}
