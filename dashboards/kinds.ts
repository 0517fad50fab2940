/**
 * Device kinds the dashboards and rules single out. The plugins declare these in `kinds`; a
 * structural test checks that each name here is served by some plugin once its plugin exists.
 */
export const KIND = {
  terminal: 'terminal',
  pc: 'pc',
  charger: 'charger',
  pos: 'pos',
  plug: 'plug',
} as const;
export type KindName = (typeof KIND)[keyof typeof KIND];
