import { BlackboardError, ErrorCode } from '../../../shared/protocol/errors.js';
import { intFlag, positional } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatEvent } from '../output.js';

export const watchCommand: Command = {
  name: 'watch',
  usage: 'watch <board> [pattern ...] [--from-rev N] [--count N]',
  summary: 'Stream changes to matching keys (default pattern **), one per line, resuming after reconnects.',
  details: [
    'Starts after the current revision, or at --from-rev (inclusive). After a lost connection it',
    'resumes where it stopped, without gap or duplicate; if the server can no longer replay that far,',
    'it starts again from the current state and says so (with --json: a {"type":"reset"} line on stdout).',
    'Runs until interrupted, or until --count events have been printed.',
  ],
  options: { 'from-rev': { type: 'string' }, count: { type: 'string' } },
  async run(ctx, line) {
    const board = positional(line, 0, 'board');
    const patterns = line.positionals.length > 1 ? line.positionals.slice(1) : ['**'];
    const fromRev = intFlag(line, 'from-rev', 1);
    const count = intFlag(line, 'count', 1);
    const client = await ctx.connect();
    // The replica resubscribes silently on failure; a first plain subscribe surfaces a bad
    // board, pattern or scope as an error with its code instead.
    const probe = await client.subscribe({ board, patterns }, {});
    await client.unsubscribe(probe.sub);

    return new Promise<number>((resolve, reject) => {
      let printed = 0;
      let resets = 0;
      let finished = false;
      let lost = false;
      const finish = (err: BlackboardError | null) => {
        if (finished) return;
        finished = true;
        watch.close();
        process.off('SIGINT', interrupted);
        process.off('SIGTERM', interrupted);
        if (err) reject(err);
        else resolve(ExitCode.OK);
      };
      const interrupted = () => finish(null);
      process.once('SIGINT', interrupted);
      process.once('SIGTERM', interrupted);
      ctx.onRefused((err) => finish(err));

      client.on('state', (state) => {
        if (finished) return;
        if (state === 'disconnected' && !lost) ctx.out.note('connection lost; reconnecting…');
        if (state === 'disconnected') lost = true;
        if (state === 'connected' && lost) ctx.out.note('reconnected; resuming');
        if (state === 'connected') lost = false;
        if (state === 'closed') finish(new BlackboardError(ErrorCode.UNAUTHORIZED, 'the server closed the connection by policy (token expired or revoked?)'));
      });

      const watch = client.watch(
        board,
        patterns,
        (change) => {
          if (finished) return;
          if (change.type === 'event') {
            ctx.out.result(change.event, () => formatEvent(change.event));
            if (count !== undefined && ++printed >= count) finish(null);
          } else if (change.type === 'reset' && (resets++ > 0 || fromRev !== undefined)) {
            // Only a reset after the start means events could not be replayed.
            ctx.out.result(
              { type: 'reset', rev: change.rev, epoch: change.epoch },
              () => `-- history could not be replayed; current state is at rev ${change.rev} --`,
            );
          }
        },
        fromRev === undefined ? {} : { fromRev },
      );
      void watch.ready().then(() => {
        const start = fromRev ?? watch.rev + 1;
        ctx.out.status({ status: 'watching', board, patterns, fromRev: start }, `watching ${board} ${patterns.join(' ')} from rev ${start}`);
      });
    });
  },
};
