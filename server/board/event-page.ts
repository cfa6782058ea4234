import { preEncoded, type PreEncoded, type WireEvent } from '../../shared/protocol/envelope.js';

/**
 * The events of one `history` reply. `limit` counts events; the size bound ends the reply
 * early, between two revisions, once it holds `maxBytes` (at least one revision, so every
 * reply makes progress and the next one starts at the following revision).
 */
export class EventPage {
  readonly events: PreEncoded<WireEvent>[] = [];
  private bytes = 0;
  private lastRev = -1;

  constructor(
    private readonly limit: number,
    private readonly maxBytes: number,
  ) {}

  /** Adds one event; false when the page is full, the event not added (so more remain). */
  add(rev: number, eventJson: string): boolean {
    if (this.events.length >= this.limit) return false;
    if (rev !== this.lastRev && this.events.length > 0 && this.bytes >= this.maxBytes) return false;
    this.events.push(preEncoded<WireEvent>(eventJson));
    this.bytes += eventJson.length;
    this.lastRev = rev;
    return true;
  }
}
