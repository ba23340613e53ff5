// @ts-check
/**
 * Sortable, filterable tables. The sort and filter are pure functions over rows; the DOM part
 * renders real <button>s in the headers so sorting works from the keyboard, with aria-sort.
 */

/**
 * @template T
 * @typedef {{ key: string, label: string, value: (row: T) => string | number, cell?: (row: T) => Node | string, numeric?: boolean }} Column
 */

/** @template T @param {T[]} rows @param {Column<T>} col @param {'ascending' | 'descending'} dir */
export function sortRows(rows, col, dir) {
  const sign = dir === 'ascending' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = col.value(a);
    const y = col.value(b);
    const c =
      typeof x === 'number' && typeof y === 'number'
        ? x - y
        : String(x).localeCompare(String(y), 'en', { numeric: true });
    return sign * c;
  });
}

/** Rows where any column's text contains every word of the query (case-insensitive). @template T @param {T[]} rows @param {Column<T>[]} cols @param {string} query */
export function filterRows(rows, cols, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return rows;
  return rows.filter((r) => {
    const text = cols
      .map((c) => String(c.value(r)))
      .join(' ')
      .toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/**
 * Renders `rows` into `table` (thead + tbody) and keeps sort state on the table element.
 * @template T @param {HTMLTableElement} table @param {Column<T>[]} cols @param {T[]} rows @param {{ sortKey: string, dir: 'ascending' | 'descending', onSort: (key: string) => void }} state
 */
export function renderTable(table, cols, rows, state) {
  const doc = table.ownerDocument;
  const thead = doc.createElement('thead');
  const hr = doc.createElement('tr');
  for (const c of cols) {
    const th = doc.createElement('th');
    th.scope = 'col';
    if (c.numeric) th.className = 'num';
    th.setAttribute('aria-sort', c.key === state.sortKey ? state.dir : 'none');
    const b = doc.createElement('button');
    b.type = 'button';
    b.className = 'sort';
    b.textContent = c.label;
    b.dataset.key = c.key;
    b.addEventListener('click', () => state.onSort(c.key));
    th.append(b);
    hr.append(th);
  }
  thead.append(hr);
  const col = cols.find((c) => c.key === state.sortKey) ?? cols[0];
  const tbody = doc.createElement('tbody');
  for (const r of col ? sortRows(rows, col, state.dir) : rows) {
    const tr = doc.createElement('tr');
    cols.forEach((c, i) => {
      const td = doc.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) td.setAttribute('scope', 'row');
      if (c.numeric) td.className = 'num';
      const v = c.cell ? c.cell(r) : String(c.value(r));
      td.append(v);
      tr.append(td);
    });
    tbody.append(tr);
  }
  table.replaceChildren(thead, tbody);
}

/** Next sort state after a header click: same column flips, a new column starts ascending. */
export function nextSort(current, key) {
  if (current.sortKey === key) return { sortKey: key, dir: current.dir === 'ascending' ? 'descending' : 'ascending' };
  return { sortKey: key, dir: 'ascending' };
}

/**
 * A table that re-sorts itself when a header button is pressed, keeping focus on that button.
 * @template T @param {HTMLTableElement} table @param {() => Column<T>[]} cols @param {{ sortKey: string, dir: 'ascending' | 'descending' }} initial
 */
export function sortableTable(table, cols, initial) {
  let sort = initial;
  /** @type {T[]} */
  let rows = [];
  const draw = () =>
    renderTable(table, cols(), rows, {
      ...sort,
      onSort: (key) => {
        sort = nextSort(sort, key);
        draw();
        /** @type {HTMLElement | null} */ (table.querySelector(`button[data-key="${key}"]`))?.focus();
      },
    });
  return {
    /** @param {T[]} next */
    show(next) {
      rows = next;
      draw();
    },
  };
}
