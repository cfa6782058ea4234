// A correct (linearizable) versioned register driven by simulated concurrent
// clients, used to produce realistic histories the checker must accept.
//
// Each request gets a random latency and a random linearization point inside
// it, in virtual time, so histories have real overlap without real sleeping.
// Some requests "time out": the client records no response and moves on,
// while the server may still apply the request later, or never.

import type { RegisterOperation, RegisterState } from './register-model.js';

export interface SimulationOptions {
  readonly operations: number;
  readonly clients: number;
  readonly seed: number;
  /** Fraction of requests whose outcome the client never learns. */
  readonly unknownRate: number;
  /** Fraction of requests that are deletes; keep 0 if you need valuesByVersion to be meaningful. */
  readonly deleteRate?: number;
  readonly keys?: readonly string[];
}

export interface SimulatedHistory {
  readonly ops: RegisterOperation[];
  /** For each key, the value each version held (only unambiguous when no deletes were simulated). */
  readonly valuesByVersion: ReadonlyMap<string, ReadonlyArray<string | null>>;
}

interface PendingRequest {
  readonly client: number;
  readonly key: string;
  readonly kind: RegisterOperation['op'];
  readonly call: number;
  readonly applyAt: number;
  /** Infinity when the client never learns the outcome. */
  readonly ret: number;
  readonly value: string;
  readonly ifVersion: number;
  applied: boolean;
  observed?: RegisterState;
  casWon?: boolean;
}

const MAX_LATENCY_MS = 6;
const MAX_THINK_MS = 2;
const CLIENT_TIMEOUT_MS = 10;

export function simulateLinearizableRegister(options: SimulationOptions): SimulatedHistory {
  const random = seededRandom(options.seed);
  const keys = options.keys ?? ['register'];
  const states = new Map<string, RegisterState>(keys.map((key) => [key, { version: 0, value: null }]));
  const valuesByVersion = new Map<string, Array<string | null>>(keys.map((key) => [key, [null]]));
  const lastSeenVersion = new Map<string, number>();
  const ops: RegisterOperation[] = [];
  let pending: PendingRequest[] = [];
  const nextCallAt = Array.from({ length: options.clients }, () => random() * MAX_THINK_MS);
  let issued = 0;

  const issue = (client: number, now: number): void => {
    const key = keys[Math.floor(random() * keys.length)] ?? 'register';
    const roll = random();
    const deleteRate = options.deleteRate ?? 0;
    const kind = roll < deleteRate ? 'delete' : roll < 0.45 ? 'read' : roll < 0.7 ? 'write' : 'cas';
    const latency = random() * MAX_LATENCY_MS;
    const outcomeKnown = random() >= options.unknownRate;
    // A timed-out request may still be applied well after the client gave up on it, or be lost.
    const applyAt = now + (outcomeKnown ? random() * latency : random() * 3 * CLIENT_TIMEOUT_MS);
    const takesEffect = outcomeKnown || random() < 0.5;
    const request: PendingRequest = {
      client,
      key,
      kind,
      call: now,
      applyAt: takesEffect ? applyAt : Infinity,
      ret: outcomeKnown ? now + latency : Infinity,
      value: `c${client}#${issued}`,
      ifVersion: lastSeenVersion.get(`${client}/${key}`) ?? 0,
      applied: false,
    };
    issued++;
    if (outcomeKnown) {
      nextCallAt[client] = Infinity; // until the response arrives
    } else {
      ops.push(toRecord(request));
      nextCallAt[client] = now + CLIENT_TIMEOUT_MS + random() * MAX_THINK_MS;
    }
    if (takesEffect) pending.push(request);
  };

  const apply = (request: PendingRequest): void => {
    request.applied = true;
    const state = states.get(request.key) ?? { version: 0, value: null };
    request.observed = state;
    let next = state;
    if (request.kind === 'write') next = { version: state.version + 1, value: request.value };
    if (request.kind === 'cas') {
      request.casWon = state.version === request.ifVersion;
      if (request.casWon) next = { version: state.version + 1, value: request.value };
    }
    if (request.kind === 'delete') next = { version: 0, value: null };
    if (next !== state && next.version > 0) valuesByVersion.get(request.key)?.push(next.value);
    states.set(request.key, next);
    if (request.ret === Infinity) pending = pending.filter((other) => other !== request);
  };

  const respond = (request: PendingRequest): void => {
    pending = pending.filter((other) => other !== request);
    const record = toRecord(request);
    ops.push(record);
    lastSeenVersion.set(`${request.client}/${request.key}`, versionAfter(request));
    nextCallAt[request.client] = request.ret + random() * MAX_THINK_MS;
  };

  while (issued < options.operations || pending.length > 0) {
    let time = Infinity;
    let action = (): void => {};
    if (issued < options.operations) {
      nextCallAt.forEach((callAt, client) => {
        if (callAt < time) [time, action] = [callAt, () => issue(client, callAt)];
      });
    }
    for (const request of pending) {
      if (!request.applied && request.applyAt < time) [time, action] = [request.applyAt, () => apply(request)];
      if (request.applied && request.ret < time) [time, action] = [request.ret, () => respond(request)];
    }
    if (time === Infinity) break;
    action();
  }
  return { ops, valuesByVersion };
}

/** The version the client learns from a response: what it will use as ifVersion next time. */
function versionAfter(request: PendingRequest): number {
  const before = request.observed?.version ?? 0;
  if (request.kind === 'delete') return 0;
  if (request.kind === 'write' || (request.kind === 'cas' && request.casWon === true)) return before + 1;
  return before;
}

/** The client's log entry: unknown-outcome requests carry no response. */
function toRecord(request: PendingRequest): RegisterOperation {
  const timing = { client: request.client, key: request.key, call: request.call };
  const observed = request.observed;
  if (request.ret === Infinity || observed === undefined) {
    const unknown = { ...timing, unknown: true };
    if (request.kind === 'write') return { ...unknown, op: 'write', input: { value: request.value } };
    if (request.kind === 'cas') return { ...unknown, op: 'cas', input: { value: request.value, ifVersion: request.ifVersion } };
    return { ...unknown, op: request.kind };
  }
  const known = { ...timing, ret: request.ret };
  switch (request.kind) {
    case 'read':
      return { ...known, op: 'read', output: observed };
    case 'write':
      return { ...known, op: 'write', input: { value: request.value }, output: { version: observed.version + 1 } };
    case 'cas':
      return {
        ...known,
        op: 'cas',
        input: { value: request.value, ifVersion: request.ifVersion },
        output: request.casWon ? { ok: true, version: observed.version + 1 } : { ok: false, currentVersion: observed.version },
      };
    case 'delete':
      return { ...known, op: 'delete', output: { ok: observed.version !== 0 } };
  }
}

/** mulberry32: deterministic so a failing seed can be replayed. */
export function seededRandom(seed: number): () => number {
  let current = seed | 0;
  return () => {
    current = (current + 0x6d2b79f5) | 0;
    let mixed = Math.imul(current ^ (current >>> 15), 1 | current);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}
