import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { migrate } from './migrations.ts';
import { Variables } from './variables.ts';

it('migration 4 carries the values of the old ocpp_variables table into the device model store', () => {
  const db = new Database(':memory:');
  // As the Variables store of before created it, with one value a NotifyReport left.
  db.exec(`CREATE TABLE ocpp_variables (
    charger TEXT NOT NULL, component TEXT NOT NULL, variable TEXT NOT NULL, attribute TEXT NOT NULL,
    value TEXT, updated_at INTEGER NOT NULL, PRIMARY KEY (charger, component, variable, attribute)) WITHOUT ROWID`);
  db.prepare('INSERT INTO ocpp_variables VALUES (?, ?, ?, ?, ?, ?)').run(
    'CP-1',
    'OCPPCommCtrlr',
    'HeartbeatInterval',
    'Actual',
    '300',
    5,
  );
  migrate(db);
  expect(new Variables(db).of('CP-1')).toMatchObject([
    { component: 'OCPPCommCtrlr', variable: 'HeartbeatInterval', attribute: 'Actual', value: '300', updated_at: 5 },
  ]);
  expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'ocpp_variables'").get()).toBeUndefined();
  // Applied once: a second start changes nothing.
  migrate(db);
  expect(new Variables(db).of('CP-1')).toHaveLength(1);
});
