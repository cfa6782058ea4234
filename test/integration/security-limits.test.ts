import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeOrigin, originAllowed, originPolicy } from '../../server/security/origin.js';
import { StrikeCounter, TokenBucket } from '../../server/security/rate-limit.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { TcpFlooder } from '../helpers/tcp-flooder.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

type Reply = Record<string, unknown>;
const code = (r: Reply) => (r.error as { code?: string } | undefined)?.code;

describe('the pieces, alone', () => {
  it('token bucket: a burst, then the steady rate, and how long to wait', () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([0, 0, 0]);
    expect(bucket.take(0)).toBe(100);
    expect(bucket.take(50)).toBe(50);
    expect(bucket.take(100)).toBe(0);
    expect(bucket.take(10_000)).toBe(0);
    expect([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)]).toEqual([0, 0, 100]);
  });

  it('strikes count within a window and start again after it', () => {
    const strikes = new StrikeCounter(1_000);
    expect([strikes.hit(0), strikes.hit(10), strikes.hit(999)]).toEqual([1, 2, 3]);
    expect(strikes.hit(1_000)).toBe(1);
  });

  it('origin policies', () => {
    const none = originPolicy(undefined, 'none');
    const jwt = originPolicy(undefined, 'jwt');
    const listed = originPolicy('https://a.example,*.b.example', 'jwt');
    expect(originAllowed(none, 'http://x.example', 'host:1')).toBe(true);
    expect(originAllowed(jwt, 'http://x.example', 'host:1')).toBe(false);
    expect(originAllowed(jwt, 'http://host:1', 'host:1')).toBe(true);
    expect(originAllowed(jwt, 'https://host', 'host:443')).toBe(true);
    expect(originAllowed(jwt, undefined, 'host:1')).toBe(true);
    expect(originAllowed(listed, 'https://a.example/', 'h')).toBe(true);
    expect(originAllowed(listed, 'http://a.example', 'h')).toBe(false);
    expect(originAllowed(listed, 'https://c.b.example', 'h')).toBe(false);
    expect(originAllowed(originPolicy('*', 'jwt'), 'null', 'h')).toBe(true);
    expect(normalizeOrigin('HTTPS://A.example:443')).toBe('https://a.example');
  });
});

/** Frames that read a key of a board, numbered by the flooder. */
const gets =
  (board: string, key = 'k') =>
  (id: number) =>
    `{"id":${id},"op":"get","board":"${board}","key":"${key}"}`;

describe('request rate', () => {
  let proc: ServerProcess;
  beforeAll(async () => {
    proc = await spawnServer(await freePort(), {
      HISTORY_ENABLED: 'false',
      RATE_LIMIT_RPS: '200',
      RATE_LIMIT_BURST: '100',
      RATE_LIMIT_CLOSE_AFTER: '100',
    });
  });
  afterAll(async () => {
    proc?.child.kill('SIGTERM');
    await proc?.exited;
  });

  async function latencies(polite: RawSocket, board: string, until: () => boolean): Promise<{ all: number[]; failed: Reply[] }> {
    const all: number[] = [];
    const failed: Reply[] = [];
    while (!until()) {
      const started = performance.now();
      const reply = await polite.call('get', { board, key: 'k' });
      all.push(performance.now() - started);
      if (reply.ok !== true) failed.push(reply);
      await new Promise((r) => setTimeout(r, 10));
    }
    return { all: all.sort((x, y) => x - y), failed };
  }
  const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  const summary = (sorted: number[]) =>
    `${sorted.length} requests, p50 ${quantile(sorted, 0.5).toFixed(1)} ms, p99 ${quantile(sorted, 0.99).toFixed(1)} ms, max ${quantile(sorted, 1).toFixed(1)} ms`;

  it('a burst past the bucket gets RATE_LIMITED with retryAfterMs, and the connection stays usable', async () => {
    // One request a second refills the bucket too slowly for a busy machine's pauses to matter.
    await using server = await startTestServer({ env: { RATE_LIMIT_RPS: '1', RATE_LIMIT_BURST: '100', RATE_LIMIT_CLOSE_AFTER: '1000' } });
    const board = randomBoard('sl');
    const client = await TcpFlooder.open(server.port);
    // 150 frames in one write arrive together: 100 fit the bucket, the rest find it empty.
    client.sendBatch(150, gets(board, 'missing'));
    await waitFor(() => client.replies.length >= 150, 10_000, '150 replies');
    const limited = client.refused('RATE_LIMITED');
    expect(limited.length).toBeGreaterThanOrEqual(40);
    expect(client.replies.filter((r) => code(r) === 'NOT_FOUND').length).toBe(150 - limited.length);
    expect(new Set(client.replies.map((r) => r.id)).size).toBe(150);
    const wait = Math.max(...limited.map((r) => (r.error as { details: { retryAfterMs: number } }).details.retryAfterMs));
    expect(wait).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, wait));
    client.sendBatch(1, gets(board, 'missing'));
    await waitFor(() => client.replies.length === 151, 10_000, 'the next reply');
    expect(code(client.replies[150]!)).toBe('NOT_FOUND');
    expect(client.closeCode).toBeNull();
    client.close();
  });

  it('a flooding client is rate-limited, then closed with 4029, while a well-behaved one keeps its latency', async () => {
    const url = `ws://127.0.0.1:${proc.port}/v1/ws`;
    const board = randomBoard('sl');
    const polite = await RawSocket.open(url);
    expect((await polite.call('put', { board, key: 'k', value: 1 })).ok).toBe(true);

    const quietUntil = Date.now() + 3_000;
    const quiet = await latencies(polite, board, () => Date.now() > quietUntil);

    let flooding = true;
    const measured = latencies(polite, board, () => !flooding);
    const floods: TcpFlooder[] = [];
    for (let round = 0; round < 5; round++) {
      const flooder = await TcpFlooder.open(proc.port);
      await flooder.floodBatches(500, gets(board), 200_000, 10_000);
      floods.push(flooder);
    }
    flooding = false;
    const loaded = await measured;

    console.info(
      `floods: ${floods.map((f) => `${f.sent} sent, ${f.ok} ok, ${f.refused('RATE_LIMITED').length} limited, closed ${f.closeCode}`).join('; ')}.\n` +
        `polite client alone: ${summary(quiet.all)}; during the floods: ${summary(loaded.all)}`,
    );
    for (const f of floods) {
      // Exactly RATE_LIMIT_CLOSE_AFTER refusals, then the close; requests of its burst still running then get no reply.
      expect(f.closeCode).toBe(4029);
      expect(f.refused('RATE_LIMITED').length).toBe(100);
      const sample = f.refused('RATE_LIMITED')[0]!;
      const details = (sample.error as { details: { retryAfterMs: number } }).details;
      expect(details.retryAfterMs).toBeGreaterThan(0);
      expect(details.retryAfterMs).toBeLessThanOrEqual(1_000);
      expect(typeof sample.id).toBe('number');
    }
    expect([...quiet.failed, ...loaded.failed]).toEqual([]);
    expect(loaded.all.length).toBeGreaterThanOrEqual(20);
    // Generous: 500 ms, or several times what the same client saw alone if the machine itself is that slow.
    expect(quantile(loaded.all, 0.99)).toBeLessThan(Math.max(500, 4 * quantile(quiet.all, 0.99)));
    expect(polite.closeCode).toBeNull();
    polite.close();
  });
});

