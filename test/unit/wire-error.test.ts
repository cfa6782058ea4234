import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { toWireError } from '../../server/gateway/dispatch.js';

const log = pino({ level: 'silent' });

describe('toWireError', () => {
  it('keeps protocol errors as they are', () => {
    const err = new BlackboardError(ErrorCode.CONFLICT, 'version moved');
    expect(toWireError(err, { redisReady: () => true, log })).toBe(err);
  });

  it('answers UNAVAILABLE while Redis is down, and when the connection dropped under the command', () => {
    expect(toWireError(new Error('anything'), { redisReady: () => false, log }).code).toBe(ErrorCode.UNAVAILABLE);
    for (const message of ["Stream isn't writeable and enableOfflineQueue options is false", 'Connection is closed.', 'read ECONNRESET']) {
      expect(toWireError(new Error(message), { redisReady: () => true, log }).code).toBe(ErrorCode.UNAVAILABLE);
    }
  });

  it('answers INTERNAL for anything else, without the message', () => {
    const wire = toWireError(new TypeError('x is undefined'), { redisReady: () => true, log });
    expect(wire.code).toBe(ErrorCode.INTERNAL);
    expect(wire.message).not.toContain('undefined');
  });
});
