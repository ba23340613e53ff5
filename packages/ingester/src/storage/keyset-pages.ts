/**
 * A read of many rows in pages by key (keyset pagination): `page(cursor)` answers at most `size`
 * rows after `cursor` in key order, and the next page starts after the last row. Nothing more
 * than a page is held at once, however long since the reader last looked; a page shorter than
 * `size` is the last. Leaving the loop early (a bound reached) reads no further page.
 */
export async function* keysetPages<Row, Cursor>(
  first: Cursor,
  size: number,
  page: (c: Cursor) => Promise<Row[]>,
  cursorOf: (last: Row) => Cursor,
): AsyncGenerator<Row[]> {
  let c = first;
  for (;;) {
    const rows = await page(c);
    yield rows;
    if (rows.length < size) return;
    c = cursorOf(rows[rows.length - 1] as Row);
  }
}
