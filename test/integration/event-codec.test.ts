import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry, encodeEvent, revisionRecords, toRevisions } from '../../server/board/event-codec.js';
import { readStream } from '../../server/board/feed.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The event text the commit script writes, read back by the one module that decodes it:
 * every event of every write shape decodes into columns (not the verbatim fallback) and
 * encodes back to the same bytes, so Postgres rows give back what the stream held.
 */
describe('event codec against the commit script', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('decodes each event the script built and re-encodes it byte for byte', async () => {
    const board = randomBoard('codec');
    const raw = await RawSocket.open(`${server.wsUrl}?agent=codec.agent@x-1`);
    const send = async (frame: string) => {
      const id = Math.floor(Math.random() * 1e9);
      raw.sendText(`{"id":${id},${frame}}`);
      const reply = await raw.until(() => raw.messages.find((m) => m.id === id));
      expect(reply.error).toBeUndefined();
    };
    const at = `"board":${JSON.stringify(board)}`;
    // Values as text the writer chose: big numbers, empty arrays, escapes, non-ASCII.
    const odd = '{"big":123456789012345678901234567890,"list":[],"s":"tab\\t \\"q\\" \\\\ \\u2603 ☃","f":-0.5e-7,"n":null}';
    const keys = ['plain', 'k/"quoted"/☃', 'a\\b'];
    await send(`"op":"put",${at},"key":${JSON.stringify(keys[0])},"value":${odd}`);
    await send(`"op":"put",${at},"key":${JSON.stringify(keys[1])},"value":[]`);
    await send(`"op":"put",${at},"key":${JSON.stringify(keys[2])},"value":"x"`);
    await send(`"op":"patch",${at},"key":${JSON.stringify(keys[0])},"patch":[{"op":"add","path":"/list/-","value":98765432109876543210}]`);
    await send(`"op":"delete",${at},"key":${JSON.stringify(keys[2])}`);
    await send(
      `"op":"txn",${at},"compare":[],"ops":[{"op":"put","key":"t/1","value":{"deep":[[],{}]}},{"op":"delete","key":${JSON.stringify(keys[1])}},{"op":"patch","key":${JSON.stringify(keys[0])},"patch":[{"op":"replace","path":"/n","value":true}]}]`,
    );
    raw.close();

    const revisions = await readStream(server.services.redis, board, 1, 100);
    expect(revisions.map((r) => r.rev)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(revisions.at(-1)!.entries).toHaveLength(3);
    const types: string[] = [];
    for (const revision of revisions) {
      for (const [i, entry] of revision.entries.entries()) {
        const record = decodeEntry(revision.rev, entry, i);
        // Columns, not the verbatim fallback: the script's shape is the codec's.
        expect(record.raw).toBeNull();
        expect(encodeEvent(record)).toBe(entry.eventJson);
        const parsed = JSON.parse(entry.eventJson) as Record<string, unknown>;
        expect(Object.keys(parsed)).toEqual(
          parsed.type === 'put' ? ['rev', 'key', 'type', 'version', 'value', 'actor', 'ts'] : ['rev', 'key', 'type', 'version', 'actor', 'ts'],
        );
        expect([parsed.rev, parsed.key, parsed.version, parsed.actor, parsed.ts]).toEqual([
          revision.rev,
          entry.key,
          record.version,
          'codec.agent@x-1',
          record.ts,
        ]);
        expect(record.type).toBe(parsed.type === 'put' ? 1 : 0);
        expect(record.patch).toBe(entry.patchJson === '' ? null : entry.patchJson);
        types.push(parsed.type as string);
      }
      // Rows back to stream-shaped revisions: the same text, patches included.
      const [rebuilt] = toRevisions(revisionRecords(revision), revision.epoch);
      expect(rebuilt).toEqual({ rev: revision.rev, epoch: revision.epoch, entries: revision.entries });
    }
    expect(types).toEqual(['put', 'put', 'put', 'put', 'delete', 'put', 'delete', 'put']);
    // The writer's text survives: the big number and the empty array are not re-serialized.
    const first = decodeEntry(1, revisions[0]!.entries[0]!, 0);
    expect(first.value).toContain('123456789012345678901234567890');
    expect(first.value).toContain('"list":[]');
    expect(revisions[3]!.entries[0]!.patchJson).toContain('98765432109876543210');
  });

  it('keeps an event of any other shape verbatim', () => {
    const entry = { key: 'k', eventJson: '{"key":"k","rev":1,"type":"put","version":1,"value":1,"actor":"a","ts":5}', patchJson: '' };
    const record = decodeEntry(1, entry, 0);
    expect(record.raw).toBe(entry.eventJson);
    expect([record.type, record.version, record.value, record.ts]).toEqual([1, 1, '1', 5]);
    expect(encodeEvent(record)).toBe(entry.eventJson);
  });
});
