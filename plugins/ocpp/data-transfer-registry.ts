/**
 * What answers a charger's DataTransfer, by name: `data_transfer.vendors.<vendorId>.handler`
 * names one. Built in: `store` (the message is kept as an ocpp_data_transfer point, as every one
 * is, and answered Accepted) and `reject`. Code extending the plugin registers more on the
 * station's registry; a name in the config that is not registered stops the plugin at start.
 */
export interface DataTransferMessage {
  charger: string;
  vendorId: string;
  messageId?: string;
  data?: unknown;
}

export interface DataTransferAnswer {
  status: 'Accepted' | 'Rejected' | 'UnknownMessageId' | 'UnknownVendorId';
  data?: unknown;
}

export type DataTransferHandler = (message: DataTransferMessage) => DataTransferAnswer | Promise<DataTransferAnswer>;

export class DataTransferHandlers {
  private readonly handlers = new Map<string, DataTransferHandler>([
    ['store', () => ({ status: 'Accepted' })],
    ['reject', () => ({ status: 'Rejected' })],
  ]);

  register(name: string, handler: DataTransferHandler): void {
    if (this.handlers.has(name)) throw new Error(`data transfer handler "${name}" is already registered`);
    this.handlers.set(name, handler);
  }

  get(name: string): DataTransferHandler | undefined {
    return this.handlers.get(name);
  }

  names(): string[] {
    return [...this.handlers.keys()];
  }
}
