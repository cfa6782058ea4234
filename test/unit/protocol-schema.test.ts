import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { requestSchemas, resultSchemas } from '../../shared/protocol/messages/index.js';
import { pushSchemas } from '../../shared/protocol/messages/pushes.js';
import { PROTOCOL_SCHEMA_PATH, renderProtocolSchema } from '../../scripts/gen-protocol-schema.js';
import { FrameCheck, takeViolations } from '../helpers/frame-check.js';

const onDisk = () => readFileSync(PROTOCOL_SCHEMA_PATH, 'utf8');

let published: Ajv2020 | null = null;

/** A definition of the file as published (open results), compiled once. */
function compiled(def: string) {
  if (!published) {
    published = new Ajv2020({ strict: true, strictRequired: false });
    published.addSchema(JSON.parse(onDisk()) as object, 'protocol');
  }
  return published.getSchema(`protocol#/$defs/${def}`)!;
}

describe('docs/protocol.schema.json', () => {
  it('is what the zod schemas generate (run `npm run protocol-schema` after changing them)', () => {
    expect(onDisk(), 'docs/protocol.schema.json is out of date: run `npm run protocol-schema`').toBe(renderProtocolSchema());
  });

  it('has a request and a result definition for every op, and one per push', () => {
    const defs = Object.keys((JSON.parse(onDisk()) as { $defs: object }).$defs);
    for (const op of Object.keys(requestSchemas)) expect(defs).toContain(`request.${op}`);
    expect(Object.keys(resultSchemas).sort()).toEqual(Object.keys(requestSchemas).sort());
    for (const op of Object.keys(resultSchemas)) expect(defs).toContain(`result.${op}`);
    for (const push of Object.keys(pushSchemas)) expect(defs).toContain(`push.${push}`);
    for (const def of ['request', 'reply', 'push', 'reply.ok', 'reply.error', 'error', 'keyRecord', 'event']) expect(defs).toContain(def);
  });

  it('is precise: strict requests, integers, required fields, one of value or patch, details always there', () => {
    const put = compiled('request.put');
    expect(put({ id: 1, op: 'put', board: 'b', key: 'k', value: null })).toBe(true);
    expect(put({ id: 1, op: 'put', board: 'b', key: 'k', value: 1, ifversion: 1 })).toBe(false);
    expect(put({ id: 1, op: 'put', board: 'b', key: 'k', value: 1, ifVersion: 1.5 })).toBe(false);
    expect(put({ id: 1, op: 'put', board: 'b', key: 'a//b', value: 1 })).toBe(false);
    expect(put({ id: 1, op: 'put', board: 'b', key: 'a\ud800', value: 1 })).toBe(false);
    expect(put({ id: 1, op: 'put', board: 'b', key: 'a\ud83d\ude00', value: 1 })).toBe(true);
    expect(put({ id: 1, op: 'put', board: 'B', key: 'k' })).toBe(false);

    const event = compiled('event');
    const base = { rev: 2, key: 'k', actor: 'a', ts: 1 };
    expect(event({ ...base, type: 'put', version: 2, value: { x: 1 } })).toBe(true);
    expect(event({ ...base, type: 'put', version: 2, patch: [{ op: 'add', path: '/x', value: 1 }] })).toBe(true);
    expect(event({ ...base, type: 'put', version: 2, value: 1, patch: [] })).toBe(false);
    expect(event({ ...base, type: 'put', version: 2 })).toBe(false);
    expect(event({ ...base, type: 'delete', version: 0 })).toBe(true);
    expect(event({ ...base, type: 'delete', version: 3 })).toBe(false);

    const replyError = compiled('reply.error');
    expect(replyError({ id: null, ok: false, error: { code: 'BAD_REQUEST', message: 'x', details: {} } })).toBe(true);
    expect(replyError({ id: 3, ok: false, error: { code: 'BAD_REQUEST', message: 'x' } })).toBe(false);
    expect(replyError({ id: 3, ok: false, error: { code: 'NOPE', message: 'x', details: {} } })).toBe(false);
    // Results may carry more fields than listed: the published file leaves them open.
    expect(compiled('result.put')({ version: 1, rev: 1, later: true })).toBe(true);
    expect(compiled('result.put')({ version: 0, rev: 1 })).toBe(false);
  });

  it('task ids: no integer and no negative number (the queue reads those as its own), in zod and in the published file alike', () => {
    const enqueue = compiled('request.task.enqueue');
    const frame = (taskId: string) => ({ id: 1, op: 'task.enqueue', board: 'b', queue: 'q', data: null, taskId });
    for (const bad of ['42', '-92', '-0', '-.4', '-1.', '-1.5', '-1.5e3', '-2E-7', '-Infinity', '', 'a b', 'x'.repeat(129)]) {
      expect(enqueue(frame(bad)), bad).toBe(false);
      expect(requestSchemas['task.enqueue'].safeParse(frame(bad)).success, bad).toBe(false);
    }
    for (const good of ['job-1', '1.5', '1e3', '-', '-x', '-1e', '-1-2', '.4', 'Infinity', '-.', 'a'.repeat(128)]) {
      expect(enqueue(frame(good)), good).toBe(true);
      expect(requestSchemas['task.enqueue'].safeParse(frame(good)).success, good).toBe(true);
    }
  });

  it('the frame check used by the integration tests records a frame that does not match, against the op it answers', () => {
    const check = new FrameCheck();
    check.sent(JSON.stringify({ id: 7, op: 'put', board: 'b', key: 'k', value: 1 }));
    check.received(JSON.stringify({ id: 7, ok: true, result: { version: 1, rev: 1 } }));
    expect(takeViolations()).toEqual([]);
    check.sent(JSON.stringify({ id: 8, op: 'put', board: 'b', key: 'k', value: 1 }));
    check.received(JSON.stringify({ id: 8, ok: true, result: { version: 1, rev: 1, undocumented: 1 } }));
    check.received(JSON.stringify({ push: 'progress', sub: 's1' }));
    check.received(JSON.stringify({ id: null, ok: false, error: { code: 'BAD_REQUEST', message: 'no details' } }));
    check.received(JSON.stringify({ push: 'surprise' }));
    const found = takeViolations();
    expect(found).toHaveLength(4);
    expect(found[0]).toContain('undocumented');
  });
});
