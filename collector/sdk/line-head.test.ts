import { describe, expect, it } from 'vitest';
import { MalformedLine, parseLineHead } from './line-head.ts';

describe('parseLineHead', () => {
  it('parses escaped measurement and tags and keeps fields and timestamp as text', () => {
    expect(parseLineHead('cpu\\ load,host=a\\,b,site=x\\ y usage=1.5,s="a b" 1700000000000000000')).toEqual({
      measurement: 'cpu load',
      tags: { host: 'a,b', site: 'x y' },
      text: 'cpu\\ load,host=a\\,b,site=x\\ y',
      rest: 'usage=1.5,s="a b" 1700000000000000000',
      time: '1700000000000000000',
    });
  });

  it('keeps a tag named __proto__ as a tag', () => {
    const head = parseLineHead('m,__proto__=v,device=d f=1i');
    expect(Object.keys(head.tags)).toEqual(['__proto__', 'device']);
    expect(head.tags['__proto__']).toBe('v');
    expect(Object.getPrototypeOf(head.tags)).toBe(Object.prototype);
  });

  it.each([
    ['', 'empty line'],
    [' f=1', 'no measurement'],
    ['m,=v f=1', 'bad tag'],
    ['m,t= f=1', 'tag "t" has no value'],
    ['m,t=v', 'no field set'],
    ['m f=1 12x', 'bad timestamp "12x"'],
  ])('refuses %j: %s', (line, message) => {
    expect(() => parseLineHead(line)).toThrow(MalformedLine);
    expect(() => parseLineHead(line)).toThrow(message);
  });
});
