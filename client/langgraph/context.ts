import type { SerializerProtocol } from '@langchain/langgraph-checkpoint';
import type { BlackboardClient } from '../sdk/index.js';
import type { ValueLimits } from './stored-value.js';
import type { ThreadViews } from './thread-view.js';

/** What the saver's readers and writers share. */
export interface SaverContext {
  client: BlackboardClient;
  board: string;
  /** First segment(s) of every key (default `lg`). */
  root: string;
  serde: SerializerProtocol;
  views: ThreadViews;
  limits: ValueLimits;
}
