import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { BlackboardClient } from '../sdk/client.js';
import { parseInteger, stringFlag, boolFlag, type CommandLine } from './args.js';
import { Output } from './output.js';
import { refusalReportingSocket, type Refusal } from './socket.js';

export const DEFAULT_URL = 'ws://127.0.0.1:8080';
const DEFAULT_TIMEOUT_MS = 10_000;

interface GlobalFlags {
  url: string;
  agent: string | undefined;
  token: string | undefined;
  json: boolean;
  /** Bound on connecting and on each request. */
  timeoutMs: number;
}

export function readGlobalFlags(line: CommandLine, env: NodeJS.ProcessEnv = process.env): GlobalFlags {
  const timeout = stringFlag(line, 'timeout');
  return {
    url: stringFlag(line, 'url') ?? (env.BLACKBOARD_URL || DEFAULT_URL),
    agent: stringFlag(line, 'agent'),
    token: stringFlag(line, 'token') ?? (env.BLACKBOARD_TOKEN || undefined),
    json: boolFlag(line, 'json'),
    timeoutMs: timeout === undefined ? DEFAULT_TIMEOUT_MS : parseInteger(timeout, '--timeout', 1, 3_600_000),
  };
}

function refusalError(refusal: Refusal): BlackboardError {
  const code = refusal.status === 401 ? ErrorCode.UNAUTHORIZED : refusal.status === 403 ? ErrorCode.FORBIDDEN : ErrorCode.UNAVAILABLE;
  return new BlackboardError(code, `the server refused the connection (HTTP ${refusal.status}): ${refusal.message}`, {
    status: refusal.status,
  });
}

/** What a command works with: the flags, the output, and a connection opened on first use. */
export class CliContext {
  readonly out: Output;
  private client: BlackboardClient | null = null;
  private refusal: BlackboardError | null = null;
  private readonly refusalListeners = new Set<(err: BlackboardError) => void>();

  constructor(readonly flags: GlobalFlags) {
    this.out = new Output(flags.json);
  }

  /** Connects (once), failing with UNAVAILABLE after --timeout, or at once when the server refuses. */
  async connect(): Promise<BlackboardClient> {
    if (this.refusal) throw this.refusal;
    if (!this.client) {
      this.client = new BlackboardClient({
        url: this.flags.url,
        ...(this.flags.agent ? { agent: this.flags.agent } : {}),
        ...(this.flags.token ? { token: this.flags.token } : {}),
        WebSocket: refusalReportingSocket((refusal) => {
          this.refusal ??= refusalError(refusal);
          for (const listener of this.refusalListeners) listener(this.refusal);
        }),
        reconnect: { baseMs: 100, capMs: 2_000 },
        requestTimeoutMs: this.flags.timeoutMs,
      });
    }
    const client = this.client;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onRefused: ((err: BlackboardError) => void) | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new BlackboardError(ErrorCode.UNAVAILABLE, `could not connect to ${this.flags.url} within ${this.flags.timeoutMs} ms`)),
            this.flags.timeoutMs,
          );
          onRefused = reject;
          this.refusalListeners.add(reject);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onRefused) this.refusalListeners.delete(onRefused);
    }
    return client;
  }

  /** Calls `listener` if the server refuses a later reconnect (an expired or revoked token). */
  onRefused(listener: (err: BlackboardError) => void): void {
    this.refusalListeners.add(listener);
  }

  close(): void {
    this.client?.close();
  }
}
