/**
 * Generated prose for search tests and benchmarks: sentences drawn from a fixed vocabulary
 * by a seeded generator, so runs are repeatable and planted words are known to be absent
 * from everything else.
 */
const VOCABULARY = (
  'the a of and to in is it that for on with as was at by from this be are or an have not ' +
  'agent board task plan step review result value key write read lock queue worker check ' +
  'state change event order table index batch round node server client socket frame reply ' +
  'error retry limit bound cost time fast slow large small early late first last next other ' +
  'team model prompt answer question note summary draft final version branch merge build test ' +
  'report figure chart number metric cache memory disk network latency throughput request ' +
  'stream buffer cursor page scope token owner reader writer window column field record entry ' +
  'morning evening monday friday week month season budget meeting decision risk owner goal ' +
  'green blue yellow river mountain forest garden bridge tower market station village harvest ' +
  'careful quick steady simple clear honest gentle brave bright quiet silver golden wooden'
).split(' ');

/** A small seeded generator (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `words` words of prose, in sentences. */
export function prose(random: () => number, words: number): string {
  const out: string[] = [];
  let sentence = 0;
  for (let i = 0; i < words; i++) {
    let word = VOCABULARY[Math.floor(random() * VOCABULARY.length)]!;
    if (sentence === 0) word = word[0]!.toUpperCase() + word.slice(1);
    sentence++;
    if (sentence > 6 && random() < 0.2) {
      word += '.';
      sentence = 0;
    }
    out.push(word);
  }
  return `${out.join(' ')}.`;
}

/** Prose of about `chars` characters. */
export function proseOfLength(random: () => number, chars: number): string {
  return prose(random, Math.max(1, Math.round(chars / 6.5))).slice(0, chars);
}
