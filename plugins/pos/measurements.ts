import { defineMeasurement } from '../../collector/sdk/index.ts';

// Every point is stamped with the event's own time, so a batch the back office sends again
// overwrites itself in InfluxDB instead of counting twice.

export const posOrder = defineMeasurement({
  name: 'pos_order',
  description: 'One order closed on a POS device. Sales per store: sum(total) grouped by store and currency.',
  tags: {
    store: 'Store id as the back office names it',
    currency: 'ISO 4217 code of the total',
    status: 'completed | cancelled | open',
    payment_method: 'card | cash | mobile | voucher | other',
  },
  fields: {
    total: { type: 'float', unit: 'currency', description: 'Order total in its currency' },
    items: { type: 'int', unit: 'items', description: 'Number of items on the order' },
    order_id: { type: 'string', description: 'The back office order id' },
  },
});

export const posPayment = defineMeasurement({
  name: 'pos_payment',
  description: 'One payment attempt. Failures by reason: count(amount) where result = failure, grouped by reason.',
  tags: {
    store: 'Store id',
    currency: 'ISO 4217 code of the amount',
    method: 'card | cash | mobile | voucher | other',
    result: 'success | failure',
    reason: 'Why a payment failed (card_declined, insufficient_funds, timeout, ...); absent on success',
  },
  fields: {
    amount: { type: 'float', unit: 'currency', description: 'Amount attempted' },
    order_id: { type: 'string', description: 'The order paid for' },
  },
});

export const posRefund = defineMeasurement({
  name: 'pos_refund',
  description: 'One refund given at a POS device.',
  tags: { store: 'Store id', currency: 'ISO 4217 code', reason: 'Refund reason when the back office gives one' },
  fields: {
    amount: { type: 'float', unit: 'currency', description: 'Amount refunded' },
    order_id: { type: 'string', description: 'The order refunded' },
  },
});

export const posError = defineMeasurement({
  name: 'pos_error',
  description: 'An error a POS device reported. Error counts: count(message) grouped by code.',
  tags: {
    store: 'Store id',
    code: 'Error code as the POS software names it',
    severity: 'info | warning | error | critical',
  },
  fields: {
    message: { type: 'string', description: 'Human-readable text ("" when the device sent none)' },
  },
});

export const posHealth = defineMeasurement({
  name: 'pos_health',
  description: 'Device health from each heartbeat; the heartbeat also drives device_status.',
  tags: { store: 'Store id', network: 'ethernet | wifi | cellular | offline' },
  fields: {
    app_version: { type: 'string', description: 'POS app version' },
    printer: { type: 'string', description: 'ok | paper_low | paper_out | error | offline' },
    printer_ok: { type: 'int', description: '1 when the printer can print (ok or paper_low), else 0' },
    signal_dbm: { type: 'float', unit: 'dBm', description: 'Wireless signal strength (wifi, cellular)' },
    battery_pct: { type: 'float', unit: '%', description: 'Battery level of handheld devices' },
    charging: { type: 'bool', description: 'Whether a handheld is on its charger' },
  },
});

export const measurements = [posOrder, posPayment, posRefund, posError, posHealth];
