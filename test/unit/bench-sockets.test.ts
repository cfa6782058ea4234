import { describe, expect, it } from 'vitest';
import { countEvents, seqsIn, subOf } from '../../bench/sockets.js';

describe('benchmark frame counting', () => {
  const frame = '{"push":"events","sub":"s1","events":[{"rev":7,"key":"k/1","value":{"seq":41}},{"rev":8,"key":"k/2","value":{"seq":42}}]}';

  it('counts the events of an events frame, as text or bytes, and nothing in other frames', () => {
    expect(countEvents(frame)).toBe(2);
    expect(countEvents(Buffer.from(frame))).toBe(2);
    expect(countEvents('{"push":"progress","sub":"s1","rev":9}')).toBe(0);
    expect(countEvents(Buffer.from('{"id":1,"ok":true,"result":{"rev":3}}'))).toBe(0);
  });

  it('reads the seq numbers the benchmark writes', () => {
    expect(seqsIn(frame)).toEqual([41, 42]);
    expect(seqsIn('{"id":1,"ok":true,"result":{"seq":1}}')).toEqual([]);
  });

  it('reads which subscription an events frame is for, and nothing of other frames', () => {
    expect(subOf(Buffer.from(frame))).toBe('s1');
    expect(subOf(Buffer.from('{"push":"events","sub":"s1042","events":[]}'))).toBe('s1042');
    expect(subOf(Buffer.from('{"push":"progress","sub":"s1","rev":9}'))).toBe('');
    expect(subOf(Buffer.from('{"id":1,"ok":true,"result":{"sub":"s3"}}'))).toBe('');
  });
});
