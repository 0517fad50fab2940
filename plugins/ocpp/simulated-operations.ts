/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call
   -- frames from the backend, checked by ocpp-rpc's strict mode before a handler sees them */
/**
 * The charger's side of display messages, customer information, DataTransfer and firmware
 * publishing, for the simulated chargers: keeps the messages it is set (across reconnects) and
 * reports them, reports a customer in two parts, echoes its own vendor's DataTransfer, and
 * publishes firmware with the status notifications a local controller sends.
 */
import type { RPCClient } from 'ocpp-rpc';

/** The vendorId the simulated chargers answer (others: UnknownVendorId). */
export const SIM_VENDOR = 'com.fleetpulse.sim';

export class ChargerOperations {
  /** What the display shows, by message id (2.0.1 MessageInfoType). */
  readonly display = new Map<number, any>();
  private published: string | undefined;

  constructor(private readonly protocol: 'ocpp1.6' | 'ocpp2.0.1') {}

  serve(client: RPCClient): void {
    client.handle('DataTransfer', async ({ params }: { params?: any }) =>
      params.vendorId === SIM_VENDOR ? { status: 'Accepted', data: params.data } : { status: 'UnknownVendorId' },
    );
    if (this.protocol === 'ocpp1.6') return;
    const later = (send: () => Promise<unknown>) => setImmediate(() => void send().catch(() => {}));
    client.handle('SetDisplayMessage', async ({ params }: { params?: any }) => {
      this.display.set(params.message.id, params.message);
      return { status: 'Accepted' };
    });
    client.handle('ClearDisplayMessage', async ({ params }: { params?: any }) => ({
      status: this.display.delete(params.id) ? 'Accepted' : 'Unknown',
    }));
    client.handle('GetDisplayMessages', async ({ params }: { params?: any }) => {
      const shown = [...this.display.values()].filter(
        (m) =>
          (!params.id || params.id.includes(m.id)) &&
          (!params.priority || m.priority === params.priority) &&
          (!params.state || m.state === params.state),
      );
      if (shown.length === 0) return { status: 'Unknown' };
      later(() => client.call('NotifyDisplayMessages', { requestId: params.requestId, messageInfo: shown }));
      return { status: 'Accepted' };
    });
    client.handle('CustomerInformation', async ({ params }: { params?: any }) => {
      const who = params.customerIdentifier ?? params.idToken?.idToken ?? params.customerCertificate?.serialNumber;
      if (params.report)
        later(async () => {
          const part = (seqNo: number, data: string, tbc: boolean) =>
            client.call('NotifyCustomerInformation', {
              requestId: params.requestId,
              seqNo,
              tbc,
              data,
              generatedAt: new Date().toISOString(),
            });
          await part(0, `customer ${who}: `, true);
          await part(1, params.clear ? 'cleared' : 'no sessions kept', false);
        });
      return { status: 'Accepted' };
    });
    client.handle('PublishFirmware', async ({ params }: { params?: any }) => {
      const { requestId, checksum, location } = params;
      later(async () => {
        for (const status of ['Downloading', 'Downloaded', 'ChecksumVerified'])
          await client.call('PublishFirmwareStatusNotification', { status, requestId });
        this.published = checksum;
        const local = `http://sim.local/firmware/${String(location).split('/').pop()}`;
        await client.call('PublishFirmwareStatusNotification', { status: 'Published', requestId, location: [local] });
      });
      return { status: 'Accepted' };
    });
    client.handle('UnpublishFirmware', async ({ params }: { params?: any }) => {
      if (this.published !== params.checksum) return { status: 'NoFirmware' };
      this.published = undefined;
      return { status: 'Unpublished' };
    });
  }
}
