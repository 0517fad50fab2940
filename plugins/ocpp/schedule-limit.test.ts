import { describe, expect, it } from 'vitest';
import { compositeSchedule, limitAt, profileWattsAt, type HeldProfile } from './schedule-limit.ts';
import { ocppProfile, profileOf, type ProfileParams } from './smart-charging.ts';

/**
 * Which limit a set of charging profiles puts on a connector, as OCPP composes it: the rule both
 * the plugin's ocpp_charging_limit and the simulated charger's power draw follow.
 */
const T = Date.parse('2030-01-01T00:00:00Z');
const H = 3_600_000;
const p = (
  over: Partial<ProfileParams> & Pick<ProfileParams, 'purpose'>,
  limit: number,
  unit = 'W',
): ProfileParams => ({
  id: 1,
  stack_level: 0,
  kind: 'absolute',
  schedule: { unit, start: '2030-01-01T00:00:00Z', periods: [{ start_s: 0, limit }] },
  ...over,
});
const held = (connector: number, profile: ProfileParams): HeldProfile => ({ connector, profile });
const tx = { id: 'TX-1', startedAt: T };

describe('the limit in force on a connector', () => {
  it('A counts as A × 230 V × phases, 3 phases unless the period says', () => {
    const amps = (phases?: number) =>
      p(
        {
          purpose: 'tx_default',
          schedule: {
            unit: 'A',
            start: '2030-01-01T00:00:00Z',
            periods: [{ start_s: 0, limit: 16, ...(phases ? { phases } : {}) }],
          },
        },
        0,
      );
    expect(profileWattsAt(amps(), T)).toBe(16 * 230 * 3);
    expect(profileWattsAt(amps(1), T)).toBe(16 * 230);
  });

  it('the highest stack level of a purpose wins, even when it allows more', () => {
    const profiles = [
      held(0, p({ purpose: 'tx_default', stack_level: 0 }, 3000)),
      held(0, p({ id: 2, purpose: 'tx_default', stack_level: 2 }, 9000)),
    ];
    expect(limitAt(profiles, 1, T)).toBe(9000);
  });

  it("the transaction's TxProfile replaces TxDefault; the connector's TxDefault replaces connector 0's", () => {
    const defaults = [held(0, p({ purpose: 'tx_default' }, 3000)), held(2, p({ id: 2, purpose: 'tx_default' }, 5000))];
    expect(limitAt(defaults, 1, T)).toBe(3000);
    expect(limitAt(defaults, 2, T)).toBe(5000);
    const withTx = [...defaults, held(1, p({ id: 3, purpose: 'tx', kind: 'relative', transaction_id: 'TX-1' }, 8000))];
    expect(limitAt(withTx, 1, T + H, tx)).toBe(8000);
    // Another transaction's TxProfile does not apply.
    expect(limitAt(withTx, 1, T + H, { id: 'TX-2', startedAt: T })).toBe(3000);
  });

  it('the station maximum caps the result and is shared among charging connectors', () => {
    const profiles = [
      held(0, p({ purpose: 'tx_default' }, 11_000)),
      held(0, p({ id: 2, purpose: 'station_max' }, 16_000)),
    ];
    expect(limitAt(profiles, 1, T)).toBe(11_000);
    expect(limitAt(profiles, 1, T, undefined, 2)).toBe(8000);
    expect(limitAt([], 1, T)).toBeNull();
  });

  it('periods, duration, validity and daily recurrence decide when a limit holds', () => {
    const stepped = p(
      {
        purpose: 'tx_default',
        schedule: {
          unit: 'W',
          start: '2030-01-01T00:00:00Z',
          duration_s: 7200,
          periods: [
            { start_s: 0, limit: 3000 },
            { start_s: 3600, limit: 6000 },
          ],
        },
      },
      0,
    );
    expect([T - 1, T, T + H - 1, T + H, T + 2 * H].map((t) => profileWattsAt(stepped, t))).toEqual([
      undefined,
      3000,
      3000,
      6000,
      undefined,
    ]);
    const expired = p({ purpose: 'tx_default', valid_to: '2030-01-01T01:00:00Z' }, 3000);
    expect([profileWattsAt(expired, T), profileWattsAt(expired, T + H)]).toEqual([3000, undefined]);
    // Daily: 16 kW from 00:00, 4 kW from 18:00, every day.
    const daily = p(
      {
        purpose: 'tx_default',
        kind: 'recurring',
        recurrency: 'daily',
        schedule: {
          unit: 'W',
          start: '2030-01-01T00:00:00Z',
          periods: [
            { start_s: 0, limit: 16_000 },
            { start_s: 18 * 3600, limit: 4000 },
          ],
        },
      },
      0,
    );
    expect([profileWattsAt(daily, T + 3 * 24 * H + 17 * H), profileWattsAt(daily, T + 3 * 24 * H + 19 * H)]).toEqual([
      16_000, 4000,
    ]);
  });

  it('the composite schedule lists each change of limit from now, merged where equal', () => {
    const profiles = [
      held(
        0,
        p(
          {
            purpose: 'tx_default',
            schedule: {
              unit: 'W',
              start: '2030-01-01T00:00:00Z',
              periods: [
                { start_s: 0, limit: 3000 },
                { start_s: 1800, limit: 3000 },
                { start_s: 3600, limit: 6000 },
              ],
            },
          },
          0,
        ),
      ),
      held(0, p({ id: 2, purpose: 'station_max', valid_from: '2030-01-01T01:30:00Z' }, 5000)),
    ];
    expect(compositeSchedule(profiles, 1, T + 600_000, 7200)).toEqual([
      { start_s: 0, limit_w: 3000 },
      { start_s: 3000, limit_w: 6000 },
      { start_s: 4800, limit_w: 5000 },
    ]);
  });

  it('a profile read back from either version is the one that was sent', () => {
    const sent = p(
      {
        id: 7,
        stack_level: 1,
        purpose: 'tx',
        kind: 'relative',
        transaction_id: '42',
        schedule: { unit: 'A', duration_s: 600, periods: [{ start_s: 0, limit: 16, phases: 1 }] },
      },
      0,
    );
    expect(profileOf(ocppProfile('ocpp1.6', sent) as Record<string, unknown>)).toEqual(sent);
    expect(profileOf(ocppProfile('ocpp2.0.1', sent) as Record<string, unknown>)).toEqual(sent);
  });
});
