import { describe, expect, it } from 'vitest';
import type { Revision } from '../../server/board/revision.js';
import { decodeEntry, parseRevision, revisionRecords, revisionRows } from '../../server/board/event-codec.js';

const put = (rev: number, key: string, version: string, value: string, actor = '"a"', ts = '1700000000000') =>
  `{"rev":${rev},"key":${JSON.stringify(key)},"type":"put","version":${version},"value":${value},"actor":${actor},"ts":${ts}}`;
const del = (rev: number, key: string, version: string, actor = '{"agent":"x"}', ts = '5') =>
  `{"rev":${rev},"key":${JSON.stringify(key)},"type":"delete","version":${version},"actor":${actor},"ts":${ts}}`;

describe('event rows', () => {
  it('revisionRecords decodes every event exactly as decodeEntry does, the commit script shape and any other', () => {
    const events: Array<[string, string, string]> = [
      ['k', put(7, 'k', '1', '{"a":"x","b":[1,2]}'), ''],
      ['k"q\\', put(7, 'k"q\\', '3', '"text with ,\\"actor\\": inside"'), '[{"op":"replace","path":"/a","value":1}]'],
      ['é/ü', put(7, 'é/ü', '12', '123456789012345678901234567890', '"tab\\t"', '1'), ''],
      ['d', del(7, 'd', '4'), ''],
      ['v', put(7, 'v', '01', '1'), ''],
      ['t', put(7, 't', '1', '1', '"a"', '1e3'), ''],
      ['n', put(7, 'n', 'NaN', '1'), ''],
      ['i', put(7, 'i', 'Infinity', '1'), ''],
      ['e', put(7, 'e', '2', ''), ''],
      ['w', '{"rev":7,"key":"w","type":"put","version":1,"value":{"x":1},"ts":3,"actor":"b"}', ''],
      ['o', '{"key":"o","rev":7,"type":"put","version":1,"value":1,"actor":"a","ts":1}', ''],
      ['m', put(8, 'm', '1', '1'), ''],
      ['z', 'not json at all', ''],
      ['y', '{"rev":7,"key":"y","type":"merge","version":1,"actor":"a","ts":1}', ''],
    ];
    const revision: Revision = { rev: 7, epoch: 'e', entries: events.map(([key, eventJson, patchJson]) => ({ key, eventJson, patchJson })) };
    const fast = revisionRecords(revision);
    expect(fast).toEqual(revision.entries.map((entry, i) => decodeEntry(revision.rev, entry, i)));
    // The common shape is taken apart, not kept verbatim; the odd ones are kept verbatim.
    expect(fast.slice(0, 4).map((r) => r.raw)).toEqual([null, null, null, null]);
    expect(fast[0]).toMatchObject({ type: 1, version: 1, value: '{"a":"x","b":[1,2]}', actor: '"a"', ts: 1700000000000, pos: 0 });
    expect(fast[3]).toMatchObject({ type: 0, version: 4, value: null, actor: '{"agent":"x"}', ts: 5 });
    for (const i of [4, 5, 9, 10, 11, 12]) expect(fast[i]!.raw).toBe(events[i]![1]);
  });
  it('revisionRows takes a message to the rows parseRevision and revisionRecords give, malformed messages included', () => {
    const events = [
      ['k', put(9, 'k', '1', '{"a":"x"}'), ''],
      ['k"q\\', put(9, 'k"q\\', '3', '[]'), '[{"op":"add","path":"/-","value":1}]'],
      ['é/ü', put(9, 'é/ü', '12', '"ü"'), ''],
      ['d', del(9, 'd', '4'), ''],
      ['z', 'not json at all', ''],
      // No actor of its own: the previous line's must not be taken for it.
      ['q', '{"rev":9,"key":"q","type":"put","version":1,"value":1}', ''],
      ['v', put(9, 'v', '01', '1'), ''],
      ['t', put(9, 't', '1', '1', '"a"', '1e3'), ''],
      ['n', put(9, 'n', '-1', '1'), ''],
      ['b', put(9, 'b', '1234567890123456', '1', '"a"', '12345678901234567'), ''],
      ['c', put(9, 'c', '2', '{"x":",\\"actor\\":1,\\"ts\\":2}"}'), ''],
      ['', '', ''],
    ];
    const message = (n: number, count = n) => ['9', 'epoch-1', String(count), ...events.slice(0, n).flat()].join('\n');
    const messages = [
      message(1),
      message(events.length),
      `${message(2)}\n`,
      message(3, 5),
      message(4, 2),
      message(2, Number.NaN),
      '9\nepoch-1',
      '9',
      '',
      '\n\n\n',
    ];
    for (const m of messages) {
      const revision = parseRevision(m);
      expect(revisionRows(m)).toEqual({ rev: revision.rev, epoch: revision.epoch, records: revisionRecords(revision) });
    }
  });
});
