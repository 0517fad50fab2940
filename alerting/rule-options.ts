/**
 * What the configuration tunes in the generated alert rules: the `grafana` section, read by
 * `npm run grafana:build` (the committed provisioning uses the defaults).
 */
export interface RuleOptions {
  /** How long a charger may draw past its charging profile before fp-charger-ignoring-profile fires. */
  profileViolationFor: string;
}

export const DEFAULT_RULE_OPTIONS: RuleOptions = { profileViolationFor: '10m' };
