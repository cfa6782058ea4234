/**
 * LangGraph's official conformance suite for checkpointers, run against BlackboardSaver on
 * a real server with history (durable puts need Postgres), each checkpointer on a fresh board.
 * The suite calls vitest's functions as globals: they are installed for this file only,
 * before the suite is loaded.
 */
import * as vitest from 'vitest';
import type { BlackboardClient } from '../../client/sdk/index.js';
import { BlackboardSaver } from '../../client/langgraph/index.js';
import { randomBoard } from '../helpers/server.js';
import { startHistoryServer, type HistoryServer } from './fixtures/history-server.js';

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

let history: HistoryServer;
let client: BlackboardClient;

validate<BlackboardSaver>({
  checkpointerName: 'BlackboardSaver',
  beforeAllTimeout: 60_000,
  async beforeAll() {
    history = await startHistoryServer('bblgval');
    client = await history.server.client();
  },
  async afterAll() {
    await history.stop();
  },
  createCheckpointer: () => new BlackboardSaver({ client, board: randomBoard('lgval') }),
});
