/**
 * LangGraph's official conformance suite for checkpointers, run against BlackboardSaver on
 * a real server with history (durable puts need Postgres), each checkpointer on a fresh board.
 * The suite calls vitest's functions as globals: they are installed for this file only,
 * before the suite is loaded.
 */
import * as vitest from 'vitest';
import type { BlackboardClient } from '../../client/sdk/index.js';
import { BlackboardSaver } from '../../client/langgraph/index.js';
import { testDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

Object.assign(globalThis, {
  describe: vitest.describe,
  it: vitest.it,
  test: vitest.test,
  expect: vitest.expect,
  beforeAll: vitest.beforeAll,
  afterAll: vitest.afterAll,
  beforeEach: vitest.beforeEach,
  afterEach: vitest.afterEach,
});
const { validate } = await import('@langchain/langgraph-checkpoint-validation');

let db: TestDatabase;
let server: TestServer;
let client: BlackboardClient;

validate<BlackboardSaver>({
  checkpointerName: 'BlackboardSaver',
  beforeAllTimeout: 60_000,
  async beforeAll() {
    db = testDatabase('bblgval');
    server = await startTestServer({ env: { DATABASE_URL: db.url } });
    client = await server.client();
  },
  async afterAll() {
    await server.stop();
    await db.drop();
  },
  createCheckpointer: () => new BlackboardSaver({ client, board: randomBoard('lgval') }),
});
