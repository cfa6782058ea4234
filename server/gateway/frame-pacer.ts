import type { WebSocket } from 'ws';

/** Frames one connection may start per turn of the event loop; the rest wait for the next turn. */
export const FRAMES_PER_TURN = 32;
/** Past this many frames waiting, the connection's socket is not read until they are started. */
const PAUSE_AT = 256;

/**
 * Paces the frames of one connection: at most FRAMES_PER_TURN are started per turn of the
 * event loop, so a connection that sends a thousand frames in one packet does not hold the
 * loop while every other connection waits. A connection with more waiting stops being read
 * until it is caught up, so what waits is bounded by what one read of its socket can hold.
 * Frames start in the order they came.
 */
export class FramePacer {
  private startedThisTurn = 0;
  private readonly waiting: string[] = [];
  private turnScheduled = false;
  private paused = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly start: (text: string) => void,
  ) {}

  push(text: string): void {
    this.nextTurn();
    if (this.waiting.length === 0 && this.startedThisTurn < FRAMES_PER_TURN) {
      this.startedThisTurn++;
      this.start(text);
      return;
    }
    this.waiting.push(text);
    if (!this.paused && this.waiting.length >= PAUSE_AT) {
      this.paused = true;
      this.ws.pause();
    }
  }

  /** Drops what waits (the connection closed). */
  clear(): void {
    this.waiting.length = 0;
  }

  private nextTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.startedThisTurn = 0;
      const batch = this.waiting.splice(0, FRAMES_PER_TURN);
      if (batch.length === 0) return;
      this.startedThisTurn = batch.length;
      // More may wait: the next turn takes them (and resets the count again).
      this.nextTurn();
      for (const text of batch) this.start(text);
      // A connection being closed stays unread.
      if (this.paused && this.waiting.length < PAUSE_AT / 2 && this.ws.readyState === this.ws.OPEN) {
        this.paused = false;
        this.ws.resume();
      }
    });
  }
}
