// Lowe's memo of configurations already explored, extended with dominance.
//
// A configuration is (set of linearized operations, model state). Two search
// paths reaching the same configuration have the same future, so each is
// explored once. Beyond equality: an operation of unknown outcome may also
// never take effect, so if (S, s) was explored and failed, then (S plus some
// unknown operations, s) fails too: any completion of the larger one, with
// those unknown operations simply never happening, would complete the smaller.
// The search tries known operations before unknown ones, so the smaller set is
// usually explored first and prunes the larger.
//
// Sets are bitsets over operation indices, hashed with Zobrist hashes kept up
// to date incrementally (O(1) per change instead of O(n) per lookup); a
// separate hash over the known operations alone finds dominance candidates.

interface ExploredConfiguration {
  readonly bits: Uint32Array;
  readonly state: number;
  readonly knownPartKey: number;
}

/**
 * Dominance candidates kept per (known part, state). Beyond this many, a
 * failure is not remembered for dominance: the test costs a bitset comparison
 * per candidate and is only an optimisation.
 */
const DOMINANCE_CANDIDATES_LIMIT = 16;

export class ExploredConfigurations {
  private readonly bits: Uint32Array;
  /** 1 bits mark operations with a known outcome. */
  private readonly knownMask: Uint32Array;
  private readonly zobristLow: Int32Array;
  private readonly zobristHigh: Int32Array;
  private knownHash = { low: 0, high: 0 };
  private unknownHash = { low: 0, high: 0 };
  private unknownCount = 0;
  /** Every configuration ever entered, by exact (set, state). */
  private readonly entered = new Map<number, ExploredConfiguration[]>();
  /** Failed configurations, by (known part of the set, state). */
  private readonly failedByKnownPart = new Map<number, ExploredConfiguration[]>();
  private readonly path: ExploredConfiguration[] = [];

  constructor(known: readonly boolean[]) {
    const size = known.length;
    this.bits = new Uint32Array(Math.ceil(size / 32));
    this.knownMask = new Uint32Array(this.bits.length);
    this.zobristLow = new Int32Array(size);
    this.zobristHigh = new Int32Array(size);
    // A fixed seed keeps runs reproducible; the hash only has to spread, not resist attack.
    const random = mulberry32(0x5eed);
    known.forEach((isKnown, index) => {
      if (isKnown) this.knownMask[index >>> 5]! |= 1 << (index & 31);
      this.zobristLow[index] = random();
      this.zobristHigh[index] = random();
    });
  }

  /**
   * Adds operation `index` to the current set, entering `state`, unless an
   * explored configuration makes that pointless (then nothing changes).
   */
  addIfUnexplored(index: number, state: number): boolean {
    this.toggle(index);
    const exactKey = mixKey(this.knownHash.low ^ this.unknownHash.low, this.knownHash.high ^ this.unknownHash.high, state);
    const sameKey = this.entered.get(exactKey);
    const knownPartKey = mixKey(this.knownHash.low, this.knownHash.high, state);
    const seen = sameKey?.some((explored) => explored.state === state && equalBits(explored.bits, this.bits)) === true;
    if (seen || (this.unknownCount > 0 && this.dominatedByFailure(knownPartKey, state))) {
      this.toggle(index);
      return false;
    }
    const configuration = { bits: this.bits.slice(), state, knownPartKey };
    if (sameKey === undefined) this.entered.set(exactKey, [configuration]);
    else sameKey.push(configuration);
    this.path.push(configuration);
    return true;
  }

  /** Takes back the latest added operation `index`: everything reachable from that configuration failed. */
  abandon(index: number): void {
    const configuration = this.path.pop();
    if (configuration !== undefined) {
      const candidates = this.failedByKnownPart.get(configuration.knownPartKey);
      if (candidates === undefined) this.failedByKnownPart.set(configuration.knownPartKey, [configuration]);
      else if (candidates.length < DOMINANCE_CANDIDATES_LIMIT) candidates.push(configuration);
    }
    this.toggle(index);
  }

  private toggle(index: number): void {
    const word = index >>> 5;
    const bit = 1 << (index & 31);
    this.bits[word]! ^= bit;
    const hash = (this.knownMask[word]! & bit) !== 0 ? this.knownHash : this.unknownHash;
    hash.low ^= this.zobristLow[index]!;
    hash.high ^= this.zobristHigh[index]!;
    if (hash === this.unknownHash) this.unknownCount += (this.bits[word]! & bit) !== 0 ? 1 : -1;
  }

  /** Some failed configuration has the same state, a subset of the current set, and lacks only unknown operations. */
  private dominatedByFailure(knownPartKey: number, state: number): boolean {
    const candidates = this.failedByKnownPart.get(knownPartKey);
    if (candidates === undefined) return false;
    for (const failed of candidates) {
      if (failed.state === state && this.includesWithOnlyUnknownExtras(failed.bits)) return true;
    }
    return false;
  }

  private includesWithOnlyUnknownExtras(smaller: Uint32Array): boolean {
    for (let word = 0; word < smaller.length; word++) {
      const mine = this.bits[word]!;
      const theirs = smaller[word]!;
      if ((theirs & ~mine) !== 0 || (mine & ~theirs & this.knownMask[word]!) !== 0) return false;
    }
    return true;
  }
}

/** 53 bits of (set hash mixed with state), so it can be an exact Map key. */
function mixKey(hashLow: number, hashHigh: number, state: number): number {
  const stateLow = Math.imul(state >>> 0, 0x9e3779b1);
  const stateHigh = Math.imul(Math.floor(state / 0x100000000) >>> 0, 0x85ebca6b) ^ (stateLow >>> 15);
  return ((hashHigh ^ stateHigh) & 0x1fffff) * 0x100000000 + ((hashLow ^ stateLow) >>> 0);
}

function equalBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let word = 0; word < a.length; word++) if (a[word] !== b[word]) return false;
  return true;
}

/** Small seeded PRNG yielding signed 32-bit integers. */
function mulberry32(seed: number): () => number {
  let current = seed | 0;
  return () => {
    current = (current + 0x6d2b79f5) | 0;
    let mixed = Math.imul(current ^ (current >>> 15), 1 | current);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return mixed ^ (mixed >>> 14);
  };
}
