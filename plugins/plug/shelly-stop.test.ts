import { getEventListeners } from 'node:events';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validatePluginConfig } from '../../collector/runtime/plugin-config.ts';
import { TestAccumulator } from '../../collector/sdk/testing.ts';
import plug from './index.ts';
import { plugPolicy } from './address.ts';
import { ShellyPoller, type ShellyTarget } from './shelly.ts';

// Many plugs in flight at once against the plugin's one stop signal: no listener per request
// (Node warns past 10), and stopping still ends every request under way. Shelly through nock.
beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const STATUS = { id: 0, output: true, apower: 87.4 };
const FOREVER_MS = 600_000; // neither the plug's answer nor the request timeout comes within the test
const targets: ShellyTarget[] = Array.from({ length: 200 }, (_, i) => ({
  id: `hang-${i}`,
  address: `hang-${i}.fleet.test`,
  switch_id: 0,
}));

/** Every plug hangs; resolves with a counter of the requests that reached a plug. */
function hangingPlugs() {
  const started = { n: 0 };
  for (const t of targets) {
    const scope = nock(`http://${t.address}`)
      .get('/rpc/Switch.GetStatus')
      .query({ id: '0' })
      .delay(FOREVER_MS)
      .reply(200, STATUS);
    scope.on('request', () => void started.n++);
  }
  return started;
}

const warnings: Error[] = [];
const onWarning = (w: Error) => void warnings.push(w);
beforeAll(() => void process.on('warning', onWarning));
afterAll(() => void process.off('warning', onWarning));

describe('Shelly poller: one stop listener, stop aborts what is in flight', () => {
  it('200 hanging plugs at the default concurrency add no listener per request to the stop signal', async () => {
    const started = hangingPlugs();
    const config = validatePluginConfig(plug, 'plug', {
      shelly: { poll_interval_s: 3600, timeout_ms: FOREVER_MS, devices: targets },
    });
    expect(config.shelly.concurrency).toBe(50);
    const acc = new TestAccumulator(plug, config);
    const before = getEventListeners(acc.context.signal, 'abort').length;
    const running = await plug.start(acc.context);
    await expect.poll(() => started.n).toBe(50);
    expect(getEventListeners(acc.context.signal, 'abort').length - before).toBeLessThanOrEqual(1);
    // The runtime aborts the signal, then calls stop(): the requests end without an answer.
    acc.stop();
    await running.stop();
    await new Promise((resolve) => setImmediate(resolve)); // Node emits the leak warning on a later tick
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    expect(started.n).toBe(50);
    expect(
      [...acc.events.keys()].filter((k) => /^shelly_(ok|timeout|unreachable|http_error|bad_response)$/.test(k)),
    ).toEqual([]);
  });

  it('stop() aborts the polls in flight, drops the queued ones, and the round resolves', async () => {
    const started = hangingPlugs();
    const acc = new TestAccumulator(plug, validatePluginConfig(plug, 'plug', {}));
    const outcomes: string[] = [];
    const poller = new ShellyPoller(
      acc.context,
      { timeout_ms: FOREVER_MS, concurrency: 50, policy: plugPolicy([]) },
      (_t, o) => void outcomes.push(o),
    );
    expect(getEventListeners(acc.context.signal, 'abort')).toHaveLength(1);
    const round = poller.round(targets);
    await expect.poll(() => started.n).toBe(50);
    expect(getEventListeners(acc.context.signal, 'abort')).toHaveLength(1);
    poller.stop();
    await round; // would wait FOREVER_MS if the 50 requests in flight were not aborted
    expect(started.n).toBe(50);
    expect(outcomes).toEqual([]); // a poll cut by stop says nothing about the plug
    expect(getEventListeners(acc.context.signal, 'abort')).toHaveLength(0);
  });

  it("the plugin's stop signal alone also ends the round, and a command after stop fails at once", async () => {
    const started = hangingPlugs();
    const acc = new TestAccumulator(plug, validatePluginConfig(plug, 'plug', {}));
    const poller = new ShellyPoller(
      acc.context,
      { timeout_ms: FOREVER_MS, concurrency: 10, policy: plugPolicy([]) },
      () => {},
    );
    const round = poller.round(targets.slice(0, 30));
    await expect.poll(() => started.n).toBe(10);
    acc.stop();
    // The 20 queued polls still start but are aborted before they leave: nothing hangs.
    await round;
    expect(started.n).toBe(10);
    const cmd = new AbortController();
    await expect(poller.set(targets[0], false, cmd.signal)).rejects.toThrow(/did not answer/);
    expect(getEventListeners(cmd.signal, 'abort')).toHaveLength(0);
    poller.stop();
  });
});
