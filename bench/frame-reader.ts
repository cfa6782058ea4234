import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { clientFrame, readFrames, upgradeAnswer, upgradeRequest } from '../test/helpers/raw-ws.js';

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
 * upgrade, text frames out, whole frames in (test/helpers/raw-ws.ts), pings answered with
 * pongs, close. No extensions, no fragments, no UTF-8 check: the cost of reading a frame is
 * finding its header, so that a thousand of them in one process measure the server, not the
 * reader.
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
    socket.on('connect', () => socket.write(upgradeRequest(`${target.pathname}${target.search}`, target.host, randomBytes(16).toString('base64'))));
    socket.on('data', (chunk: Buffer) => self.read(chunk));
    socket.on('error', (err) => on.error(err));
    socket.on('close', () => on.close());
    return self;
  }

  /** One text frame. */
  sendText(text: string): void {
    this.socket.write(clientFrame(0x1, Buffer.from(text)));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    if (!this.upgraded) {
      const answer = upgradeAnswer(data);
      if (answer.end === -1) {
        this.pending = data;
        return;
      }
      if (!answer.upgraded) {
        this.on.error(new Error(`upgrade refused: ${data.subarray(0, 60).toString()}`));
        this.socket.destroy();
        return;
      }
      this.upgraded = true;
      data = data.subarray(answer.end);
      this.on.open();
    }
    const used = readFrames(data, (opcode, payload) => {
      if (opcode === 0x1) this.on.text(payload);
      else if (opcode === 0x9) this.socket.write(clientFrame(0xa, payload));
      else if (opcode === 0x8) this.socket.end();
    });
    if (used < data.length) this.pending = data.subarray(used);
  }
}
