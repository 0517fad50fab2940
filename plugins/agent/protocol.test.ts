import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, parseAgentMessage, UplinkProtocolError, type AgentMessage, type AnnouncedDevice } from './protocol.ts';

const MAX = 10_000;

/** Frames as the real agent sends them (recorded from `fleetpulse agent` against `serve`). */
const RECORDED = {
  devices:
    '{"t":"devices","devices":[{"id":"store-1-pc","kind":"pc","commands":{"reboot":{"description":"Reboots the PC (runs reboot_command)","params":{"type":"object","properties":{},"additionalProperties":false},"timeout_s":30}}},' +
    '{"id":"TC2-0001","kind":"terminal","model":"TC-200","firmware":"2.4.1","commands":{}}]}',
  batch:
    '{"t":"batch","id":7,"lines":["host_system,device=store-1-pc uptime_s=1127i 1700000000000","fleetpulse_spool_points,host=store-1-pc value=0 1700000000000"]}',
  result:
    '{"t":"result","id":"c-42","status":"succeeded","result":{"exit_code":0,"output":"disk ok\\n","truncated":false}}',
  failed: '{"t":"result","id":"c-43","status":"failed","error":"reboot_command exited with 1"}',
};

describe('recorded frames', () => {
  it('parses the device list with each device’s commands', () => {
    const m = parseAgentMessage(RECORDED.devices, MAX);
    expect(m).toEqual({
      t: 'devices',
      devices: [
        {
          id: 'store-1-pc',
          kind: 'pc',
          model: undefined,
          firmware: undefined,
          commands: {
            reboot: {
              description: 'Reboots the PC (runs reboot_command)',
              params: { type: 'object', properties: {}, additionalProperties: false },
              timeout_s: 30,
            },
          },
        },
        { id: 'TC2-0001', kind: 'terminal', model: 'TC-200', firmware: '2.4.1', commands: {} },
      ],
    });
  });

  it('keeps a command named __proto__ as a command', () => {
    const m = parseAgentMessage(
      '{"t":"devices","devices":[{"id":"d","kind":"pc","commands":{"__proto__":{"params":{}}}}]}',
      MAX,
    );
    const commands = (m as Extract<AgentMessage, { t: 'devices' }>).devices[0].commands;
    expect(Object.keys(commands)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(commands)).toBe(Object.prototype);
  });

  it('parses a batch, keeping every line byte for byte', () => {
    expect(parseAgentMessage(RECORDED.batch, MAX)).toEqual({
      t: 'batch',
      id: 7,
      lines: [
        'host_system,device=store-1-pc uptime_s=1127i 1700000000000',
        'fleetpulse_spool_points,host=store-1-pc value=0 1700000000000',
      ],
    });
  });

  it('parses command results, succeeded and failed', () => {
    expect(parseAgentMessage(RECORDED.result, MAX)).toEqual({
      t: 'result',
      id: 'c-42',
      status: 'succeeded',
      result: { exit_code: 0, output: 'disk ok\n', truncated: false },
      error: undefined,
    });
    expect(parseAgentMessage(RECORDED.failed, MAX)).toMatchObject({
      t: 'result',
      id: 'c-43',
      status: 'failed',
      error: 'reboot_command exited with 1',
    });
  });

  it('encodes the server’s frames as the agent reads them', () => {
    expect(encode({ t: 'ack', id: 7, accepted: 2, refused: 0 })).toBe('{"t":"ack","id":7,"accepted":2,"refused":0}');
    expect(encode({ t: 'command', id: 'c-42', device: 'store-1-pc', name: 'diagnostics', params: {} })).toBe(
      '{"t":"command","id":"c-42","device":"store-1-pc","name":"diagnostics","params":{}}',
    );
  });
});

