import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Backups, Generation } from '../../../collector/operations/backups.ts';
import { ApiError } from '../../errors.ts';
import { BackupBody, BackupList } from './schemas.ts';

const tags = ['backups'];

export interface BackupRoutesOptions {
  backups: Backups;
  /** Epoch ms of the next scheduled backup, if one is scheduled. */
  nextBackupAt: () => number | undefined;
}

const body = (g: Generation) => ({
  name: g.name,
  at: new Date(g.at).toISOString(),
  influx: 'skipped' in g.influx ? g.influx.skipped : 'included',
});

/** `GET /backups` lists the backups serve keeps; `POST /backups` takes one now (admin). */
const backupRoutes: FastifyPluginAsyncTypebox<BackupRoutesOptions> = async (app, { backups, nextBackupAt }) => {
  app.get(
    '/backups',
    {
      schema: { tags, summary: 'Backups kept in backup.dir, newest first', response: { 200: BackupList } },
      config: { minRole: 'admin' },
    },
    async () => {
      const next = nextBackupAt();
      return {
        items: backups.list().map(body),
        next_cursor: null,
        next_backup_at: next === undefined ? null : new Date(next).toISOString(),
      };
    },
  );
  app.post(
    '/backups',
    {
      schema: { tags, summary: 'Back up the inventory and InfluxDB now', response: { 201: BackupBody } },
      config: { minRole: 'admin', action: 'backups.create' },
    },
    async (_request, reply) => {
      try {
        return reply.code(201).send(body(await backups.take()));
      } catch (err) {
        throw new ApiError('FP_UPSTREAM', `backup failed: ${(err as Error).message}`);
      }
    },
  );
};

export default backupRoutes;
