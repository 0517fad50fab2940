/**
 * What the configuration tunes in the generated rules reaches them: grafana.profile_violation_for
 * is the for: of fp-charger-ignoring-profile (default 10m, which the committed files carry), and a
 * value Grafana would not read is refused naming the key.
 */
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { configuredRuleOptions } from '../dashboards/build.ts';
import { generateProvisioning, PROVISIONING_DIR } from '../dashboards/provisioning.ts';

const forOf = (rules: ReturnType<typeof configuredRuleOptions>, uid: string) => {
  const yaml = generateProvisioning(undefined, rules).get(`${PROVISIONING_DIR}/alerting/rules.yaml`)!;
  const doc = load(yaml) as { groups: { rules: { uid: string; for: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules).find((r) => r.uid === uid)!.for;
};

describe('rule options from the configuration', () => {
  it('grafana.profile_violation_for is the for: of fp-charger-ignoring-profile, and nothing else', () => {
    const tuned = configuredRuleOptions([], { FLEETPULSE_GRAFANA__PROFILE_VIOLATION_FOR: '30m' });
    expect(tuned).toEqual({ profileViolationFor: '30m' });
    expect(forOf(tuned, 'fp-charger-ignoring-profile')).toBe('30m');
    expect(forOf(tuned, 'fp-site-over-power-limit')).toBe('5m');
    expect(forOf(configuredRuleOptions([], {}), 'fp-charger-ignoring-profile')).toBe('10m');
  });

  it('a duration Grafana would not read is refused, naming the key', () => {
    expect(() => configuredRuleOptions([], { FLEETPULSE_GRAFANA__PROFILE_VIOLATION_FOR: '10 minutes' })).toThrow(
      /profile_violation_for/,
    );
  });
});
