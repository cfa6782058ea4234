import { el, setText } from '../dom.js';
import { count, duration, isRecord, preview } from '../format.js';
import { PrefixTablePanel } from './prefix-table.js';

const PREFIX = '$locks/';
const MAX_ROWS = 200;

interface LockRow {
  element: HTMLTableRowElement;
  holder: HTMLElement;
  token: HTMLElement;
  expires: HTMLElement;
  expiresAt: number | null;
}

/** `$locks/<name>` = {holder, token, expiresAt}: who holds what, and for how much longer. */
export class LocksPanel extends PrefixTablePanel<LockRow> {
  constructor() {
    super(
      'locks',
      'Locks',
      [
        ['', 'lock'],
        ['', 'holder'],
        ['num', 'token'],
        ['num', 'expires in'],
      ],
      'No locks held on this board.',
    );
  }

  update(): void {
    const keys = this.model?.keys.withPrefix(PREFIX, MAX_ROWS) ?? [];
    this.rows.sync(keys);
    this.empty.hidden = keys.length > 0;
    setText(this.summary, keys.length > 0 ? count(keys.length, 'lock') : '');
    this.tick();
  }

  /** Redraws the countdowns only. */
  tick(now = Date.now()): void {
    this.rows.forEach((row) => {
      if (row.expiresAt === null) return setText(row.expires, '—');
      const left = row.expiresAt - now;
      setText(row.expires, left > 0 ? duration(left) : 'expired');
      row.element.classList.toggle('expiring', left < 3_000);
    });
  }

  protected createRow(key: string): LockRow {
    const element = el('tr', 'lock');
    element.dataset.lock = key.slice(PREFIX.length);
    const holder = el('td', 'holder');
    const token = el('td', 'num token');
    const expires = el('td', 'num expires');
    element.append(el('td', 'name', key.slice(PREFIX.length)), holder, token, expires);
    return { element, holder, token, expires, expiresAt: null };
  }

  protected updateRow(row: LockRow, key: string): void {
    const value = this.model?.entry(key)?.value;
    if (isRecord(value) && typeof value.expiresAt === 'number') {
      setText(row.holder, String(value.holder ?? '?'));
      setText(row.token, String(value.token ?? '?'));
      row.expiresAt = value.expiresAt;
    } else {
      // A shape this page does not know: show it rather than hide it.
      setText(row.holder, preview(value, 80));
      setText(row.token, '');
      row.expiresAt = null;
    }
  }
}
