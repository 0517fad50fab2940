import { Type } from 'typebox';

export const BackupBody = Type.Object(
  {
    name: Type.String({ description: 'Folder name under backup.dir: fleetpulse-<UTC time>' }),
    at: Type.String({ format: 'date-time', description: 'When the backup started' }),
    influx: Type.String({ description: '`included`, or why InfluxDB is not in this backup' }),
  },
  { additionalProperties: false },
);

export const BackupList = Type.Object(
  {
    items: Type.Array(BackupBody, { description: 'Complete backups, newest first' }),
    next_cursor: Type.Null({ description: 'Always null: backup.keep bounds the list' }),
    next_backup_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'The next scheduled backup (null: backup.schedule off)',
    }),
  },
  { additionalProperties: false },
);
