// The SDK's test harness, apart from the contract (index.ts) so that a plugin's production import
// never loads it (it loads better-sqlite3 and pino). Tests import it; plugin code never does.
export { TestAccumulator } from './test-accumulator.ts';
