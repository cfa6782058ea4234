import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeOrigin, originAllowed, originPolicy } from '../../server/security/origin.js';
import { StrikeCounter, TokenBucket } from '../../server/security/rate-limit.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { RawSocket } from '../helpers/raw-socket.js';
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

/**
 * A flooding client that costs its sender almost nothing: it speaks WebSocket over a
 * bare TCP socket and writes pre-built frames (masked with a zero key, as the protocol
 * allows) many at a time, so the load lands on the server, not on this test process.
 */
class TcpFlooder {
  sent = 0;
  readonly replies: Reply[] = [];
  closeCode: number | null = null;
  private inbound = Buffer.alloc(0);
  private upgraded = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly board: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => undefined);
    this.done = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static open(port: number, board: string): Promise<TcpFlooder> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const flooder = new TcpFlooder(socket, board);
      socket.once('error', reject);
      socket.once('connect', () =>
        socket.write(
          'GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        ),
      );
      const check = setInterval(() => {
        if (flooder.upgraded) {
          clearInterval(check);
          resolve(flooder);
        }
      }, 5);
    });
  }

  private read(chunk: Buffer): void {
    this.inbound = Buffer.concat([this.inbound, chunk]);
    if (!this.upgraded) {
      const end = this.inbound.indexOf('\r\n\r\n');
      if (end === -1) return;
      this.upgraded = this.inbound.subarray(0, 12).toString() === 'HTTP/1.1 101';
      this.inbound = this.inbound.subarray(end + 4);
    }
    for (;;) {
      if (this.inbound.length < 2) return;
      const opcode = this.inbound[0]! & 0x0f;
      let length = this.inbound[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.inbound.length < 4) return;
        length = this.inbound.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.inbound.length < 10) return;
        length = Number(this.inbound.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.inbound.length < offset + length) return;
      const payload = this.inbound.subarray(offset, offset + length);
      this.inbound = this.inbound.subarray(offset + length);
      if (opcode === 8) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (opcode === 1) this.replies.push(JSON.parse(payload.toString()) as Reply);
    }
  }

  get ok(): number {
    return this.replies.filter((r) => r.ok === true).length;
  }

  get limited(): Reply[] {
    return this.replies.filter((r) => code(r) === 'RATE_LIMITED');
  }

  /** Writes `count` frames in one go, so the server reads them together. */
  send(count: number, key = 'k'): void {
    const parts: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const payload = Buffer.from(`{"id":${++this.sent},"op":"get","board":"${this.board}","key":"${key}"}`);
      parts.push(Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload);
    }
    this.socket.write(Buffer.concat(parts));
  }

  close(): void {
    this.socket.destroy();
  }

  /** Writes as fast as the socket drains until the server closes the connection; bounded in count and time. */
  async flood(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (this.closeCode === null && !this.socket.destroyed && this.sent < 200_000 && Date.now() < deadline) {
      this.send(500);
      if (this.socket.writableNeedDrain) {
        await Promise.race([new Promise((r) => this.socket.once('drain', r)), this.done, new Promise((r) => setTimeout(r, 200))]);
      } else {
        await new Promise((r) => setImmediate(r));
      }
    }
    await Promise.race([this.done, new Promise((r) => setTimeout(r, 5_000))]);
    this.socket.destroy();
  }
}

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
    const client = await TcpFlooder.open(server.port, board);
    // 150 frames in one write arrive together: 100 fit the bucket, the rest find it empty.
    client.send(150, 'missing');
    await waitFor(() => client.replies.length >= 150, 10_000, '150 replies');
    const limited = client.limited;
    expect(limited.length).toBeGreaterThanOrEqual(40);
    expect(client.replies.filter((r) => code(r) === 'NOT_FOUND').length).toBe(150 - limited.length);
    expect(new Set(client.replies.map((r) => r.id)).size).toBe(150);
    const wait = Math.max(...limited.map((r) => (r.error as { details: { retryAfterMs: number } }).details.retryAfterMs));
    expect(wait).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, wait));
    client.send(1, 'missing');
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
      const flooder = await TcpFlooder.open(proc.port, board);
      await flooder.flood();
      floods.push(flooder);
    }
    flooding = false;
    const loaded = await measured;

    console.info(
      `floods: ${floods.map((f) => `${f.sent} sent, ${f.ok} ok, ${f.limited.length} limited, closed ${f.closeCode}`).join('; ')}.\n` +
        `polite client alone: ${summary(quiet.all)}; during the floods: ${summary(loaded.all)}`,
    );
    for (const f of floods) {
      // Exactly RATE_LIMIT_CLOSE_AFTER refusals, then the close; requests of its burst still running then get no reply.
      expect(f.closeCode).toBe(4029);
      expect(f.limited.length).toBe(100);
      const sample = f.limited[0]!;
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
