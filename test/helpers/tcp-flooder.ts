import { connect, type Socket } from 'node:net';
import { clientFrame, readFrames, upgradeAnswer, upgradeRequest } from './raw-ws.js';

/**
 * A WebSocket client that costs its sender almost nothing: it speaks the protocol over a
 * bare TCP socket and writes one pre-built frame (masked with a zero key, as the protocol
 * allows) again and again, so the load lands on the server, not on the test process.
 */
export class TcpFlooder {
  sent = 0;
  readonly replies: Array<Record<string, unknown>> = [];
  closeCode: number | null = null;
  closedAt: number | null = null;
  private inbound = Buffer.alloc(0);
  private upgraded = false;
  private readonly done: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => undefined);
    this.done = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAt ??= Date.now();
        resolve();
      }),
    );
  }

  static open(port: number, headers: Record<string, string> = {}): Promise<TcpFlooder> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const flooder = new TcpFlooder(socket);
      socket.once('error', reject);
      const extra = Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.once('connect', () => socket.write(upgradeRequest('/v1/ws', '127.0.0.1', 'dGhlIHNhbXBsZSBub25jZQ==', extra)));
      const deadline = Date.now() + 10_000;
      const check = setInterval(() => {
        if (flooder.upgraded) {
          clearInterval(check);
          resolve(flooder);
        } else if (socket.destroyed || Date.now() > deadline) {
          clearInterval(check);
          reject(new Error(`upgrade refused: ${flooder.inbound.subarray(0, 40).toString()}`));
        }
      }, 5);
    });
  }

  /** One masked text frame (zero mask key) carrying `text`. */
  static frame(text: string): Buffer {
    return clientFrame(0x1, Buffer.from(text));
  }

  private read(chunk: Buffer): void {
    this.inbound = Buffer.concat([this.inbound, chunk]);
    if (!this.upgraded) {
      const answer = upgradeAnswer(this.inbound);
      this.upgraded = answer.upgraded;
      if (!this.upgraded) return;
      this.inbound = this.inbound.subarray(answer.end);
    }
    const used = readFrames(this.inbound, (opcode, payload) => {
      if (opcode === 8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closedAt ??= Date.now();
      }
      if (opcode === 1) this.replies.push(JSON.parse(payload.toString()) as Record<string, unknown>);
    });
    this.inbound = this.inbound.subarray(used);
  }

  /** Replies refused with this code. */
  refused(code: string): Array<Record<string, unknown>> {
    return this.replies.filter((r) => (r.error as { code?: string } | undefined)?.code === code);
  }

  /** Replies that succeeded. */
  get ok(): number {
    return this.replies.filter((r) => r.ok === true).length;
  }

  /** Writes `count` frames in one go, so the server reads them together; `text(id)` is each one's text, ids counting on from `sent`. */
  sendBatch(count: number, text: (id: number) => string): void {
    const parts: Buffer[] = [];
    for (let i = 0; i < count; i++) parts.push(TcpFlooder.frame(text(++this.sent)));
    this.socket.write(Buffer.concat(parts));
  }

  /** Writes `frame` as fast as the socket drains until the server closes the connection; bounded in count and time. */
  flood(frame: Buffer, maxFrames: number, maxMs: number): Promise<void> {
    return this.floodWith(
      () => {
        this.socket.write(frame);
        this.sent++;
      },
      false,
      maxFrames,
      maxMs,
    );
  }

  /** As `flood`, in batches of `perWrite` frames (see `sendBatch`), reading replies between batches. */
  floodBatches(perWrite: number, text: (id: number) => string, maxFrames: number, maxMs: number): Promise<void> {
    return this.floodWith(() => this.sendBatch(perWrite, text), true, maxFrames, maxMs);
  }

  private async floodWith(write: () => void, yieldEach: boolean, maxFrames: number, maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (this.closeCode === null && !this.socket.destroyed && this.sent < maxFrames && Date.now() < deadline) {
      write();
      if (this.socket.writableNeedDrain) {
        await Promise.race([new Promise((r) => this.socket.once('drain', r)), this.done, new Promise((r) => setTimeout(r, 200))]);
      } else if (yieldEach) {
        await new Promise((r) => setImmediate(r));
      }
    }
    await Promise.race([this.done, new Promise((r) => setTimeout(r, 5_000))]);
    this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }
}
