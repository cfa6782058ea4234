import { ReplyError } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { toWireError } from '../../server/gateway/dispatch.js';
import { connectionFailed, redisErrorCode } from '../../server/redis.js';

const log = pino({ level: 'silent' });
const ready = { status: 'ready' as const, stream: { writable: true } };
const services = (redis: Parameters<typeof connectionFailed>[1] = ready) => ({
  redisReady: () => redis.status === 'ready',
  redisConnectionFailed: (err: unknown) => connectionFailed(err, redis),
  log,
});

function systemError(code: string): Error {
  return Object.assign(new Error(`read ${code}`), { code });
}

describe('toWireError', () => {
  it('keeps protocol errors as they are', () => {
    const err = new BlackboardError(ErrorCode.CONFLICT, 'version moved');
    expect(toWireError(err, services())).toBe(err);
  });

  it('answers UNAVAILABLE while Redis is down, and when the connection failed under the command', () => {
    expect(toWireError(new Error('anything'), services({ status: 'reconnecting' })).code).toBe(ErrorCode.UNAVAILABLE);
    // Ready by status, but its socket no longer takes writes (the close is on its way).
    expect(toWireError(new Error('anything'), services({ status: 'ready', stream: { writable: false } })).code).toBe(ErrorCode.UNAVAILABLE);
    expect(toWireError(systemError('ECONNRESET'), services()).code).toBe(ErrorCode.UNAVAILABLE);
    class MaxRetriesPerRequestError extends Error {
      override name = 'MaxRetriesPerRequestError';
    }
    expect(toWireError(new MaxRetriesPerRequestError('gave up'), services()).code).toBe(ErrorCode.UNAVAILABLE);
  });

  it('answers INTERNAL for anything else, without the message; a message alone decides nothing', () => {
    const wire = toWireError(new TypeError('x is undefined'), services());
    expect(wire.code).toBe(ErrorCode.INTERNAL);
    expect(wire.message).not.toContain('undefined');
    expect(toWireError(new Error('Connection is closed.'), services()).code).toBe(ErrorCode.INTERNAL);
    expect(toWireError(new ReplyError('ERR Error running script'), services()).code).toBe(ErrorCode.INTERNAL);
  });
});

describe('redisErrorCode', () => {
  it('is the first word of a Redis error reply, null for other errors', () => {
    expect(redisErrorCode(new ReplyError("NOGROUP No such key 'b' or consumer group 'g'"))).toBe('NOGROUP');
    expect(redisErrorCode(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe('WRONGTYPE');
    expect(redisErrorCode(new Error('NOGROUP lookalike'))).toBeNull();
  });
});
