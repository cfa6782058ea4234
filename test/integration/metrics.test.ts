import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BlackboardError, ErrorCode } from '../../client/sdk/index.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text format strictly: every line is a comment, blank, or
 * `name{labels} value` (Prometheus reads NaN case-insensitively; prom-client writes `Nan`).
 */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([-+]?(?:[0-9.]+(?:e[-+]?\d+)?|Inf|NaN|Nan))(?: -?\d+)?$/;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      else expect(line).toMatch(/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* /);
      continue;
    }
    const m = sampleLine.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    const labelText = m[2] ?? '';
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
    let at = 0;
    while (at < labelText.length) {
      labelPattern.lastIndex = at;
      const l = labelPattern.exec(labelText);
      if (!l) throw new Error(`bad labels in: ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      at = labelPattern.lastIndex;
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]!.replace('Inf', 'Infinity')) });
  }
  return { samples, types };
}

async function scrape(server: TestServer) {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parsePrometheus(await res.text());
}

/** The value of one sample (0 when absent, as a counter not yet touched). */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found?.value ?? 0;
}

let server: TestServer;
beforeAll(async () => {
  // Every scrape renders afresh: the tests compare one scrape with the next.
  server = await startTestServer({ env: { MAX_OUTBOUND_BYTES: String(64 * 1024), METRICS_CACHE_MS: '0' } });
});
afterAll(async () => {
  await server?.stop();
});

describe('GET /metrics', () => {
  it('is Prometheus text in which every sample belongs to a declared family', async () => {
    const { samples, types } = await scrape(server);
    expect(samples.length).toBeGreaterThan(20);
    for (const s of samples) {
      const family = s.name.replace(/_(bucket|sum|count)$/, '');
      expect(types.has(s.name) || types.get(family) === 'histogram' || types.get(family) === 'summary', s.name).toBe(true);
    }
    for (const [name, type] of [
      ['blackboard_connections', 'gauge'],
      ['blackboard_subscriptions', 'gauge'],
      ['blackboard_ops_total', 'counter'],
      ['blackboard_op_duration_seconds', 'histogram'],
      ['blackboard_event_frames_sent_total', 'counter'],
      ['blackboard_event_bytes_sent_total', 'counter'],
      ['blackboard_slow_consumers_dropped_total', 'counter'],
      ['blackboard_dependency_errors_total', 'counter'],
      ['blackboard_locks_held', 'gauge'],
      ['blackboard_tasks', 'gauge'],
      ['process_cpu_user_seconds_total', 'counter'],
    ] as const) {
      expect(types.get(name), name).toBe(type);
    }
  });

  it('counters move with traffic: ops by result, latency, connections, subscriptions, fan-out', async () => {
    const board = randomBoard();
    const before = (await scrape(server)).samples;
    const writer = await server.client();
    const reader = await server.client();
    const seen: number[] = [];
    const watch = reader.watch(board, ['**'], (change) => {
      if (change.type === 'event') seen.push(change.rev);
    });
    await watch.ready();
    for (let i = 0; i < 5; i++) await writer.put(board, `k/${i}`, { i });
    const conflict = await writer.put(board, 'k/0', 0, { ifVersion: 7 }).catch((e: BlackboardError) => e);
    expect((conflict as BlackboardError).code).toBe(ErrorCode.CONFLICT);
    const missing = await writer.get(board, 'nope').catch((e: BlackboardError) => e);
    expect((missing as BlackboardError).code).toBe(ErrorCode.NOT_FOUND);
    await waitFor(() => seen.length === 5, 10_000, 'the watcher to see 5 events');

    const after = (await scrape(server)).samples;
    const delta = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta('blackboard_ops_total', { op: 'put', result: 'ok' })).toBe(5);
    expect(delta('blackboard_ops_total', { op: 'put', result: 'CONFLICT' })).toBe(1);
    expect(delta('blackboard_ops_total', { op: 'get', result: 'NOT_FOUND' })).toBe(1);
    expect(delta('blackboard_ops_total', { op: 'subscribe', result: 'ok' })).toBe(1);
    expect(delta('blackboard_op_duration_seconds_count', { op: 'put' })).toBe(6);
    expect(delta('blackboard_op_duration_seconds_bucket', { op: 'put', le: '+Inf' })).toBe(6);
    expect(delta('blackboard_op_duration_seconds_sum', { op: 'put' })).toBeGreaterThan(0);
    expect(delta('blackboard_event_frames_sent_total')).toBeGreaterThanOrEqual(1);
    expect(delta('blackboard_event_bytes_sent_total')).toBeGreaterThan(5 * 20);
    expect(valueOf(after, 'blackboard_connections')).toBe(2);
    expect(valueOf(after, 'blackboard_subscriptions')).toBe(1);

    watch.close();
    writer.close();
    reader.close();
    await waitFor(async () => valueOf((await scrape(server)).samples, 'blackboard_connections') === 0, 10_000, 'connections to close');
  });

  it('counts a slow consumer it drops', async () => {
    const board = randomBoard();
    const before = valueOf((await scrape(server)).samples, 'blackboard_slow_consumers_dropped_total');
    const slow = await RawSocket.open(server.wsUrl);
    // Many subscriptions on one connection multiply each event, so a few writes overflow it.
    for (let i = 0; i < 200; i++) await slow.call('subscribe', { board, patterns: ['**'] });
    slow.ws.pause();
    const writer = await server.client();
    const payload = 'x'.repeat(20_000);
    // The server marks the connection closed at once; the peer, paused, only learns later.
    const dropped = () => [...server.services.sessions].some((s) => s.closed);
    for (let i = 0; i < 200 && !dropped(); i++) await writer.put(board, 'big', { i, payload });
    await waitFor(dropped, 10_000, 'the slow consumer to be dropped');
    const after = valueOf((await scrape(server)).samples, 'blackboard_slow_consumers_dropped_total');
    expect(after - before).toBe(1);
    slow.ws.resume();
    expect(await slow.waitClose(15_000)).toBe(4008);
    writer.close();
  });
});
