import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes } from '../../shared/protocol/errors.js';
import { requestSchemas } from '../../shared/protocol/messages/index.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Property: whatever arrives on a connection, each frame gets exactly one structured
 * reply (a result, or an error from the catalogue), frames known to be valid succeed,
 * the server stays up, and a board that no frame names is left exactly as it was.
 */

type Kind = 'valid' | 'invalid' | 'invalid-no-id' | 'mutated';
type Mutation = { cut: number; at: number } | { insert: string; at: number } | { replace: string; at: number } | { truncate: number };
/** Plain data, so that a failing case prints readably. */
type Case =
  | { kind: 'valid' | 'invalid'; frame: Record<string, unknown> }
  | { kind: 'invalid-no-id'; text: string }
  | { kind: 'mutated'; frame: Record<string, unknown>; mutations: Mutation[] };

const MAX_VALUE_BYTES = 4_096;
const MAX_JSON_DEPTH = 16;

let server: TestServer;
const board = randomBoard('fz');
const sentinel = randomBoard('fzs');

beforeAll(async () => {
  server = await startTestServer({
    env: { RATE_LIMIT_RPS: '0', MAX_VALUE_BYTES: String(MAX_VALUE_BYTES), MAX_JSON_DEPTH: String(MAX_JSON_DEPTH) },
  });
});
afterAll(async () => {
  await server?.stop();
});

// --- frames known to succeed -------------------------------------------------------

const segment = fc.stringMatching(/^[a-z0-9_.-]{1,8}$/);
const key = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => `k/${parts.join('/')}`);
/** Any JSON of bounded size and depth: the frame adds one level, the value starts at two. */
const value = fc.jsonValue({ maxDepth: 4 }).filter((v) => JSON.stringify(v).length < MAX_VALUE_BYTES / 2);

const validObject: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ op: fc.constant('put'), board: fc.constant(board), key, value }),
  fc.record({ op: fc.constant('get'), board: fc.constant(board), key: fc.constant('seed/a') }),
  fc.record({ op: fc.constant('list'), board: fc.constant(board), prefix: fc.constantFrom('', 'k/', 'seed/', 'zz'), limit: fc.integer({ min: 1, max: 50 }) }),
  fc.record({
    op: fc.constant('txn'),
    board: fc.constant(board),
    compare: fc.constant([]),
    ops: fc.uniqueArray(key, { minLength: 1, maxLength: 4 }).chain((keys) => fc.tuple(...keys.map((k) => value.map((v) => ({ op: 'put', key: k, value: v }))))),
  }),
  fc.record({
    op: fc.constant('patch'),
    board: fc.constant(board),
    key: fc.constant('seed/obj'),
    // A few fields, each small: the object stays under MAX_VALUE_BYTES however many patches land.
    patch: fc
      .tuple(
        fc.constantFrom('a', 'b', 'c'),
        value.filter((v) => JSON.stringify(v).length < 1_000),
      )
      .map(([field, v]) => [{ op: 'add', path: `/${field}`, value: v }]),
  }),
  fc.record({ op: fc.constant('boards'), prefix: fc.constant(board) }),
  fc.record({ op: fc.constant('history'), board: fc.constant(board), key: fc.constant('seed/a'), limit: fc.constant(5) }),
);

// --- frames known to fail ------------------------------------------------------------

const OPS = Object.keys(requestSchemas);
/** Every field any op knows: adding one of these could make a frame valid. */
const KNOWN_FIELDS = new Set(Object.values(requestSchemas).flatMap((schema) => Object.keys(schema.shape)));
/** Fields without which each op's frame is invalid. */
const REQUIRED: Record<string, string[]> = {
  put: ['board', 'key', 'value'],
  get: ['board', 'key'],
  list: ['board', 'prefix'],
  txn: ['board', 'compare', 'ops'],
  patch: ['board', 'key', 'patch'],
  history: ['board'],
  boards: [],
};

