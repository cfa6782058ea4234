import { WebSocket } from 'ws';

/** Raw WebSocket load: many connections opened in waves, subscribed, and counted without parsing. */

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/v1/ws`;
}

const EVENTS_PREFIX = '{"push":"events"';
const SUB = ',"sub":"';
const QUOTE = 0x22;
const REV = '"rev":';

/**
 * Counts events in frames without parsing them, or even decoding them: every event
 * carries one `"rev":`. Cheap on purpose, so the receiving side measures the server.
 */
export function countEvents(frame: string | Buffer): number {
  // Progress pushes carry a "rev" too, and reach subscribers left idle for a while.
  if (typeof frame === 'string' ? !frame.startsWith(EVENTS_PREFIX) : frame.indexOf(EVENTS_PREFIX) !== 0) return 0;
  let n = 0;
  let i = frame.indexOf(REV);
  while (i !== -1) {
    n++;
    i = frame.indexOf(REV, i + REV.length);
  }
  return n;
}

/** The `seq` numbers the benchmark puts in its values, read from an events frame without parsing it. */
export function seqsIn(text: string): number[] {
  const seqs: number[] = [];
  if (!text.startsWith('{"push":"events"')) return seqs;
  let i = text.indexOf('"seq":');
  while (i !== -1) {
    seqs.push(Number.parseInt(text.slice(i + 6, i + 22), 10));
    i = text.indexOf('"seq":', i + 6);
  }
  return seqs;
}

/** Opens sockets 100 at a time (a burst of thousands of handshakes only measures the accept queue). */
export async function openAll(urls: string[], timeoutMs = 30_000): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  try {
    for (let i = 0; i < urls.length; i += 100) {
      const wave = urls.slice(i, i + 100).map(
        (url) =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(url, { perMessageDeflate: false });
            const timer = setTimeout(() => reject(new Error(`connecting to ${url} timed out`)), timeoutMs);
            ws.once('open', () => {
              clearTimeout(timer);
              resolve(ws);
            });
            ws.once('error', (err) => {
              clearTimeout(timer);
              reject(err);
            });
            sockets.push(ws);
          }),
      );
      await Promise.all(wave);
    }
  } catch (err) {
    closeAll(sockets);
    throw err;
  }
  return sockets;
}

export function closeAll(sockets: Iterable<WebSocket>): void {
  for (const ws of sockets) ws.terminate();
}

/**
 * The subscription an events push is for, read without decoding the frame ('' for any other
 * frame). `lastIndexOf(x, at)` only looks at `at` and before, so another frame is not scanned.
 */
export function subOf(frame: Buffer): string {
  if (frame.lastIndexOf(EVENTS_PREFIX, 0) !== 0) return '';
  if (frame.lastIndexOf(SUB, EVENTS_PREFIX.length) !== EVENTS_PREFIX.length) return '';
  const start = EVENTS_PREFIX.length + SUB.length;
  return frame.toString('latin1', start, frame.indexOf(QUOTE, start));
}

/** One socket's `count` subscriptions to `**` of the board; their ids once every reply is in. */
function subscribeSocket(ws: WebSocket, board: string, count: number, extra: Record<string, unknown>): Promise<string[]> {
  return new Promise<string[]>((resolve, reject) => {
    const subs: string[] = [];
    const onReply = (data: Buffer) => {
      const reply = JSON.parse(data.toString()) as { ok?: boolean; result?: { sub: string }; error?: { code: string } };
      if (!reply.ok) {
        ws.off('message', onReply);
        reject(new Error(`subscribe refused: ${reply.error?.code ?? 'unknown'}`));
        return;
      }
      subs.push(reply.result!.sub);
      if (subs.length === count) {
        ws.off('message', onReply);
        resolve(subs);
      }
    };
    ws.on('message', onReply);
    for (let id = 1; id <= count; id++) ws.send(JSON.stringify({ id, op: 'subscribe', board, patterns: ['**'], ...extra }));
  });
}

/**
 * Subscribes every socket `perSocket` times (several subscriptions on one connection, as
 * etcd's clients multiplex watches on one stream) to `**` of the board, 500 sockets at a
 * time; resolves with each socket's subscription ids once every reply is in.
 */
export async function subscribeAll(
  sockets: WebSocket[],
  board: string | ((i: number) => string),
  extra: Record<string, unknown> = {},
  perSocket = 1,
): Promise<string[][]> {
  const subs: string[][] = [];
  for (let i = 0; i < sockets.length; i += 500) {
    const wave = sockets.slice(i, i + 500).map((ws, j) => subscribeSocket(ws, typeof board === 'string' ? board : board(i + j), perSocket, extra));
    subs.push(...(await Promise.all(wave)));
  }
  return subs;
}

/** Resolves when every socket has counted `expected` events; returns the seconds from `start()`. */
export function awaitDelivery(sockets: WebSocket[], expected: number, start: () => number, timeoutMs = 120_000): Promise<number> {
  const delivered = new Promise<number>((resolve, reject) => {
    let done = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`delivery timed out (${done}/${sockets.length} sockets complete)`)), timeoutMs);
    for (const ws of sockets) {
      let got = 0;
      ws.on('message', (data) => {
        got += countEvents(data as Buffer);
        if (got === expected && ++done === sockets.length && !settled) {
          settled = true;
          clearTimeout(timer);
          resolve((performance.now() - start()) / 1000);
        }
      });
      ws.once('close', (code) => {
        if (got < expected) fail(new Error(`a subscriber was closed (${code}) after ${got}/${expected} events`));
      });
    }
  });
  // The caller may give up first (a write failed) and close the sockets: that is no news.
  delivered.catch(() => undefined);
  return delivered;
}
