/**
 * The kept / dropped row table: one page of rows at a time (pools have up to millions of rows),
 * sorted by any score column, descending first because high scores are what a selection keeps.
 */
import type { ScoredPool } from './protocol.js';

const PAGE_ROWS = 20;

export interface RowTable {
  /** Show these rows (indices into the pool). */
  setRows(rows: Uint32Array): void;
}

export function rowTable(
  table: HTMLTableElement,
  pager: { prev: HTMLButtonElement; next: HTMLButtonElement; info: HTMLElement },
  pool: ScoredPool,
): RowTable {
  const scoreColumns = Object.keys(pool.scores);
  let rows: Uint32Array = new Uint32Array(0);
  let order = rows;
  let sortColumn = pool.normsimColumn ?? 'negclip_loss';
  let descending = true;
  let page = 0;

  const head = table.createTHead();
  const body = table.createTBody();
  const headings: string[] = [pool.hasUids ? 'uid' : 'key', 'caption', 'url'];
  if (pool.kinds) headings.push('planted');
  const headerRow = head.insertRow();
  for (const name of headings) headerRow.appendChild(cell('th', name, name === 'url' ? 'url' : undefined));
  const sortHeaders = new Map<string, HTMLTableCellElement>();
  for (const column of scoreColumns) {
    const th = cell('th', column);
    th.classList.add('sortable');
    th.tabIndex = 0;
    const choose = () => {
      descending = column === sortColumn ? !descending : true;
      sortColumn = column;
      sort();
      render();
    };
    th.addEventListener('click', choose);
    th.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') choose();
    });
    sortHeaders.set(column, th);
    headerRow.appendChild(th);
  }

  const sort = () => {
    const scores = pool.scores[sortColumn]!;
    const sign = descending ? -1 : 1;
    order = rows.slice().sort((a, b) => sign * (scores[a]! - scores[b]!) || a - b);
    page = 0;
  };

  const render = () => {
    for (const [column, th] of sortHeaders) {
      th.setAttribute('aria-sort', column === sortColumn ? (descending ? 'descending' : 'ascending') : 'none');
    }
    const pages = Math.max(1, Math.ceil(order.length / PAGE_ROWS));
    page = Math.min(page, pages - 1);
    const start = page * PAGE_ROWS;
    const fragment = document.createDocumentFragment();
    for (const row of order.subarray(start, start + PAGE_ROWS)) {
      const tr = document.createElement('tr');
      const id = cell('td', pool.ids[row]!, 'uid');
      id.title = pool.ids[row]!;
      tr.appendChild(id);
      tr.appendChild(cell('td', pool.captions[row] ?? '—', 'caption'));
      tr.appendChild(urlCell(pool.urls[row] ?? null));
      if (pool.kinds) {
        const td = cell('td', '');
        const badge = cell('span', pool.kinds[row]!, 'kind');
        badge.classList.add(pool.kinds[row]!);
        td.appendChild(badge);
        tr.appendChild(td);
      }
      for (const column of scoreColumns) tr.appendChild(cell('td', formatScore(pool.scores[column]![row]!), 'num'));
      fragment.appendChild(tr);
    }
    body.replaceChildren(fragment);
    pager.info.textContent =
      order.length === 0
        ? 'no rows'
        : `rows ${start + 1}–${Math.min(order.length, start + PAGE_ROWS)} of ${order.length.toLocaleString()}`;
    pager.prev.disabled = page === 0;
    pager.next.disabled = page >= pages - 1;
  };

  pager.prev.onclick = () => {
    page--;
    render();
  };
  pager.next.onclick = () => {
    page++;
    render();
  };

  return {
    setRows(next) {
      rows = next;
      sort();
      render();
    },
  };
}

/**
 * A score with enough digits to tell rows apart: five significant figures, so a negCLIPLoss of
 * −0.0000213 is not shown as −0.0000 beside its neighbours (fixed decimals lose small scores).
 */
export function formatScore(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toPrecision(5);
}

function cell<K extends 'td' | 'th' | 'span'>(tag: K, text: string, className?: string): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function urlCell(url: string | null): HTMLTableCellElement {
  const td = cell('td', '', 'url');
  if (!url) {
    td.textContent = '—';
    return td;
  }
  const link = document.createElement('a');
  link.href = url;
  link.textContent = url.replace(/^https?:\/\//, '');
  link.title = url;
  link.target = '_blank';
  // The page is cross-origin isolated; opened links must not get a handle back to it.
  link.rel = 'noopener noreferrer';
  td.appendChild(link);
  return td;
}
