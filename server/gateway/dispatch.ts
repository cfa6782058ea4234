import type { z } from 'zod';
import { BlackboardError, ErrorCode, badRequest } from '../../shared/protocol/errors.js';
import { exceedsDepth, hasLongDigitRun, parseLossless } from '../../shared/protocol/json.js';
import type { WireResult } from '../../shared/protocol/envelope.js';
import { isOpName, requestSchemas, type OpName, type RequestFrame } from '../../shared/protocol/messages/index.js';
import type { Caller, DispatchHooks, Handler, HandlerTable, OpContext, ReadAccess } from '../extension.js';
import type { Session } from './session.js';
import type { Services } from '../services.js';

function zodMessage(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/**
 * Redis error codes (the first word of a reply error) that mean "not now" rather than a
 * bug: a replica not yet promoted or a demoted primary (READONLY), a primary without
 * enough replicas (`min-replicas-to-write`: NOREPLICAS), a dataset loading, a failover.
 */
const REDIS_NOT_SERVING: ReadonlySet<string> = new Set(['READONLY', 'NOREPLICAS', 'LOADING', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN', 'BUSY']);

/** Turns anything thrown by a handler into a wire error. */
export function toWireError(err: unknown, services: Pick<Services, 'redisReady' | 'redisConnectionFailed' | 'log'>): BlackboardError {
  if (err instanceof BlackboardError) return err;
  if (!services.redisReady()) return new BlackboardError(ErrorCode.UNAVAILABLE, 'Redis is unavailable; retry later');
  if (err instanceof Error && err.name === 'ReplyError' && REDIS_NOT_SERVING.has(err.message.split(' ', 1)[0] ?? '')) {
    return new BlackboardError(ErrorCode.UNAVAILABLE, 'Redis cannot take this request now (failover, loading, too few replicas); retry later');
  }
  if (services.redisConnectionFailed(err)) {
    return new BlackboardError(
      ErrorCode.UNAVAILABLE,
      'the connection to Redis dropped during the request; a write may have been applied: retry with the same reqId',
    );
  }
  services.log.error({ err }, 'request failed');
  return new BlackboardError(ErrorCode.INTERNAL, 'internal error');
}

/**
 * What a handler gets with its frame. Methods rather than closures made for each request:
 * nothing per request but this one object.
 */
class RequestContext implements OpContext {
  /** Work to run after the reply (most requests ask for none: nothing is allocated then). */
  after: Array<() => void | Promise<void>> | null = null;

  constructor(
    readonly session: Session,
    readonly services: Services,
    readonly lossless: boolean,
    private readonly dispatcher: Dispatcher,
  ) {}

  afterReply(fn: () => void | Promise<void>): void {
    (this.after ??= []).push(fn);
  }

  readAccess(board: string): ReadAccess {
    return this.dispatcher.readAccess(this.session, board);
  }
}

export class Dispatcher {
  /** Requests in progress per agent on this node, across its connections. */
  private readonly agentInflight = new Map<string, number>();

  constructor(
    private readonly handlers: HandlerTable,
    private readonly services: Services,
    private readonly hooks: DispatchHooks[] = [],
  ) {}

  async handleFrame(session: Session, text: string): Promise<void> {
    // The fast native parse is all that validation and authorization need; the digit-exact
    // parse (several times slower) runs only for a request that passed both.
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      session.replyError(null, badRequest('frame is not valid JSON').toBody());
      return;
    }
    const lossless = hasLongDigitRun(text);
    if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
      session.replyError(null, badRequest('frame must be a JSON object').toBody());
      return;
    }
    const record = frame as Record<string, unknown>;
    const id = record.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      session.replyError(null, badRequest('frame needs an integer "id"').toBody());
      return;
    }
    const started = performance.now();
    const op = record.op;
    let opName: OpName | null = null;
    // Work to run after the reply, when a handler asks for some (most never do: nothing is allocated then).
    let afterReply: Array<() => void | Promise<void>> | null = null;
    try {
      if (exceedsDepth(frame, this.services.config.MAX_JSON_DEPTH)) {
        throw badRequest(`JSON nested deeper than ${this.services.config.MAX_JSON_DEPTH}`);
      }
      if (!isOpName(op)) throw badRequest(`unknown op ${JSON.stringify(op)}`, { op });
      opName = op;
      const handler = this.handlers[op] as Handler<OpName> | undefined;
      if (!handler) throw badRequest(`op ${op} is not available on this server`, { op });
      for (const hook of this.hooks) hook.admit?.(op, session);
      let checked = requestSchemas[op].safeParse(frame);
      if (!checked.success) throw badRequest(zodMessage(checked.error), { issues: checked.error.issues.slice(0, 10) });
      for (const hook of this.hooks) hook.before?.(op, record, session);
      if (session.inflight >= this.services.config.MAX_INFLIGHT_PER_CONNECTION) {
        throw BlackboardError.refusal(ErrorCode.RATE_LIMITED, 'too many requests in flight', { retryAfterMs: 100, reason: 'inflight' });
      }
      // An agent's requests wait in the node's one Redis pipeline ahead of everyone else's: bound how many.
      const agentInflight = this.agentInflight.get(session.agentId) ?? 0;
      if (agentInflight >= this.services.config.MAX_INFLIGHT_PER_AGENT) {
        throw BlackboardError.refusal(ErrorCode.RATE_LIMITED, 'too many requests in flight from this agent', {
          retryAfterMs: 100,
          reason: 'inflight',
        });
      }
      if (lossless) {
        checked = requestSchemas[op].safeParse(parseLossless(text));
        if (!checked.success) throw badRequest(zodMessage(checked.error), { issues: checked.error.issues.slice(0, 10) });
      }
      session.inflight++;
      this.agentInflight.set(session.agentId, agentInflight + 1);
      const ctx = new RequestContext(session, this.services, lossless, this);
      let result: WireResult<OpName>;
      try {
        result = await handler(checked.data as RequestFrame<OpName>, ctx);
      } finally {
        session.inflight--;
        const left = (this.agentInflight.get(session.agentId) ?? 1) - 1;
        if (left > 0) this.agentInflight.set(session.agentId, left);
        else this.agentInflight.delete(session.agentId);
      }
      session.reply(id, result);
      this.finish(opName, 'ok', started);
      afterReply = ctx.after;
    } catch (err) {
      const wire = toWireError(err, this.services);
      session.replyError(id, wire.toBody());
      if (opName) this.finish(opName, wire.code, started);
    }
    if (afterReply === null) return;
    for (const fn of afterReply) {
      try {
        await fn();
      } catch (err) {
        session.log.error({ err, op: opName }, 'work after reply failed');
      }
    }
  }

  /** The access every hook grants, intersected: the first restriction, its filter narrowed by the others'. */
  readAccess(session: Caller, board: string): ReadAccess {
    let access: ReadAccess = null;
    for (const hook of this.hooks) {
      const granted = hook.readAccess?.(session, board) ?? null;
      if (granted === null) continue;
      if (access === null) access = granted;
      else {
        const a: NonNullable<ReadAccess> = access;
        const b: NonNullable<ReadAccess> = granted;
        access = { id: `${a.id}&${b.id}`, prefixes: a.prefixes, test: (key) => a.test(key) && b.test(key) };
      }
    }
    return access;
  }

  private finish(op: OpName, outcome: string, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    for (const hook of this.hooks) hook.after?.(op, outcome, seconds);
  }
}
