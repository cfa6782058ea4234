import type { EventStore } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { McpSessionStore } from './session-store.js';

/** Thrown when a stored event is refused: another node serves the session now. */
class SessionMovedError extends Error {
  constructor(readonly sessionId: string) {
    super(`MCP session ${sessionId} is served by another node now`);
  }
}

/** The SDK's name for the session's notification stream (GET); requests' streams get UUIDs. */
const STANDALONE_STREAM = '_GET_stream';

/** An event id names its stream and its Redis stream entry: `<streamId>|<entry id>`. */
const SEPARATOR = '|';
const ENTRY_ID = /^\d+-\d+$/;

export function parseEventId(eventId: string): { streamId: string; entryId: string } | null {
  const at = eventId.lastIndexOf(SEPARATOR);
  if (at <= 0) return null;
  const streamId = eventId.slice(0, at);
  const entryId = eventId.slice(at + 1);
  return ENTRY_ID.test(entryId) && streamId.length <= 128 ? { streamId, entryId } : null;
}

/** A resource notification carries the board and revision it reports; the session's cursor follows it. */
function cursorOf(message: JSONRPCMessage): { board: string; rev: number } | null {
  if (!('method' in message) || message.method !== 'notifications/resources/updated') return null;
  const meta = (message.params as { _meta?: { board?: unknown; rev?: unknown } } | undefined)?._meta;
  return typeof meta?.board === 'string' && typeof meta.rev === 'number' ? { board: meta.board, rev: meta.rev } : null;
}

/**
 * The SSE events of one MCP session, in Redis streams (one per SSE stream, bounded in
 * length and time), so that a client reconnecting with `Last-Event-ID` to any node gets
 * what it missed. Notifications are checked against the session's owner: a node that lost
 * the session to another stops feeding it (and drops its copy). A reply is stored whoever
 * serves the session, so a request answered while the session moved is not lost.
 */
export class RedisEventStore implements EventStore {
  /** Entry ids of requests' streams, numbered here: one node writes each such stream. */
  private seq = 0;
  /**
   * Streams being replayed to a resuming client, each until the SDK has registered the
   * resumed stream (the turn after the replay returns). An event stored meanwhile waits for
   * that before the SDK sends it: sent earlier, it would go to the dropped stream, after the
   * replay had read Redis, and never reach the client. Stored before the read, it is both
   * replayed and sent, and the SDK drops the second copy by its id.
   */
  private readonly replaying = new Map<string, Promise<void>>();

  constructor(
    private readonly store: McpSessionStore,
    private readonly sessionId: string,
    private readonly onMoved: () => void,
    private readonly onLost: (err: unknown) => void,
  ) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    if (streamId !== STANDALONE_STREAM) {
      // A request's stream is new and written by this node alone: its priming event needs no
      // entry ("after 0-0" is all of it), and its reply is numbered here and stored without
      // waiting, so the reply does not wait for Redis. Commands on one connection run in
      // order, so a resumption read issued later finds it.
      if (Object.keys(message).length === 0) return `${streamId}${SEPARATOR}0-0`;
      const entryId = `${++this.seq}-0`;
      this.store.appendEvent(this.sessionId, streamId, entryId, JSON.stringify(message)).catch(this.onLost);
      await this.replaying.get(streamId);
      return `${streamId}${SEPARATOR}${entryId}`;
    }
    const entryId = await this.store.storeEvent(this.sessionId, streamId, JSON.stringify(message), cursorOf(message));
    if (entryId === null) {
      this.onMoved();
      throw new SessionMovedError(this.sessionId);
    }
    await this.replaying.get(streamId);
    return `${streamId}${SEPARATOR}${entryId}`;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return parseEventId(eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const parts = parseEventId(lastEventId);
    if (!parts) throw new Error('malformed Last-Event-ID');
    const { streamId } = parts;
    let registered!: () => void;
    const replay = new Promise<void>((resolve) => (registered = resolve));
    this.replaying.set(streamId, replay);
    try {
      for (const [entryId, text] of await this.store.eventsAfter(this.sessionId, streamId, parts.entryId)) {
        const message = JSON.parse(text) as JSONRPCMessage | Record<string, never>;
        // Priming events (empty, sent only to give the client an id) are not replayed.
        if (Object.keys(message).length === 0) continue;
        await send(`${streamId}${SEPARATOR}${entryId}`, message as JSONRPCMessage);
      }
      return streamId;
    } finally {
      // The SDK registers the resumed stream in the continuation of this call, before the next turn.
      setImmediate(() => {
        if (this.replaying.get(streamId) === replay) this.replaying.delete(streamId);
        registered();
      });
    }
  }
}
