import type { BlackboardClient } from '../../../sdk/index.js';
import { el, setAttr, setText } from '../dom.js';

type Shown = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * The connection as the reader should understand it: first connecting, connected, then
 * "reconnecting" whenever the socket is lost (the SDK retries with backoff and the watch
 * resumes from the last revision seen), or closed for good (a revoked or expired token).
 */
export class ConnectionStatus {
  readonly root: HTMLElement;
  private readonly text = el('span', 'status-text');
  private everConnected = false;
  private lastClose = '';
  private outages = 0;
  /** Attempts that failed before the first connection: a refused token looks like this to a browser. */
  private failedDials = 0;

  constructor(client: BlackboardClient) {
    this.root = el('div', 'status');
    this.root.id = 'status';
    this.root.append(el('span', 'dot'), this.text);
    client.on('close', (code, reason) => {
      this.lastClose = `${String(code)}${reason ? ` ${String(reason)}` : ''}`;
      if (!this.everConnected) this.failedDials++;
    });
    client.on('state', (state) => this.show(String(state)));
    this.show(client.state);
  }

  private show(state: string): void {
    let shown: Shown;
    if (state === 'connected') {
      shown = 'connected';
      this.everConnected = true;
    } else if (state === 'closed') shown = 'closed';
    else shown = this.everConnected ? 'reconnecting' : 'connecting';
    if (shown === 'reconnecting' && this.root.dataset.state === 'connected') this.outages++;
    setAttr(this.root, 'data-state', shown);
    const text = {
      connecting:
        this.failedDials === 0 ? 'connecting…' : `cannot connect (${this.failedDials}×), retrying; if the server needs a token, open this page with ?token=…`,
      connected: this.outages > 0 ? `connected (reconnected ${this.outages}×)` : 'connected',
      reconnecting: `reconnecting… (${this.lastClose || 'connection lost'})`,
      closed: `closed (${this.lastClose || 'by the client'}); reload to retry`,
    }[shown];
    setText(this.text, text);
    this.root.title = text;
  }
}
