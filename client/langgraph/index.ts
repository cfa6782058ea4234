/**
 * `blackboard/langgraph`: LangGraph.js checkpointer and store on a Blackboard board.
 * Needs the optional peer dependencies `@langchain/langgraph-checkpoint` and `@langchain/core`.
 */
export { BlackboardSaver, MAX_KEEP, type BlackboardSaverOptions, type Durability } from './saver.js';
export { BlackboardStore, type BlackboardStoreOptions } from './store.js';
export { LangGraphBoardError, LangGraphErrorCode, ThreadAdvancedError } from './errors.js';
export { ThreadKeys, encodeSegment, decodeSegment, escapeText, unescapeText, invertCheckpointId } from './keys.js';
export type { QueryMatcher } from './store-query.js';
