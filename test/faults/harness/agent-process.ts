import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { waitUntil } from './time.js';

export type AgentLine = Record<string, unknown> & { event: string };

/**
 * An agent in a process of its own (test/faults/*-agent.ts), reporting one JSON object
 * per line on stdout, that a scenario can freeze (SIGSTOP), thaw and kill.
 */
export class AgentProcess {
  readonly lines: AgentLine[] = [];
  readonly exited: Promise<number | string>;
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(script: string, args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      try {
        this.lines.push(JSON.parse(text) as AgentLine);
      } catch {
        // Not a report line.
      }
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4_000);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('agent process has no pid');
    return pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  errors(): string {
    return this.stderr;
  }

  all(event: string): AgentLine[] {
    return this.lines.filter((l) => l.event === event);
  }

  async until(event: string, match: (line: AgentLine) => boolean = () => true, timeoutMs = 30_000): Promise<AgentLine> {
    let found: AgentLine | undefined;
    await waitUntil(
      () => {
        found = this.lines.find((l) => l.event === event && match(l));
        if (!found && !this.running) throw new Error(`agent ${this.pid} exited before "${event}": ${this.stderr.slice(-500)}`);
        return found !== undefined;
      },
      timeoutMs,
      `agent ${event}`,
    );
    return found!;
  }

  /** The process state letter from /proc (T: stopped), the evidence that SIGSTOP took hold. */
  state(): string {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '?';
    } catch {
      return 'gone';
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  async kill(): Promise<number | string> {
    if (this.running) {
      this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
    }
    return this.exited;
  }
}
