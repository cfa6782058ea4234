import { randomInt } from 'node:crypto';

export type ChannelVersion = string | number;

/** The random part of a version: a multiple of 2^-32, so every version is an exact double. */
const FRACTION_STEPS = 2 ** 32;

/**
 * The next channel version: the next whole number plus a random fraction (e.g. 3.27…).
 * Versions stay numbers that grow (LangGraph compares them with `>`), and every writer's
 * are distinct, so two writers racing on one thread, or a fork from an old checkpoint,
 * never name the same channel key with different values.
 */
export function nextChannelVersion(current: ChannelVersion | undefined): number {
  let whole = 0;
  if (typeof current === 'number' && Number.isFinite(current)) whole = Math.floor(current);
  else if (typeof current === 'string' && current !== '') whole = Number.parseInt(current.split('.')[0]!, 10) || 0;
  return whole + 1 + randomInt(1, FRACTION_STEPS) / FRACTION_STEPS;
}
