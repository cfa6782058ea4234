import {
  defineScripts,
  runScript,
  scriptIn,
  scriptsFolder,
  type AnyScriptDefinition,
  type RedisClient,
  type ScriptEntry,
  type ScriptReply,
} from '../board/scripts.js';
import { mcpSessionKeys } from './keys.js';

/**
 * MCP sessions in Redis, so that any node can continue one: who the session belongs to,
 * which node serves it now, what it was initialized with, its resource subscriptions and
 * the revision each board's notifications reached. A node serves a session only while it
 * is the session's `owner`; a node that receives a request for a session takes it over,
 * and from then on the previous node's event writes are refused (it then drops its copy).
 */

export interface InitParams {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  clientInfo: { name: string; version: string; [k: string]: unknown };
}

export interface StoredSession {
  agent: string;
  init: InitParams;
  board: string | undefined;
  feed: { uris: string[]; cursors: Record<string, number> };
}

/** Channel on which a node that took a session over names it: `<node> <session>`. */
export const MOVED_CHANNEL = 'bb:mcp:moved';

declare module '../board/scripts.js' {
  interface ScriptRegistry {
    /** The event's stream id, or null when the session moved to another node or is gone. */
    'mcp-store-event-2': ScriptEntry<2, string | null>;
    'mcp-touch-1': ScriptEntry<1, 'mine' | 'moved' | 'gone'>;
    /** The session's fields after the take-over, or null when it is gone or another agent's. */
    'mcp-take-over-1': ScriptEntry<1, Map<string, string> | null>;
  }
}

const scriptsDir = scriptsFolder(import.meta.url);
const MCP_SCRIPTS: readonly AnyScriptDefinition[] = [
  scriptIn(scriptsDir, 'mcp-store-event-2', (reply) => (typeof reply === 'string' ? reply : null)),
  scriptIn(scriptsDir, 'mcp-touch-1', (reply) => (reply === 1 ? 'mine' : reply === null ? 'gone' : 'moved')),
  scriptIn(scriptsDir, 'mcp-take-over-1', (raw) => {
    if (!raw) return null;
    const reply = raw as ScriptReply;
    const fields = new Map<string, string>();
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), String(reply[i + 1]));
    return fields;
  }),
];

export class McpSessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly nodeId: string,
    readonly limits: { idleMs: number; maxEvents: number; eventsTtlMs: number },
  ) {
    defineScripts(redis, MCP_SCRIPTS);
  }

  async create(sessionId: string, session: StoredSession): Promise<void> {
    const key = mcpSessionKeys(sessionId).session;
    const fields: Record<string, string> = {
      agent: session.agent,
      owner: this.nodeId,
      init: JSON.stringify(session.init),
      feed: JSON.stringify(session.feed.uris),
      ...(session.board === undefined ? {} : { board: session.board }),
    };
    await this.redis.multi().hset(key, fields).pexpire(key, this.limits.idleMs).exec();
  }

  /** 'mine': this node serves it (its idle time starts again); 'moved': another node does; 'gone': expired or ended. */
  async touch(sessionId: string): Promise<'mine' | 'moved' | 'gone'> {
    return runScript(this.redis, 'mcp-touch-1', [mcpSessionKeys(sessionId).session], [this.nodeId, this.limits.idleMs]);
  }

  /** Tells the other nodes a session moved here, so they drop their copies of it. */
  announceMove(sessionId: string): Promise<unknown> {
    return this.redis.publish(MOVED_CHANNEL, `${this.nodeId} ${sessionId}`);
  }

  /** Takes the session over for this node; null when it is gone or not this agent's (null agent: any). */
  async takeOver(sessionId: string, agent: string | null): Promise<StoredSession | null> {
    const fields = await runScript(this.redis, 'mcp-take-over-1', [mcpSessionKeys(sessionId).session], [this.nodeId, this.limits.idleMs, agent ?? '']);
    if (!fields) return null;
    const cursors: Record<string, number> = {};
    for (const [name, value] of fields) if (name.startsWith('c:')) cursors[name.slice(2)] = Number(value);
    try {
      return {
        agent: fields.get('agent') ?? '',
        init: JSON.parse(fields.get('init') ?? 'null') as InitParams,
        board: fields.get('board'),
        feed: { uris: JSON.parse(fields.get('feed') ?? '[]') as string[], cursors },
      };
    } catch {
      return null;
    }
  }

  async saveFeed(sessionId: string, uris: string[], cursors: Record<string, number>): Promise<void> {
    const key = mcpSessionKeys(sessionId).session;
    const fields: Record<string, string> = { feed: JSON.stringify(uris) };
    for (const [board, rev] of Object.entries(cursors)) fields[`c:${board}`] = String(rev);
    await this.redis.hset(key, fields);
  }

  async delete(sessionId: string): Promise<void> {
    await this.redis.del(mcpSessionKeys(sessionId).session);
  }

  /** Stores an event of a request's stream under the id given (the stream has one writer). */
  async appendEvent(sessionId: string, streamId: string, entryId: string, message: string): Promise<void> {
    const key = mcpSessionKeys(sessionId).events(streamId);
    await Promise.all([this.redis.xadd(key, 'MAXLEN', '~', this.limits.maxEvents, entryId, 'm', message), this.redis.pexpire(key, this.limits.eventsTtlMs)]);
  }

  /** Stores an event of the notification stream; null when this node no longer serves the session. */
  async storeEvent(sessionId: string, streamId: string, message: string, cursor: { board: string; rev: number } | null): Promise<string | null> {
    const keys = mcpSessionKeys(sessionId);
    return runScript(
      this.redis,
      'mcp-store-event-2',
      [keys.session, keys.events(streamId)],
      [this.nodeId, message, this.limits.maxEvents, this.limits.eventsTtlMs, cursor?.board ?? '', cursor?.rev ?? 0],
    );
  }

  /** The events of a stream after `afterId` (exclusive), at most the number kept. */
  async eventsAfter(sessionId: string, streamId: string, afterId: string): Promise<Array<[string, string]>> {
    const entries = await this.redis.xrange(mcpSessionKeys(sessionId).events(streamId), `(${afterId}`, '+', 'COUNT', this.limits.maxEvents);
    return entries.flatMap(([id, fields]) => (fields[0] === 'm' && fields[1] !== undefined ? [[id, fields[1]] as [string, string]] : []));
  }
}
