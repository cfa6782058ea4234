import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { BlackboardError, ErrorCode } from '../../../shared/protocol/errors.js';
import { intFlag, noMorePositionals, positional } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError } from '../exit-codes.js';

/** Exit status of a child ended by a signal, as shells report it. */
const SIGNAL_BASE = 128;

export const lockCommand: Command = {
  name: 'lock',
  usage: 'lock <board> <name> [--ttl-ms N] [--wait-ms N] -- <command> [args ...]',
  summary: 'Run a command while holding a lock; its fencing token is in $BLACKBOARD_LOCK_TOKEN.',
  details: [
    'Acquires the lock (waiting up to --wait-ms, default 0; exit 4 if still held by another), runs the',
    'command with BLACKBOARD_BOARD, BLACKBOARD_LOCK_NAME and BLACKBOARD_LOCK_TOKEN set, extends the lock',
    'every third of --ttl-ms (default 30000) and releases it when the command ends. Exits with the',
    "command's status. If the lock is lost meanwhile, the command gets SIGTERM and lock exits 4.",
    'Fence writes with it: blackboard put B K V --fence-lock NAME --fence-token "$BLACKBOARD_LOCK_TOKEN".',
  ],
  options: { 'ttl-ms': { type: 'string' }, 'wait-ms': { type: 'string' } },
  async run(ctx, line) {
    const board = positional(line, 0, 'board');
    const name = positional(line, 1, 'name');
    noMorePositionals(line, 2);
    const [program, ...programArgs] = line.rest;
    if (program === undefined) throw new UsageError('give the command to run after --');
    const ttlMs = intFlag(line, 'ttl-ms', 100, 3_600_000) ?? 30_000;
    const waitMs = intFlag(line, 'wait-ms', 0, 600_000) ?? 0;
    const client = await ctx.connect();
    const lock = await client.request('lock.acquire', { board, name, ttlMs, ...(waitMs > 0 ? { waitMs } : {}) });
    ctx.out.status({ status: 'locked', board, name, token: lock.token, expiresAt: lock.expiresAt }, `locked ${name} (token ${lock.token})`);

    const child = spawn(program, programArgs, {
      stdio: 'inherit',
      env: {
        ...process.env,
        BLACKBOARD_URL: ctx.flags.url,
        ...(ctx.flags.token ? { BLACKBOARD_TOKEN: ctx.flags.token } : {}),
        BLACKBOARD_BOARD: board,
        BLACKBOARD_LOCK_NAME: name,
        BLACKBOARD_LOCK_TOKEN: String(lock.token),
      },
    });
    let lost: BlackboardError | null = null;
    const loseLock = (err: BlackboardError) => {
      if (lost) return;
      lost = err;
      child.kill('SIGTERM');
    };
    let expiresAt = lock.expiresAt;
    const extend = async () => {
      try {
        const extended = await client.request('lock.extend', { board, name, token: lock.token, ttlMs });
        expiresAt = extended.expiresAt;
      } catch (err) {
        if (err instanceof BlackboardError && err.code === ErrorCode.FENCED) loseLock(err);
        // A transient failure is retried at the next tick, until the lock would have expired.
        else if (Date.now() >= expiresAt) loseLock(new BlackboardError(ErrorCode.FENCED, 'the lock expired before it could be extended'));
      }
    };
    const timer = setInterval(() => void extend(), Math.max(50, Math.floor(ttlMs / 3)));
    // Locks die with their connection: once it drops, the lock may already be another's.
    const onState = (state: unknown) => {
      if (state === 'disconnected') loseLock(new BlackboardError(ErrorCode.FENCED, 'the connection holding the lock was lost'));
    };
    client.on('state', onState);
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);

    const status = await new Promise<number>((resolve) => {
      child.once('error', (err) => {
        ctx.out.error(new UsageError(`could not run ${program}: ${err.message}`));
        resolve(ExitCode.USAGE);
      });
      child.once('exit', (code, signal) => resolve(code ?? SIGNAL_BASE + (signal ? constants.signals[signal] : 0)));
    });
    clearInterval(timer);
    client.off('state', onState);
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    if (lost) throw lost;
    try {
      await client.request('lock.release', { board, name, token: lock.token });
    } catch (err) {
      // Expired just now: the command finished, so its status still stands.
      if (!(err instanceof BlackboardError && err.code === ErrorCode.FENCED)) throw err;
    }
    return status;
  },
};
