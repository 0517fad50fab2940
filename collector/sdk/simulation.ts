// Tools for simulators and benchmarks, apart from the contract (index.ts) so that `serve` never
// loads them (the uplink client loads ws). The simulator contract (`defineSimulator`) stays in index.ts.
export * from './simulated-uplink.ts';