describe('malformed frames: each gets its own message', () => {
  const cases: Array<[string, string, number?]> = [
    ['{not json', 'frame is not JSON'],
    ['', 'frame is not JSON'],
    ['[1,2]', 'frame is not a JSON object'],
    ['null', 'frame is not a JSON object'],
    ['"batch"', 'frame is not a JSON object'],
    ['{"lines":[]}', 'unknown message type undefined'],
    ['{"t":"hello"}', 'unknown message type "hello"'],
    ['{"t":"batch","id":"7","lines":[]}', 'batch: "id" must be an integer'],
    ['{"t":"batch","id":1.5,"lines":[]}', 'batch: "id" must be an integer'],
    ['{"t":"batch","id":9007199254740993,"lines":[]}', 'batch: "id" must be an integer'],
    ['{"t":"batch","id":1}', 'batch: "lines" must be an array of strings'],
    ['{"t":"batch","id":1,"lines":["a",2]}', 'batch: "lines" must be an array of strings'],
    ['{"t":"batch","id":1,"lines":["a","b","c"]}', 'batch: 3 lines, at most 2 allowed', 2],
    ['{"t":"result","id":42,"status":"succeeded"}', 'result: "id" must be a string'],
    ['{"t":"result","id":"c","status":"done"}', 'result: unknown status "done"'],
    ['{"t":"result","id":"c"}', 'result: unknown status undefined'],
    ['{"t":"result","id":"c","status":"failed","error":{"code":1}}', 'result: "error" must be a string'],
    ['{"t":"devices","devices":{}}', 'devices: "devices" must be an array'],
    ['{"t":"devices","devices":[null]}', 'devices[0] must be an object'],
    ['{"t":"devices","devices":[{"id":"","kind":"pc","commands":{}}]}', 'devices[0].id must be a non-empty string'],
    [
      '{"t":"devices","devices":[{"id":"a","kind":"pc","commands":{}},{"id":"b","commands":{}}]}',
      'devices[1].kind must be a non-empty string',
    ],
    ['{"t":"devices","devices":[{"id":"a","kind":"pc","model":5,"commands":{}}]}', 'devices[0].model must be a string'],
    [
      '{"t":"devices","devices":[{"id":"a","kind":"pc","firmware":false,"commands":{}}]}',
      'devices[0].firmware must be a string',
    ],
    ['{"t":"devices","devices":[{"id":"a","kind":"pc"}]}', 'devices[0].commands must be an object'],
    [
      '{"t":"devices","devices":[{"id":"a","kind":"pc","commands":{"lock":{"description":"x"}}}]}',
      'devices[0].commands.lock.params must be a JSON Schema object',
    ],
    [
      '{"t":"devices","devices":[{"id":"a","kind":"pc","commands":{"lock":null}}]}',
      'devices[0].commands.lock.params must be a JSON Schema object',
    ],
    [
      '{"t":"devices","devices":[{"id":"a","kind":"pc","commands":{"lock":{"params":{},"timeout_s":0}}}]}',
      'devices[0].commands.lock.timeout_s must be a positive number',
    ],
    [
      '{"t":"devices","devices":[{"id":"a","kind":"pc","commands":{"lock":{"params":{},"timeout_s":"30"}}}]}',
      'devices[0].commands.lock.timeout_s must be a positive number',
    ],
  ];
  it.each(cases)('%s → %s', (frame, message, maxLines = MAX) => {
    const err = (() => {
      try {
        parseAgentMessage(frame, maxLines);
      } catch (e) {
        return e;
      }
      throw new Error('parsed without error');
    })();
    expect(err).toBeInstanceOf(UplinkProtocolError);
    expect((err as Error).message).toBe(message);
  });

  it('takes a batch of exactly the limit', () => {
    expect(parseAgentMessage('{"t":"batch","id":1,"lines":["a","b"]}', 2)).toMatchObject({ lines: ['a', 'b'] });
  });
});

describe('properties', () => {
  const text = fc.string({ minLength: 1, maxLength: 20 });
  const schema = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
  const device: fc.Arbitrary<AnnouncedDevice> = fc.record(
    {
      id: text,
      kind: text,
      model: text,
      firmware: text,
      commands: fc.dictionary(
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.record(
          { description: fc.string({ maxLength: 30 }), params: schema, timeout_s: fc.integer({ min: 1, max: 3600 }) },
          { requiredKeys: ['description', 'params'] },
        ),
        { maxKeys: 3 },
      ),
    },
    { requiredKeys: ['id', 'kind', 'commands'] },
  );
  const message: fc.Arbitrary<AgentMessage> = fc.oneof(
    fc.record({
      t: fc.constant('batch' as const),
      id: fc.maxSafeInteger(),
      lines: fc.array(fc.string({ maxLength: 60 }), { maxLength: 20 }),
    }),
    fc.record({ t: fc.constant('devices' as const), devices: fc.array(device, { maxLength: 4 }) }),
    fc.record(
      {
        t: fc.constant('result' as const),
        id: fc.string({ maxLength: 36 }),
        status: fc.constantFrom('succeeded', 'failed', 'rejected', 'timed_out', 'cancelled', 'expired'),
        result: fc.jsonValue({ maxDepth: 2 }),
        error: fc.string({ maxLength: 40 }),
      },
      { requiredKeys: ['t', 'id', 'status'] },
    ),
  );
  /** What JSON makes of a message: undefined keys vanish, -0 becomes 0. */
  const viaJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

  it('every valid frame round-trips through encode and parse', () => {
    fc.assert(
      fc.property(message, (m) => {
        const parsed = parseAgentMessage(encode(m), MAX);
        expect(viaJson(parsed)).toEqual(viaJson(m));
      }),
      { numRuns: 300 },
    );
  });

  it('garbage never throws anything but UplinkProtocolError', () => {
    const garbage = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      // Near misses: the right shapes with wrong values in them.
      fc
        .record(
          {
            t: fc.constantFrom('batch', 'result', 'devices', 'ack'),
            id: fc.jsonValue(),
            lines: fc.jsonValue(),
            status: fc.jsonValue(),
            devices: fc.jsonValue(),
            error: fc.jsonValue(),
          },
          { requiredKeys: ['t'] },
        )
        .map((v) => JSON.stringify(v)),
      fc
        .record({
          t: fc.constant('devices'),
          devices: fc.array(
            fc.dictionary(
              fc.constantFrom('id', 'kind', 'model', 'firmware', 'commands'),
              fc.jsonValue({ maxDepth: 3 }),
            ),
          ),
        })
        .map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(garbage, fc.integer({ min: 1, max: 5 }), (frame, maxLines) => {
        try {
          parseAgentMessage(frame, maxLines);
        } catch (err) {
          expect(err).toBeInstanceOf(UplinkProtocolError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
