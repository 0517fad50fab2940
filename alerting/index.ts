/** The alerting provisioning files: rule groups, contact points, policies. */
import { chargingRules } from './charging-rules.ts';
import { collectorRules } from './collector-rules.ts';
import { deviceRules } from './device-rules.ts';
import { DEFAULT_ALERT_LINKS, type AlertLinks } from './alert-links.ts';
import { contactPoints, notificationPolicies } from './notifications.ts';
import { DEFAULT_RULE_OPTIONS, type RuleOptions } from './rule-options.ts';
import { provisionedRule, type RuleSpec } from './rule.ts';

export const ALERT_FOLDER = 'Fleetpulse';
/** Evaluation interval of both groups. */
export const EVALUATION_INTERVAL = '1m';

export function ruleGroups(options: RuleOptions = DEFAULT_RULE_OPTIONS): { name: string; rules: RuleSpec[] }[] {
  return [
    { name: 'devices', rules: [...deviceRules(), ...chargingRules(options)] },
    { name: 'collector', rules: collectorRules() },
  ];
}

export function alertRuleProvisioning(
  links: AlertLinks = DEFAULT_ALERT_LINKS,
  options: RuleOptions = DEFAULT_RULE_OPTIONS,
): Record<string, unknown> {
  return {
    apiVersion: 1,
    groups: ruleGroups(options).map((g) => ({
      orgId: 1,
      name: g.name,
      folder: ALERT_FOLDER,
      interval: EVALUATION_INTERVAL,
      rules: g.rules.map((r) => provisionedRule(r, links)),
    })),
  };
}

export { contactPoints, notificationPolicies };
