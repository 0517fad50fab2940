import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { Type, type Static } from 'typebox';

/** The `log` section of serve's and the agent's configuration. */
export const LogOptions = Type.Object(
  {
    level: Type.Union(
      [
        Type.Literal('fatal'),
        Type.Literal('error'),
        Type.Literal('warn'),
        Type.Literal('info'),
        Type.Literal('debug'),
        Type.Literal('trace'),
        Type.Literal('silent'),
      ],
      {
        default: 'info',
        description: 'Least severe level written; requests to /healthz, /metrics and device webhooks succeed at debug',
      },
    ),
    format: Type.Union([Type.Literal('auto'), Type.Literal('pretty'), Type.Literal('json')], {
      default: 'auto',
      description:
        'pretty: one readable line per entry (pino-pretty); json: one JSON object per line, for a log shipper; auto: pretty when stdout is a terminal, else json',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type LogOptions = Static<typeof LogOptions>;

/** The process's logger, on stdout; `out` is for tests. */
export function createLogger(
  options: LogOptions,
  out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): Logger {
  const format = options.format === 'auto' ? (out.isTTY ? 'pretty' : 'json') : options.format;
  if (format === 'json')
    return out === process.stdout ? pino({ level: options.level }) : pino({ level: options.level }, out);
  // Synchronous, so that a fatal line is out before the process exits.
  return pino(
    { level: options.level },
    pretty({
      destination: out,
      sync: true,
      colorize: out.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    }),
  );
}