describe('frames and nesting', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { MAX_FRAME_BYTES: '65536', MAX_VALUE_BYTES: '65536', MAX_JSON_DEPTH: '16' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  it('a frame over MAX_FRAME_BYTES closes the socket with 1009 and writes nothing; one just under it is served', async () => {
    const board = randomBoard('sf');
    const raw = await RawSocket.open(server.wsUrl);
    const frame = (size: number) => {
      const head = `{"id":1,"op":"put","board":"${board}","key":"big","value":"`;
      return `${head}${'x'.repeat(size - head.length - 2)}"}`;
    };
    raw.sendText(frame(60_000));
    const ok = await raw.until(() => raw.messages.find((m) => m.id === 1));
    expect(ok.ok).toBe(true);
    raw.sendText(frame(65_537));
    expect(await raw.waitClose()).toBe(1009);
    const check = await RawSocket.open(server.wsUrl);
    const got = await check.call('get', { board, key: 'big' });
    expect((got.result as { version: number }).version).toBe(1);
    check.close();
  });

  it('JSON nested past MAX_JSON_DEPTH is BAD_REQUEST, however deep, and the connection stays open', async () => {
    const board = randomBoard('sf');
    const raw = await RawSocket.open(server.wsUrl);
    // The frame is depth 1, its value 2: 15 nested arrays reach exactly 16.
    raw.sendText(`{"id":101,"op":"put","board":"${board}","key":"at-limit","value":${nested(15)}}`);
    raw.sendText(`{"id":102,"op":"put","board":"${board}","key":"past","value":${nested(16)}}`);
    raw.sendText(`{"id":103,"op":"put","board":"${board}","key":"far","value":${nested(30_000)}}`);
    raw.sendText(`{"id":104,"op":"put","board":"${board}","key":"obj","value":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`);
    raw.sendText(`{"id":105,"op":"get","board":"${board}","key":"k","extra":${nested(20)}}`);
    const replies = await raw.until(() => {
      const got = [101, 102, 103, 104, 105].map((id) => raw.messages.find((m) => m.id === id));
      return got.every((m) => m !== undefined) ? (got as Reply[]) : undefined;
    });
    expect(replies.map((r) => r.ok === true || code(r))).toEqual([true, 'BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST']);
    expect(String((replies[1]!.error as { message: string }).message)).toContain('deeper than 16');
    const list = await raw.call('list', { board, prefix: '' });
    expect((list.result as { items: Array<{ key: string }> }).items.map((i) => i.key)).toEqual(['at-limit']);
    expect(raw.closeCode).toBeNull();
    raw.close();
  });
});
