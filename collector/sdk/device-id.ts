/**
 * The one rule for device ids, checked at every door (OCPP identities, agent ids, devices an
 * agent announces or reports, POS senders and devices) and by the API. An id becomes the
 * `device` tag of every point: the line protocol encoder cannot write one that ends in a
 * backslash or holds a control character, so such an id admitted would have every point
 * refused later. Letters, digits and `._:@+|=*-`, starting with a letter or digit, covers
 * serial numbers and OCPP identities seen in the field.
 */
export const MAX_DEVICE_ID_LENGTH = 64;
export const DEVICE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:@+|=*-]{0,63}$';
const VALID = new RegExp(DEVICE_ID_PATTERN);

/** Why `id` cannot be a device id, or undefined when it can. */
export function deviceIdProblem(id: string): string | undefined {
  if (VALID.test(id)) return undefined;
  if (id.length === 0) return 'device id is empty';
  if (id.length > MAX_DEVICE_ID_LENGTH) return `device id is longer than ${MAX_DEVICE_ID_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex -- the characters line protocol cannot carry
  if (/[\x00-\x1f\x7f]/.test(id)) return 'device id holds a control character';
  if (id.endsWith('\\')) return 'device id ends with a backslash';
  return 'device id may hold only letters, digits and ._:@+|=*-, starting with a letter or digit';
}