const invalidWithId: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc
    .string({ maxLength: 12 })
    .filter((op) => !OPS.includes(op))
    .map((op) => ({ op, board })),
  validObject.chain((o) =>
    fc
      .stringMatching(/^[a-zA-Z]{1,10}$/)
      .filter((f) => !KNOWN_FIELDS.has(f))
      .map((f) => ({ ...o, [f]: 1 })),
  ),
  validObject
    .filter((o) => (REQUIRED[String(o.op)] ?? []).length > 0)
    .chain((o) =>
      fc.constantFrom(...REQUIRED[String(o.op)]!).map((f) => {
        const copy = { ...o };
        delete copy[f];
        return copy;
      }),
    ),
  fc.record({ op: fc.constant('put'), board: fc.constantFrom('Upper', '-x', 'a b', '', 'x'.repeat(65)), key, value }),
  fc.record({ op: fc.constant('put'), board: fc.constant(board), key: fc.constantFrom('', 'a//b', '/a', 'a/', 'x'.repeat(513), 'a\u0001b'), value }),
  fc.record({ op: fc.constant('put'), board: fc.constant(board), key, value, ifVersion: fc.constantFrom('1', -1, 1.5, null, true) }),
  fc.record({ op: fc.constant('put'), board: fc.constant(board), key: fc.constantFrom('$locks/x', '$presence/me', '$tasks/q/t'), value }),
  fc.record({ op: fc.constant('delete'), board: fc.constant(board), key: fc.constant('$locks/x') }),
  fc.record({ op: fc.constant('put'), board: fc.constant(board), key, value: fc.constant('x'.repeat(MAX_VALUE_BYTES + 10)) }),
  fc.record({
    op: fc.constant('put'),
    board: fc.constant(board),
    key,
    value: fc.integer({ min: MAX_JSON_DEPTH, max: 2_000 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d)) as unknown),
  }),
  fc.record({
    op: fc.constant('txn'),
    board: fc.constant(board),
    compare: fc.constant([]),
    ops: key.map((k) => [
      { op: 'put', key: k, value: 1 },
      { op: 'delete', key: k },
    ]),
  }),
  fc.record({ op: fc.constant('patch'), board: fc.constant(board), key: fc.constant('seed/obj'), patch: fc.constant([{ op: 'explode', path: '/x' }]) }),
  fc.record({ op: fc.constant('subscribe'), board: fc.constant(board), patterns: fc.constantFrom([], ['a//b'], [''], 'x') }),
  fc.record({ op: fc.constant('unsubscribe'), sub: fc.stringMatching(/^nope[0-9]{1,4}$/) }),
);

const badId = fc.constantFrom<unknown>('1', 1.5, null, true, [], {}, 2 ** 60, -(2 ** 60), '');
const invalidNoId: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => `x${s}`),
  fc.string({ maxLength: 40 }).map((s) => `{${s}`),
  fc
    .jsonValue({ maxDepth: 2 })
    .filter((v) => v === null || typeof v !== 'object' || Array.isArray(v))
    .map((v) => JSON.stringify(v)),
  validObject.map((o) => JSON.stringify(o)),
  fc.tuple(validObject, badId).map(([o, id]) => JSON.stringify({ ...o, id })),
  fc.constant('{"id":1e400,"op":"get"}'),
  fc.constant(''),
);

// --- mutations of valid frames: validity unknown, a structured reply required --------

const position = fc.nat({ max: 10_000 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ cut: fc.integer({ min: 1, max: 4 }), at: position }),
  fc.record({
    insert: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', '0', '-', 'e', 'n', '$', '/', '*', ' ', 'é', '😀', '\u0000'),
    at: position,
  }),
  fc.record({ replace: fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }), at: position }),
  fc.record({ truncate: position }),
);

function mutate(text: string, m: Mutation): string {
  const at = (n: number) => n % Math.max(1, text.length);
  if ('cut' in m) return text.slice(0, at(m.at)) + text.slice(at(m.at) + m.cut);
  if ('insert' in m) return text.slice(0, at(m.at)) + m.insert + text.slice(at(m.at));
  if ('replace' in m) return text.slice(0, at(m.at)) + m.replace + text.slice(at(m.at) + 1);
  return text.slice(0, at(m.truncate));
}

const cases: fc.Arbitrary<Case[]> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: validObject.map((frame): Case => ({ kind: 'valid', frame })) },
    { weight: 2, arbitrary: invalidWithId.map((frame): Case => ({ kind: 'invalid', frame })) },
    { weight: 1, arbitrary: invalidNoId.map((text): Case => ({ kind: 'invalid-no-id', text })) },
    {
      weight: 3,
      // Not patches: a mutated patch path could turn the patched object into something later valid patches cannot patch.
      arbitrary: fc
        .tuple(
          validObject.filter((o) => o.op !== 'patch'),
          fc.array(mutation, { minLength: 1, maxLength: 3 }),
        )
        .map(([frame, mutations]): Case => ({ kind: 'mutated', frame, mutations })),
    },
  ),
  { minLength: 70, maxLength: 100 },
);

