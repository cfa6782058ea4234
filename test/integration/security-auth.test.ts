import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWTPayload } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../server/app.js';
import { mintToken } from '../../server/security/mint.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { CheckedWebSocket, randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const SECRET = randomBytes(32).toString('hex');

/** Opens a WebSocket and reports the HTTP status of a refused upgrade, or 'open'. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<number | 'open'> {
  return new Promise((resolve, reject) => {
    const ws = new CheckedWebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once('error', (err) => {
      if (!String(err.message).includes('Unexpected server response')) reject(err);
    });
  });
}

/** A token with exactly these claims, signed with the server's secret. */
const signed = (claims: JWTPayload) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

const hs = (sub: string, scope: string, ttlSeconds = 600, extra: { now?: number; issuer?: string; audience?: string } = {}) =>
  mintToken({ sub, scope, ttlSeconds, secret: SECRET, ...extra });

describe('JWT authentication at the upgrade', () => {
  let server: TestServer;
  const lines: string[] = [];

  beforeAll(async () => {
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    server = await startTestServer({ logger, env: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_AUDIENCE: 'blackboard' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('without a valid token the upgrade is refused with 401 and nothing is logged as a connection', async () => {
    const url = server.wsUrl;
    const now = Math.floor(Date.now() / 1000);
    const aud = { audience: 'blackboard' };
    const other = await mintToken({ sub: 'a', scope: 'read:x', ttlSeconds: 60, secret: 'x'.repeat(40), audience: 'blackboard' });
    const exp = now + 600;
    const unsecured = new UnsecuredJWT({ scope: 'admin:*' }).setSubject('a').setAudience('blackboard').setExpirationTime('1h').encode();
    const refused: Array<[string, string, Record<string, string>]> = [
      ['no token', url, {}],
      ['empty query token', `${url}?access_token=`, {}],
      ['garbage', `${url}?access_token=not.a.jwt`, {}],
      ['not Bearer', url, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      ['other secret', `${url}?access_token=${other}`, {}],
      ['expired', `${url}?access_token=${await hs('a', 'read:x', 60, { now: now - 120, ...aud })}`, {}],
      ['not yet valid', `${url}?access_token=${await signed({ sub: 'a', aud: 'blackboard', exp, nbf: now + 300 })}`, {}],
      ['other audience', `${url}?access_token=${await hs('a', 'read:x', 60, { audience: 'elsewhere' })}`, {}],
      ['no audience', `${url}?access_token=${await hs('a', 'read:x', 60)}`, {}],
      ['no exp', `${url}?access_token=${await signed({ sub: 'a', aud: 'blackboard', scope: 'read:x' })}`, {}],
      ['no sub', `${url}?access_token=${await signed({ aud: 'blackboard', exp, scope: 'read:x' })}`, {}],
      ['alg none', `${url}?access_token=${unsecured}`, {}],
      ['bad sub', `${url}?access_token=${await signed({ sub: 'a b', aud: 'blackboard', exp })}`, {}],
      ['malformed scope', `${url}?access_token=${await signed({ sub: 'a', aud: 'blackboard', exp, scope: 'read:Bad' })}`, {}],
      ['scope not text', `${url}?access_token=${await signed({ sub: 'a', aud: 'blackboard', exp, scope: { read: 'x' } })}`, {}],
    ];
    for (const [what, target, headers] of refused) expect([what, await upgrade(target, headers)]).toEqual([what, 401]);
    expect(server.services.sessions.size).toBe(0);
    expect(lines.filter((l) => l.includes('connection opened'))).toEqual([]);

    // The same server does take a good token, by header or by query, and logs that connection.
    const good = await hs('agent-1', 'read:x', 60, aud);
    expect(await upgrade(url, { authorization: `Bearer ${good}` })).toBe('open');
    expect(await upgrade(`${url}?access_token=${good}`)).toBe('open');
    await waitFor(() => lines.filter((l) => l.includes('connection opened')).length === 2, 5_000, 'two logged connections');
    expect(lines.some((l) => l.includes(good))).toBe(false);
  });

  it('sub is the agent id: writes record it as the actor', async () => {
    const board = randomBoard('sa');
    const token = await hs('planner-7', `read:${board} write:${board}`, 60, { audience: 'blackboard' });
    const raw = await RawSocket.open(server.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    expect((await raw.call('put', { board, key: 'k', value: 1 })).ok).toBe(true);
    const history = await raw.call('history', { board, key: 'k' });
    const events = (history.result as { events: Array<{ actor: string }> }).events;
    expect(events.map((e) => e.actor)).toEqual(['planner-7']);
    raw.close();
  });

  it("an expired token's socket is closed with 1008 at exp", async () => {
    const board = randomBoard('sa');
    const now = Math.floor(Date.now() / 1000);
    const token = await hs('short-lived', `read:${board}`, 2, { now, audience: 'blackboard' });
    const expMs = (now + 2) * 1000;
    const raw = await RawSocket.open(`${server.wsUrl}?access_token=${token}`);
    expect((await raw.call('list', { board, prefix: '' })).ok).toBe(true);
    const code = await raw.waitClose(5_000);
    const closedAt = Date.now();
    expect(code).toBe(1008);
    expect(closedAt).toBeGreaterThanOrEqual(expMs - 5);
    expect(closedAt).toBeLessThan(expMs + 1_000);
  });
});

describe('public keys', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bb-keys-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a PEM public key verifies RS256 tokens, and cannot be used as an HMAC secret', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    const file = join(dir, 'rsa.pem');
    writeFileSync(file, pem);
    await using server = await startTestServer({ env: { AUTH_MODE: 'jwt', JWT_PUBLIC_KEY_FILE: file, JWT_ISSUER: 'issuer-1' } });
    const privatePem = await exportPKCS8(privateKey);
    const good = await mintToken({ sub: 'a', scope: 'read:x', ttlSeconds: 60, privateKeyPem: privatePem, alg: 'RS256', issuer: 'issuer-1' });
    const wrongIssuer = await mintToken({ sub: 'a', scope: 'read:x', ttlSeconds: 60, privateKeyPem: privatePem, alg: 'RS256', issuer: 'x' });
    // The classic confusion: HS256 signed with the public key's PEM text as the secret.
    const confused = await mintToken({ sub: 'a', scope: 'admin:*', ttlSeconds: 60, secret: pem, issuer: 'issuer-1' });
    expect(await upgrade(`${server.wsUrl}?access_token=${good}`)).toBe('open');
    expect(await upgrade(`${server.wsUrl}?access_token=${wrongIssuer}`)).toBe(401);
    expect(await upgrade(`${server.wsUrl}?access_token=${confused}`)).toBe(401);
  });

  it('a JWKS file verifies ES256 tokens by kid', async () => {
    const one = await generateKeyPair('ES256', { extractable: true });
    const two = await generateKeyPair('ES256', { extractable: true });
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(one.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
    await using server = await startTestServer({ env: { AUTH_MODE: 'jwt', JWT_JWKS_FILE: file } });
    const sign = async (key: CryptoKey, kid: string) =>
      mintToken({ sub: 'a', scope: 'read:x', ttlSeconds: 60, privateKeyPem: await exportPKCS8(key), alg: 'ES256', kid });
    expect(await upgrade(`${server.wsUrl}?access_token=${await sign(one.privateKey, 'k1')}`)).toBe('open');
    expect(await upgrade(`${server.wsUrl}?access_token=${await sign(two.privateKey, 'k1')}`)).toBe(401);
    expect(await upgrade(`${server.wsUrl}?access_token=${await sign(two.privateKey, 'k2')}`)).toBe(401);
  });

  it('a JWT set-up that cannot work stops the node at start with one line', async () => {
    const env = { PORT: '0', HOST: '127.0.0.1', AUTH_MODE: 'jwt' };
    const silent = pino({ level: 'silent' });
    await expect(startApp({ logger: silent, env })).rejects.toThrow(/invalid configuration: AUTH_MODE=jwt needs exactly one/);
    await expect(startApp({ logger: silent, env: { ...env, JWT_PUBLIC_KEY_FILE: join(dir, 'missing.pem') } })).rejects.toThrow(
      /invalid configuration: JWT_PUBLIC_KEY_FILE .* cannot be read/,
    );
    await expect(startApp({ logger: silent, env: { ...env, JWT_SECRET: 'short' } })).rejects.toThrow(/invalid configuration: JWT_SECRET/);
  });
});

describe('origins', () => {
  it('with JWT, browsers from another host are refused with 403; clients without Origin are not', async () => {
    await using server = await startTestServer({ env: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET } });
    const token = await hs('a', 'read:x');
    const url = `${server.wsUrl}?access_token=${token}`;
    expect(await upgrade(url, { origin: 'http://evil.example' })).toBe(403);
    expect(await upgrade(`${server.wsUrl}`, { origin: 'http://evil.example' })).toBe(403);
    expect(await upgrade(url, { origin: 'null' })).toBe(403);
    expect(await upgrade(url, { origin: `http://127.0.0.1:${server.port}` })).toBe('open');
    expect(await upgrade(url)).toBe('open');
  });

  it('ALLOWED_ORIGINS lists exact origins; AUTH_MODE=none allows any by default', async () => {
    await using listed = await startTestServer({ env: { ALLOWED_ORIGINS: 'https://app.example, same-host' } });
    expect(await upgrade(listed.wsUrl, { origin: 'https://app.example' })).toBe('open');
    expect(await upgrade(listed.wsUrl, { origin: 'https://APP.example:443' })).toBe('open');
    expect(await upgrade(listed.wsUrl, { origin: `http://127.0.0.1:${listed.port}` })).toBe('open');
    expect(await upgrade(listed.wsUrl, { origin: 'https://app.example.evil' })).toBe(403);
    await using open = await startTestServer();
    expect(await upgrade(open.wsUrl, { origin: 'http://anything.example' })).toBe('open');
  });
});

describe('connection limits and handshake time', () => {
  it('an agent over MAX_CONNECTIONS_PER_AGENT is refused with 429 until one of its connections closes', async () => {
    await using server = await startTestServer({ env: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET, MAX_CONNECTIONS_PER_AGENT: '2' } });
    const url = (sub: string) => hs(sub, 'read:x').then((t) => `${server.wsUrl}?access_token=${t}`);
    const first = await RawSocket.open(await url('busy'));
    const second = await RawSocket.open(await url('busy'));
    expect(await upgrade(await url('busy'))).toBe(429);
    expect(await upgrade(await url('someone-else'))).toBe('open');
    first.close();
    await first.waitClose();
    await waitFor(async () => (await upgrade(await url('busy'))) === 'open', 5_000, 'a freed slot');
    second.close();
  });

  it('a TCP connection that sends nothing, or only part of its request head, is closed after HANDSHAKE_TIMEOUT_MS', async () => {
    await using server = await startTestServer({ env: { HANDSHAKE_TIMEOUT_MS: '500' } });
    const closedAfter = (payload: string) =>
      new Promise<number>((resolve) => {
        const started = Date.now();
        const socket = connect(server.port, '127.0.0.1', () => {
          if (payload) socket.write(payload);
        });
        socket.on('data', () => undefined);
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(Date.now() - started));
      });
    const [idle, partial] = await Promise.all([closedAfter(''), closedAfter('GET /v1/ws HTTP/1.1\r\nHost: x\r\n')]);
    for (const ms of [idle, partial]) {
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(3_000);
    }
  });

  it('authentication that does not finish within HANDSHAKE_TIMEOUT_MS is refused with 503', async () => {
    await using server = await startTestServer({
      env: { HANDSHAKE_TIMEOUT_MS: '300' },
      authenticator: { authenticate: () => new Promise(() => undefined) },
    });
    const started = Date.now();
    expect(await upgrade(server.wsUrl)).toBe(503);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(server.services.sessions.size).toBe(0);
  });
});
