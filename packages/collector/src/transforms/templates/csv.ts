/**
 * RFC 4180 CSV: quoted fields with doubled quotes, commas and line breaks inside quotes.
 * Returns rows of fields; a trailing empty line is not a row.
 *
 * Fields are cut from the text in runs (slices), not built a character at a time: V8 keeps a
 * string grown by `+=` per character as one rope node per character (~30 bytes each), which made
 * the ten Loghub-2k datasets cost 35 MB for as long as their lines were kept.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  /** Start of the run of ordinary characters not yet added to `field`. */
  let run = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === 34 /* " */) {
        field += text.slice(run, i);
        if (text.charCodeAt(i + 1) === 34) {
          field += '"';
          i += 2;
        } else {
          quoted = false;
          i++;
        }
        run = i;
        continue;
      }
      i++;
      continue;
    }
    if (c === 34) {
      field += text.slice(run, i);
      quoted = true;
      run = ++i;
      continue;
    }
    if (c === 44 /* , */ || c === 10 /* \n */ || c === 13 /* \r */) {
      row.push(field + text.slice(run, i));
      field = '';
      if (c !== 44) {
        rows.push(row);
        row = [];
        if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      }
      run = ++i;
      continue;
    }
    i++;
  }
  field += text.slice(run, n);
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
