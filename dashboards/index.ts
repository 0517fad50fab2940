/** Every dashboard, in menu order. Adding one: a file with a `Board` factory and a line here. */
import type { Board } from './board.ts';
import { businessDashboard } from './business.ts';
import { collectorSelfMonitoring } from './collector.ts';
import { deviceDetail } from './device-detail.ts';
import { evChargingDashboard } from './ev-charging.ts';
import { fleetOverview } from './fleet-overview.ts';
import { gamingDashboard } from './gaming.ts';
import { monthlyReports } from './reports.ts';
import { posDashboard } from './pos.ts';
import { technicalDashboard } from './technical.ts';
import { terminalsDashboard } from './terminals.ts';

export function boards(): Board[] {
  return [
    fleetOverview(),
    terminalsDashboard(),
    evChargingDashboard(),
    gamingDashboard(),
    posDashboard(),
    deviceDetail(),
    collectorSelfMonitoring(),
    technicalDashboard(),
    businessDashboard(),
    monthlyReports(),
  ];
}
