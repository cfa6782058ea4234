import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** What a FrameSocket tells its owner. */
export interface FrameHandlers {
  /** Upgraded: frames may be sent. */
  open(): void;
  /** A whole text frame (the server sends no fragments); the buffer may be reused after the call returns. */
  text(payload: Buffer): void;
  error(err: Error): void;
  close(): void;
}

/**
 * A WebSocket client on a bare TCP socket with just what a bench subscriber needs: the
 * upgrade, masked text frames out (zero key, as the protocol allows), whole unmasked frames
 * in, pings answered with pongs, close. No extensions, no fragments, no UTF-8 check: the cost
 * of reading a frame is finding its header, so that a thousand of them in one process measure
 * the server, not the reader.
 */
export class FrameSocket {
  private pending: Buffer | null = null;
  private upgraded = false;

  private constructor(
    private readonly socket: Socket,
    private readonly on: FrameHandlers,
  ) {}

  static connect(url: string, on: FrameHandlers): FrameSocket {
    const target = new URL(url);
    const socket = connect(Number(target.port || 80), target.hostname);
    socket.setNoDelay(true);
    const self = new FrameSocket(socket, on);
    socket.on('connect', () =>
      socket.write(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
      ),
    );
    socket.on('data', (chunk: Buffer) => self.read(chunk));
    socket.on('error', (err) => on.error(err));
    socket.on('close', () => on.close());
    return self;
  }

  /** One text frame. */
  sendText(text: string): void {
    this.send(0x1, Buffer.from(text));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private send(opcode: number, payload: Buffer): void {
    const n = payload.length;
    if (n >= 65_536) throw new Error('frame too large for this reader');
    const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n]) : Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 0xff]);
    // A zero mask key leaves the payload as it is.
    this.socket.write(Buffer.concat([head, Buffer.alloc(4), payload]));
  }

  private read(chunk: Buffer): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    if (!this.upgraded) {
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) {
        this.pending = data;
        return;
      }
      if (data.subarray(0, 12).toString() !== 'HTTP/1.1 101') {
        this.on.error(new Error(`upgrade refused: ${data.subarray(0, 60).toString()}`));
        this.socket.destroy();
        return;
      }
      this.upgraded = true;
      data = data.subarray(end + 4);
      this.on.open();
    }
    let at = 0;
    while (data.length - at >= 2) {
      const opcode = data[at]! & 0x0f;
      let length = data[at + 1]! & 0x7f;
      let start = at + 2;
      if (length === 126) {
        if (data.length - at < 4) break;
        length = data.readUInt16BE(at + 2);
        start = at + 4;
      } else if (length === 127) {
        if (data.length - at < 10) break;
        length = Number(data.readBigUInt64BE(at + 2));
        start = at + 10;
      }
      if (data.length < start + length) break;
      const payload = data.subarray(start, start + length);
      at = start + length;
      if (opcode === 0x1) this.on.text(payload);
      else if (opcode === 0x9) this.send(0xa, payload);
      else if (opcode === 0x8) this.socket.end();
    }
    if (at < data.length) this.pending = data.subarray(at);
  }
}
