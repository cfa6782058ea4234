import { describe, expect, it } from 'vitest';
import { countEvents, seqsIn } from '../../bench/sockets.js';

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
});
