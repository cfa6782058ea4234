import { freePort, spawnServer, type ServerProcess } from '../../helpers/process-server.js';

/**
 * One server node as a real child process on a fixed port, so it can be SIGKILLed and
 * started again where its clients expect it. Every start is a new process id: the
 * evidence that a kill really replaced the node.
 */
export class ServerNode {
  private current: ServerProcess | null = null;
  /** Process ids this node has had, oldest first. */
  readonly pids: number[] = [];
  kills = 0;
  /** Exits nobody asked for: a crash, with the end of the node's output. */
  readonly crashes: Array<{ pid: number; how: number | string; output: string }> = [];
  private expectingExit = false;

  private constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  static async start(env: Record<string, string>): Promise<ServerNode> {
    const node = new ServerNode(await freePort(), env);
    await node.spawn();
    return node;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/ws`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    const pid = this.current?.child.pid;
    if (pid === undefined) throw new Error('server node is not running');
    return pid;
  }

  output(): string {
    return this.current?.output() ?? '';
  }

  async spawn(): Promise<number> {
    if (this.current) throw new Error('server node is already running');
    const started = await spawnServer(this.port, this.env, 60_000);
    this.current = started;
    this.expectingExit = false;
    const pid = this.pid;
    this.pids.push(pid);
    void started.exited.then((how) => {
      if (this.current === started && !this.expectingExit) {
        this.crashes.push({ pid, how, output: started.output().slice(-4_000) });
        this.current = null;
      }
    });
    return pid;
  }

  /** SIGKILL: no shutdown, no goodbye to clients, persister batches cut mid-flight. */
  async kill(): Promise<number> {
    const running = this.current;
    if (!running) throw new Error('server node is not running');
    const pid = this.pid;
    this.expectingExit = true;
    running.child.kill('SIGKILL');
    const how = await running.exited;
    if (how !== 'SIGKILL') throw new Error(`server ${pid} ended with ${String(how)}, not SIGKILL`);
    this.current = null;
    this.kills++;
    return pid;
  }

  /** Throws if the node died on its own (not killed by the scenario). */
  assertAlive(): void {
    const crash = this.crashes[0];
    if (crash) {
      // The crash itself is what Node printed last, after the JSON log lines.
      const printed = crash.output
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('{') && !l.startsWith('at ') && !l.startsWith('^'));
      const last =
        printed
          .filter((l) => /Error|throw|Emitted/.test(l))
          .slice(0, 3)
          .join(' | ') || printed.slice(-3).join(' | ');
      throw new Error(`server node :${this.port} pid ${crash.pid} crashed (${String(crash.how)}): ${last}`);
    }
  }

  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.current?.child.kill(signal);
  }

  /** The value of one Prometheus counter or gauge (summed over its label sets). */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`${this.httpUrl}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }

  /** What /readyz says of each dependency (redis, postgres). */
  async dependencies(): Promise<Record<string, string>> {
    const body = (await (await fetch(`${this.httpUrl}/readyz`)).json()) as { dependencies?: Record<string, string> };
    return body.dependencies ?? {};
  }

  /** SIGTERM (a clean stop), then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const running = this.current;
    this.current = null;
    this.expectingExit = true;
    if (!running || running.child.exitCode !== null || running.child.signalCode !== null) return;
    running.child.kill('SIGCONT');
    running.child.kill('SIGTERM');
    const timer = setTimeout(() => running.child.kill('SIGKILL'), 5_000);
    await running.exited;
    clearTimeout(timer);
  }
}
