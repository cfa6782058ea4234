import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../server/security/mint.js';
import type { KeyRecord } from '../../client/sdk/index.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Snapshots read what the token may read, in bounded pages: a token that reads a small
 * part of a big board pays for that part, not for the board.
 */

const SECRET = randomBytes(32).toString('hex');
const TOTAL = 50_000;
const READABLE = 300;
const PER_TXN = 1_000;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET } });
});
afterAll(async () => {
  await server?.stop();
});

async function as(sub: string, scope: string): Promise<RawSocket> {
  const token = await mintToken({ sub, scope, ttlSeconds: 600, secret: SECRET });
  return RawSocket.open(server.wsUrl, { headers: { authorization: `Bearer ${token}` } });
}

describe('snapshots by read scope', () => {
  it('a token reading only x/ on a 50k-key board: subscribe ["*"] and ["**"] with snapshot read no more keys than it may read', async () => {
    const board = randomBoard();
    const admin = await as('admin', `admin:${board}`);
    // 50,000 keys, 300 of them under x/, written a thousand per revision.
    const keys = [
      ...Array.from({ length: READABLE }, (_, i) => `x/${String(i).padStart(4, '0')}`),
      ...Array.from({ length: TOTAL - READABLE }, (_, i) => `${i % 2 === 0 ? 'a' : 'z'}/${i}`),
    ];
    for (let i = 0; i < keys.length; i += PER_TXN) {
      const ops = keys.slice(i, i + PER_TXN).map((key) => ({ op: 'put', key, value: 1 }));
      expect((await admin.call('txn', { board, compare: [], ops })).ok).toBe(true);
    }
    admin.close();

    const reader = await as('reader', `read:${board}/x/`);
    const reads = server.services.store.reads;
    const before = reads.keys;
    const single = await reader.call('subscribe', { board, patterns: ['*'], snapshot: true });
    expect(single.result).toMatchObject({ rev: TOTAL / PER_TXN, snapshot: [] });
    const afterSingle = reads.keys;
    expect(afterSingle - before).toBeLessThanOrEqual(READABLE + 1);

    const deep = await reader.call('subscribe', { board, patterns: ['**'], snapshot: true });
    const snapshot = (deep.result as { snapshot: KeyRecord[] }).snapshot;
    expect(snapshot.map((i) => i.key)).toEqual(keys.slice(0, READABLE));
    expect(reads.keys - afterSingle).toBeLessThanOrEqual(READABLE + 1);
    // An exact key is read alone, whatever sorts after it.
    const exact = await reader.call('subscribe', { board, patterns: ['x/0001', 'x/0002'], snapshot: true });
    expect((exact.result as { snapshot: KeyRecord[] }).snapshot.map((i) => i.key)).toEqual(['x/0001', 'x/0002']);
    reader.close();
  });
});
