import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';

describe('loadConfig', () => {
  it('gives every default when the environment is empty (a bare environment starts a node)', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.HOST).toBe('0.0.0.0');
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.AUTH_MODE).toBe('none');
    expect(config.MAX_FRAME_BYTES).toBe(1024 * 1024);
    expect(config.NODE_ID).toBeUndefined();
  });

  it('coerces strings from the environment, treats empty as unset, ignores unknown variables', () => {
    const config = loadConfig({ PORT: '9090', HEARTBEAT_MS: '250', LOG_LEVEL: 'debug', HOST: '', SOMETHING_ELSE: 'x' });
    expect(config.PORT).toBe(9090);
    expect(config.HEARTBEAT_MS).toBe(250);
    expect(config.LOG_LEVEL).toBe('debug');
    expect(config.HOST).toBe('0.0.0.0');
    expect(config).not.toHaveProperty('SOMETHING_ELSE');
  });

  it('is frozen', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { PORT: number }).PORT = 1;
    }).toThrow(TypeError);
  });

  it('rejects bad values with one readable error naming each bad variable', () => {
    const attempt = () => loadConfig({ PORT: 'eighty', MAX_JSON_DEPTH: '1', AUTH_MODE: 'maybe', REDIS_URL: 'not a url' });
    expect(attempt).toThrow(/^invalid configuration: /);
    let message = '';
    try {
      attempt();
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of ['PORT', 'MAX_JSON_DEPTH', 'AUTH_MODE', 'REDIS_URL']) expect(message).toContain(`${name}: `);
    expect(message).not.toContain('\n');
    expect(() => loadConfig({ PORT: '65536' })).toThrow(/PORT: .*65535/);
    expect(() => loadConfig({ PORT: '80.5' })).toThrow(/PORT: /);
  });

  it('keeps a revision below the outbound bound: MAX_REVISION_BYTES defaults to 4 MiB or half of MAX_OUTBOUND_BYTES', () => {
    expect(loadConfig({}).MAX_REVISION_BYTES).toBe(4 * 1024 * 1024);
    expect(loadConfig({ MAX_OUTBOUND_BYTES: String(1024 * 1024) }).MAX_REVISION_BYTES).toBe(512 * 1024);
    expect(loadConfig({ MAX_REVISION_BYTES: '100000' }).MAX_REVISION_BYTES).toBe(100_000);
    expect(() => loadConfig({ MAX_OUTBOUND_BYTES: '65536', MAX_REVISION_BYTES: '65536' })).toThrow(/MAX_REVISION_BYTES: .*MAX_OUTBOUND_BYTES/);
    expect(loadConfig({}).MAX_REPLY_BYTES).toBe(1024 * 1024);
    // A reply may pass its bound by one revision: both must fit the outbound bound together.
    expect(loadConfig({ MAX_OUTBOUND_BYTES: String(256 * 1024) }).MAX_REPLY_BYTES).toBe(32 * 1024);
    expect(() => loadConfig({ MAX_REPLY_BYTES: String(6 * 1024 * 1024) })).toThrow(/MAX_REPLY_BYTES: .*MAX_OUTBOUND_BYTES/);
  });
});