/** The frame's text: ids are given in sending order, so each reply can be matched. */
function textOf(c: Case, id: number): string {
  if (c.kind === 'invalid-no-id') return c.text;
  const text = JSON.stringify({ id, ...c.frame });
  return c.kind === 'mutated' ? c.mutations.reduce(mutate, text) : text;
}

/** Whether a frame carries an id the server can answer to (a safe integer at the top level of a JSON object). */
function usableId(text: string): number | null {
  try {
    const frame: unknown = JSON.parse(text);
    if (frame !== null && typeof frame === 'object' && !Array.isArray(frame) && 'id' in frame && Number.isSafeInteger(frame.id)) {
      return frame.id as number;
    }
  } catch {
    // not JSON
  }
  return null;
}

async function snapshotOf(raw: RawSocket, name: string): Promise<unknown> {
  const list = await raw.call('list', { board: name, prefix: '' });
  const history = await raw.call('history', { board: name });
  return { list: list.result, history: history.result };
}

describe('fuzzing the wire', () => {
  it('thousands of random, invalid and mutated frames mixed with valid ones: each answered in structure, valid ones succeed, other boards untouched', async () => {
    const setup = await RawSocket.open(server.wsUrl);
    for (const k of ['s/1', 's/2', 'deep/x/y']) expect((await setup.call('put', { board: sentinel, key: k, value: { k } })).ok).toBe(true);
    expect((await setup.call('put', { board, key: 'seed/a', value: 'a' })).ok).toBe(true);
    expect((await setup.call('put', { board, key: 'seed/obj', value: {} })).ok).toBe(true);
    const sentinelBefore = await snapshotOf(setup, sentinel);

    const raw = await RawSocket.open(server.wsUrl);
    let consumed = 0;
    let nextId = 1_000;
    const counts: Record<Kind | 'mutated-ok', number> = { valid: 0, invalid: 0, 'invalid-no-id': 0, mutated: 0, 'mutated-ok': 0 };
    /** The next reply (not a push) after the ones already read. */
    const nextReply = () =>
      raw.until(() => {
        while (consumed < raw.messages.length) {
          const m = raw.messages[consumed++]!;
          if (!('push' in m)) return m;
        }
        return undefined;
      });

    await fc.assert(
      fc.asyncProperty(cases, async (batch) => {
        for (const c of batch) {
          const text = textOf(c, nextId++);
          raw.sendText(text);
          const reply = await nextReply();
          counts[c.kind]++;
          const context = `${c.kind}: ${text.slice(0, 200)} → ${JSON.stringify(reply).slice(0, 300)}`;
          expect(Object.keys(reply).sort(), context).toEqual(reply.ok === true ? ['id', 'ok', 'result'] : ['error', 'id', 'ok']);
          expect(reply.id, context).toBe(usableId(text));
          if (reply.ok !== true) {
            const error = reply.error as { code: unknown; message: unknown };
            expect(errorCodes, context).toContain(error.code);
            expect(typeof error.message, context).toBe('string');
            expect(error.code, context).not.toBe('INTERNAL');
          }
          if (c.kind === 'valid') expect(reply.ok, context).toBe(true);
          if (c.kind === 'invalid' || c.kind === 'invalid-no-id') expect(reply.ok, context).toBe(false);
          if (c.kind === 'mutated' && reply.ok === true) counts['mutated-ok']++;
        }
      }),
      { numRuns: 30, endOnFailure: true },
    );

    console.info(`fuzz frames: ${JSON.stringify(counts)}`);
    const total = counts.valid + counts.invalid + counts['invalid-no-id'] + counts.mutated;
    expect(total).toBeGreaterThanOrEqual(2_000);
    expect(raw.closeCode).toBeNull();
    // Still up: health, a fresh connection, and the sentinel board exactly as before.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const check = await RawSocket.open(server.wsUrl);
    expect(await snapshotOf(check, sentinel)).toEqual(sentinelBefore);
    check.close();
    setup.close();
    raw.close();
    // Thousands of sequential round trips: minutes on a busy machine.
  }, 240_000);
});
