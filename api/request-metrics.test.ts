import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { SelfMetrics } from '../collector/runtime/self-metrics.ts';
import { measureRequests, UNMATCHED_ROUTE } from './request-metrics.ts';

let close: (() => Promise<void>) | undefined;
afterEach(async () => close?.());

/** A Fastify app wired to real SelfMetrics as serve wires them. */
function app() {
  const metrics = new SelfMetrics('api-1');
  const server = Fastify();
  measureRequests(server, (labels, seconds) => metrics.httpRequest(labels, seconds));
  server.get('/api/v1/devices/:id', async (request, reply) =>
    (request.params as { id: string }).id === 'boom' ? reply.code(500).send({}) : { id: 'x' },
  );
  server.post('/api/v1/devices', async (_request, reply) => reply.code(400).send({}));
  close = () => server.close();
  return { server, metrics };
}

describe('HTTP request metrics', () => {
  it('counts and times requests by route template, method and status class, on /metrics and as points', async () => {
    const { server, metrics } = app();
    for (const url of ['/api/v1/devices/t-1', '/api/v1/devices/t-2', '/api/v1/devices/boom'])
      await server.inject({ url });
    await server.inject({ method: 'POST', url: '/api/v1/devices', payload: {} });
    await server.inject({ url: '/wp-login.php' });

    const text = await metrics.registry.metrics();
    const line = (name: string, labels: string) => new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1];
    const devices = 'route="/api/v1/devices/:id",method="GET"';
    expect(line('fleetpulse_http_requests_total', `${devices},status_class="2xx"`)).toBe('2');
    expect(line('fleetpulse_http_requests_total', `${devices},status_class="5xx"`)).toBe('1');
    expect(line('fleetpulse_http_requests_total', 'route="/api/v1/devices",method="POST",status_class="4xx"')).toBe(
      '1',
    );
    // An unknown URL does not become a series of its own.
    expect(line('fleetpulse_http_requests_total', `route="${UNMATCHED_ROUTE}",method="GET",status_class="4xx"`)).toBe(
      '1',
    );
    expect(text).not.toContain('t-1');
    expect(line('fleetpulse_http_request_duration_seconds_count', `${devices},status_class="2xx"`)).toBe('2');
    expect(
      Number(line('fleetpulse_http_request_duration_seconds_sum', `${devices},status_class="2xx"`)),
    ).toBeGreaterThan(0);

    const points = await metrics.points(1_000);
    const tags = { host: 'api-1', route: '/api/v1/devices/:id', method: 'GET', status_class: '5xx' };
    expect(points).toContainEqual({
      measurement: 'fleetpulse_http_requests_total',
      tags,
      fields: { value: 1 },
      time: 1_000,
    });
    expect(points).toContainEqual(
      expect.objectContaining({ measurement: 'fleetpulse_http_request_duration_seconds', tags, fields: { count: 1 } }),
    );
  });
});
