import { randomInt } from 'node:crypto';

export type ChannelVersion = string | number;

const COUNTER_WIDTH = 32;

/**
 * The next channel version: `<counter, 32 digits>.<16 random digits>`. The counter keeps
 * versions ordered (as strings, the way LangGraph compares them); the random part makes
 * every writer's versions distinct, so two writers racing on one thread, or a fork from
 * an old checkpoint, never name the same channel key with different values.
 */
export function nextChannelVersion(current: ChannelVersion | undefined): string {
  let counter = 0;
  if (typeof current === 'number') counter = Math.floor(current);
  else if (typeof current === 'string' && current !== '') counter = Number.parseInt(current.split('.')[0]!, 10) || 0;
  const random = `${randomInt(1e8)}`.padStart(8, '0') + `${randomInt(1e8)}`.padStart(8, '0');
  return `${String(counter + 1).padStart(COUNTER_WIDTH, '0')}.${random}`;
}
