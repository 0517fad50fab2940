/**
 * A charger's DataTransfer, routed by vendorId to the handler `data_transfer.vendors` names
 * (data-transfer-registry.ts). Every one is kept as an ocpp_data_transfer point with our answer:
 * unknown vendors get UnknownVendorId, a messageId the vendor's `message_ids` lacks
 * UnknownMessageId, data over `max_data_bytes` Rejected (kept without its data).
 */
import { PluginConfigError } from '../../collector/sdk/index.ts';
import type { DataTransferAnswer } from './data-transfer-registry.ts';
import { dataTransfer } from './measurements.ts';
import type { On, Station } from './station.ts';

/** Throws naming the key when the config names a handler nobody registered. */
export function checkDataTransferConfig(station: Station): void {
  for (const [vendor, { handler = 'store' }] of Object.entries(station.ctx.config.data_transfer.vendors))
    if (!station.dataTransfer.get(handler))
      throw new PluginConfigError(
        'ocpp',
        `data_transfer.vendors.${vendor}.handler`,
        `no handler "${handler}"; registered: ${station.dataTransfer.names().join(', ')}`,
      );
}

export function registerDataTransfer(station: Station, on: On): void {
  const { ctx } = station;
  on('DataTransfer', async (params, charger) => {
    // Schema-checked by ocpp-rpc: vendorId a string of at most 255; data a string (1.6) or any JSON.
    const p = params as { vendorId: string; messageId?: string; data?: unknown };
    ctx.count('data_transfer');
    const { vendors, max_data_bytes } = ctx.config.data_transfer;
    const vendor = Object.hasOwn(vendors, p.vendorId) ? vendors[p.vendorId] : undefined;
    const text: string | undefined =
      p.data === undefined ? undefined : typeof p.data === 'string' ? p.data : JSON.stringify(p.data);
    const bytes = text === undefined ? 0 : Buffer.byteLength(text);
    let answer: DataTransferAnswer;
    if (bytes > max_data_bytes) {
      ctx.count('data_transfer_too_large');
      answer = { status: 'Rejected' };
    } else if (!vendor) answer = { status: 'UnknownVendorId' };
    else if (vendor.message_ids && !vendor.message_ids.includes(p.messageId ?? ''))
      answer = { status: 'UnknownMessageId' };
    else answer = await station.dataTransfer.get(vendor.handler ?? 'store')!({ charger: charger.identity, ...p });
    ctx.emit(
      dataTransfer.name,
      {
        vendor_id: p.vendorId,
        message_id: p.messageId,
        data: bytes > max_data_bytes ? undefined : text,
        data_bytes: bytes,
        status: answer.status,
      },
      { device: charger.identity },
    );
    // The answer tells the charger it may forget the message: only once it is durable.
    await ctx.committed();
    return answer;
  });
}
