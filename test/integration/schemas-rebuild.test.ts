import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { BlackboardError, ErrorCode } from '../../client/sdk/index.js';
import { boardKeys } from '../../server/board/keys.js';
import { randomBoard, startTestServer, waitFor } from '../helpers/server.js';
import { startRedisProcess } from '../helpers/redis-process.js';
import { testDatabase } from '../helpers/pg-database.js';

describe('typed boards after Redis loses its data', () => {
  it('schemas come back with the board from Postgres; a node that never saw them loads them on demand', async () => {
    await using redisServer = await startRedisProcess();
    await using db = testDatabase('bbschema');
    const env = { REDIS_URL: redisServer.url, DATABASE_URL: db.url, HISTORY_CHECK_MS: '200' };
    await using first = await startTestServer({ env });
    const direct = new Redis(redisServer.url);
    try {
      const board = randomBoard('sr');
      const admin = await first.client({ agent: 'admin' });
      const doc = { type: 'object', required: ['title'], properties: { title: { type: 'string' } } };
      await admin.setSchema(board, 'docs/*', doc, 1);
      for (let i = 0; i < 5; i++) await admin.put(board, `docs/${i}`, { title: `t${i}` });
      const tagged = { ...doc, required: ['title', 'tags'], properties: { ...doc.properties, tags: { type: 'array' } } };
      await admin.setSchema(board, 'docs/*', tagged, 2, { migration: [{ op: 'default', path: '/tags', value: [] }] });
      await waitFor(
        async () => {
          const { migration } = await admin.listSchemas(board);
          return !migration.pending && !migration.running;
        },
        20_000,
        'migration pass',
      );
      const { rev } = await admin.put(board, 'docs/9', { title: 'last', tags: ['x'] }, { durability: 'durable' });

      await direct.flushall();
      await using second = await startTestServer({ env });
      const writer = await second.client();
      // The write brings the board back from Postgres before it is validated.
      const refused = await writer.put(board, 'docs/new', { title: 'no tags' }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(BlackboardError);
      expect((refused as BlackboardError).code).toBe(ErrorCode.INVALID);
      expect((refused as BlackboardError).details).toMatchObject({
        pattern: 'docs/*',
        schemaVersion: 2,
        errors: [{ instancePath: '', message: "must have required property 'tags'" }],
      });
      expect(Number(await direct.hget(boardKeys(board).meta, 'rev'))).toBe(rev);
      await writer.put(board, 'docs/new', { title: 'tagged', tags: [] });

      // The values' recorded versions went with Redis; each is placed again by its schema.
      expect(await writer.get(board, 'docs/3')).toMatchObject({ value: { title: 't3', tags: [] }, schemaVersion: 2 });
      expect(await second.client({ agent: 'admin' }).then((c) => c.listSchemas(board))).toMatchObject({
        schemas: [{ pattern: 'docs/*', schemaVersion: 2, versions: [2, 1] }],
      });
      expect(await direct.hgetall(boardKeys(board).schemas)).toEqual({ 'docs%2F*': 'docs/*' });
    } finally {
      direct.disconnect();
    }
  });
});
