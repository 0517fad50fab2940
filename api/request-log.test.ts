import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { logRequests } from './request-log.ts';

/** A Fastify app logging at `level` into an array of parsed lines, as serve sets it up. */
function appWithLog(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const out = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const loggerInstance: FastifyBaseLogger = pino({ level }, out);
  const app = Fastify({ loggerInstance, disableRequestLogging: true });
  logRequests(app);
  app.get('/healthz', { config: { quietLog: true } }, async (request, reply) =>
    (request.query as { down?: string }).down ? reply.code(503).send({ status: 'degraded' }) : { status: 'ok' },
  );
  app.get('/api/v1/devices', async () => ({ items: [] }));
  return { app, lines };
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => close?.());

describe('request log', () => {
  it('writes one line per request, at info, with method, url, status and time', async () => {
    const { app, lines } = appWithLog('info');
    close = () => app.close();
    expect((await app.inject({ url: '/api/v1/devices' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/nowhere' })).statusCode).toBe(404);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 30,
      method: 'GET',
      url: '/api/v1/devices',
      statusCode: 200,
      msg: expect.stringMatching(/^GET \/api\/v1\/devices 200 [\d.]+ ms$/),
    });
    expect(lines[0].responseTimeMs).toBeTypeOf('number');
    expect(lines[1]).toMatchObject({ level: 30, url: '/nowhere', statusCode: 404 });
  });

  it('logs the successes of a quiet route at debug only, and its failures at info', async () => {
    const info = appWithLog('info');
    close = () => info.app.close();
    await info.app.inject({ url: '/healthz' });
    expect(info.lines).toEqual([]);
    await info.app.inject({ url: '/healthz?down=1' });
    expect(info.lines).toEqual([expect.objectContaining({ level: 30, statusCode: 503 })]);

    const debug = appWithLog('debug');
    await debug.app.inject({ url: '/healthz' });
    await debug.app.close();
    expect(debug.lines).toEqual([expect.objectContaining({ level: 20, url: '/healthz', statusCode: 200 })]);
  });
});
