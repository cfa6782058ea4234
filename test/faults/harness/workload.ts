import type { Durability, History, RegisterClient } from './recorder.js';

export interface WorkloadOptions {
  board: string;
  /** Number of register keys (few keys: many clients race on each). */
  keys: number;
  /** Which durability each key's writes ask for. */
  durabilityOf(keyIndex: number): Durability;
  /** Pause between one client's operations, so faults land in the middle of a steady load. */
  thinkMs: number;
  /** The key generation to use now (raised when a new epoch is announced: see epochs.ts). */
  generation(): number;
  /** Called while waiting for operations; throws to end the wait (a server node crashed). */
  healthCheck?(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function registerKey(index: number, generation: number): string {
  return generation === 0 ? `reg/${index}` : `reg/${index}@g${generation}`;
}

/**
 * Register clients running reads, writes and compare-and-sets on a few keys until
 * stopped: 40% reads, 30% blind writes, 30% compare-and-sets on the version the client
 * last saw (so both wins and conflicts happen).
 */
export class Workload {
  private running = false;
  private paused = false;
  private writesHeld = false;
  private inFlight = 0;
  private writesInFlight = 0;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly clients: readonly RegisterClient[],
    private readonly history: History,
    private readonly options: WorkloadOptions,
  ) {}

  get operations(): number {
    return this.history.ops.length;
  }

  start(): void {
    this.running = true;
    this.loops = this.clients.map((client) => this.loop(client));
  }

  private async loop(client: RegisterClient): Promise<void> {
    const { board, keys, thinkMs } = this.options;
    while (this.running) {
      if (this.paused) {
        await sleep(10);
        continue;
      }
      const index = Math.floor(Math.random() * keys);
      const generation = this.options.generation();
      const key = registerKey(index, generation);
      const durability = this.options.durabilityOf(index);
      const dice = this.writesHeld ? 0 : Math.random();
      this.inFlight++;
      const writing = dice >= 0.4;
      if (writing) this.writesInFlight++;
      try {
        if (!writing) await client.read(board, key, generation);
        else if (dice < 0.7) await client.write(board, key, generation, durability);
        else await client.cas(board, key, generation, durability);
      } finally {
        this.inFlight--;
        if (writing) this.writesInFlight--;
      }
      await sleep(thinkMs * (0.5 + Math.random()));
    }
  }

  /** Waits until at least `count` operations have been recorded in total. */
  async until(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.operations < count) {
      this.options.healthCheck?.();
      if (Date.now() > deadline) throw new Error(`workload reached ${this.operations} of ${count} operations in ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  /** After the last fault: at least a tenth of the target more, and the target in total. */
  async finishAfterFaults(target: number, timeoutMs: number): Promise<void> {
    await this.until(Math.max(target, this.operations + Math.ceil(target / 10)), timeoutMs);
  }

  /** Waits for `count` more operations than now. */
  more(count: number, timeoutMs: number): Promise<void> {
    return this.until(this.operations + count, timeoutMs);
  }

  /** Holds every client before its next operation; resolves once none is in flight. */
  async pause(): Promise<void> {
    this.paused = true;
    while (this.inFlight > 0) await sleep(10);
  }

  /** Only reads from now on (until `resume`); resolves once no write is in flight. */
  async holdWrites(): Promise<void> {
    this.writesHeld = true;
    while (this.writesInFlight > 0) await sleep(10);
  }

  resume(): void {
    this.paused = false;
    this.writesHeld = false;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** After the faults: every client reads every key of the current generation, recorded too. */
  async finalReads(): Promise<void> {
    const generation = this.options.generation();
    await Promise.all(
      this.clients.map(async (client) => {
        for (let i = 0; i < this.options.keys; i++) await client.read(this.options.board, registerKey(i, generation), generation);
      }),
    );
  }
}
