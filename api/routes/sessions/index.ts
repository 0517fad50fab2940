import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SessionScheduler } from '../../../collector/operations/sessions/session-scheduler.ts';
import { auditNote } from '../../audit.ts';
import { apiErrors } from '../../errors.ts';
import {
  SessionExtend,
  SessionIdParams,
  SessionJson,
  sessionJson,
  SessionList,
  SessionListQuery,
  SessionStart,
} from './schemas.ts';

const tags = ['sessions'];

/**
 * Timed sessions on stations: `/sessions` (start, list), `/sessions/:id` (one),
 * `/sessions/:id/extend`, `/sessions/:id/stop`. The API plugin mounts them with the other
 * operations routes (so its auth, roles and audit apply): `{ scheduler: operations.sessions }`.
 */
const sessions: FastifyPluginAsyncTypebox<{ scheduler: SessionScheduler }> = async (app, { scheduler }) => {
  app.post(
    '/sessions',
    {
      schema: { tags, summary: 'Start a session on a station', body: SessionStart, response: { 201: SessionJson } },
      config: { minRole: 'operator', action: 'sessions.start' },
    },
    async (request, reply) => {
      const { station, minutes, action, plug } = request.body;
      const s = await scheduler.begin(station, minutes, { action, plug });
      auditNote(request, { target: s.id, details: { station, minutes, action } });
      return reply.status(201).header('location', `${request.url}/${s.id}`).send(sessionJson(s));
    },
  );

  app.get(
    '/sessions',
    {
      schema: {
        tags,
        summary: 'List sessions, newest first',
        querystring: SessionListQuery,
        response: { 200: SessionList },
      },
      config: { minRole: 'viewer' },
    },
    async (request) => ({ items: scheduler.list(request.query).map((s) => sessionJson(s)) }),
  );

  app.get(
    '/sessions/:id',
    {
      schema: { tags, summary: 'One session', params: SessionIdParams, response: { 200: SessionJson } },
      config: { minRole: 'viewer' },
    },
    async (request) => {
      const s = scheduler.get(request.params.id);
      if (!s) throw apiErrors.notFound(`no session ${request.params.id}`);
      return sessionJson(s);
    },
  );

  app.post(
    '/sessions/:id/extend',
    {
      schema: {
        tags,
        summary: 'Add minutes to an active session',
        params: SessionIdParams,
        body: SessionExtend,
        response: { 200: SessionJson },
      },
      config: { minRole: 'operator', action: 'sessions.extend' },
    },
    async (request) => {
      const s = await scheduler.extend(request.params.id, request.body.minutes);
      auditNote(request, { target: s.id, details: { minutes: request.body.minutes } });
      return sessionJson(s);
    },
  );

  app.post(
    '/sessions/:id/stop',
    {
      schema: {
        tags,
        summary: 'End an active session now (nothing is enforced)',
        params: SessionIdParams,
        response: { 200: SessionJson },
      },
      config: { minRole: 'operator', action: 'sessions.stop' },
    },
    async (request) => {
      const s = await scheduler.end(request.params.id);
      auditNote(request, { target: s.id });
      return sessionJson(s);
    },
  );
};

export default sessions;
