import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogOptions } from './logger.ts';

/** What a logger made by `createLogger` writes into a stream that is (or is not) a terminal. */
function written(options: LogOptions, isTTY: boolean): string {
  let text = '';
  const out = Object.assign(
    new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    }),
    { isTTY },
  );
  const log = createLogger(options, out);
  log.info({ device: 'TC-1' }, 'device connected');
  log.debug('not at info');
  log.flush();
  return text;
}

describe('createLogger', () => {
  it('writes one JSON object per line for json', () => {
    const lines = written({ level: 'info', format: 'json' }, true).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, device: 'TC-1', msg: 'device connected' });
  });

  it('writes a readable line for pretty: time, level, message, then the fields', () => {
    const text = written({ level: 'info', format: 'pretty' }, false);
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: device connected\n\s+device: "TC-1"\n$/);
    expect(text).not.toContain('{"level"');
  });

  it('chooses pretty on a terminal and json otherwise for auto', () => {
    expect(written({ level: 'info', format: 'auto' }, true)).toMatch(/INFO.*device connected/);
    expect(JSON.parse(written({ level: 'info', format: 'auto' }, false))).toMatchObject({ msg: 'device connected' });
  });
});
