import { WebSocket } from 'ws';
import { FrameCheck } from './frame-check.js';

/** A bare protocol client, for tests that send exact frames. */
export class RawSocket {
  readonly messages: Array<Record<string, unknown>> = [];
  /** The frames as received, for tests that check exact JSON text. */
  readonly texts: string[] = [];
  private nextId = 1;
  closeCode: number | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    // Every frame either way goes past the protocol schema check, whoever sends it.
    const check = new FrameCheck();
    const send = ws.send.bind(ws) as (data: unknown, ...rest: unknown[]) => void;
    (ws as unknown as { send: (data: unknown, ...rest: unknown[]) => void }).send = (data, ...rest) => {
      check.sent(data);
      send(data, ...rest);
    };
    ws.on('message', (data) => {
      const text = data.toString();
      check.received(text);
      this.texts.push(text);
      this.messages.push(JSON.parse(text) as Record<string, unknown>);
      this.notify();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.notify();
    });
  }

  static open(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<RawSocket> {
    const ws = new WebSocket(url, options);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawSocket(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  async until<T>(find: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  sendText(text: string): void {
    this.ws.send(text);
  }

  /** Sends a request and waits for its reply. */
  async call(op: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, op, ...args }));
    return this.until(() => this.messages.find((m) => m.id === id));
  }

  pushes(sub?: string): Array<Record<string, unknown>> {
    return this.messages.filter((m) => m.push !== undefined && (sub === undefined || m.sub === sub));
  }

  waitClose(timeoutMs = 10_000): Promise<number> {
    return this.until(() => this.closeCode ?? undefined, timeoutMs);
  }

  close(): void {
    this.ws.close();
  }
}
