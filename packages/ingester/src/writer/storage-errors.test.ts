import { parseError } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { isRowError } from './storage-errors.js';

const server = (text: string) => parseError(text);

describe('isRowError', () => {
  it('refuses rows ClickHouse cannot parse or convert', () => {
    expect(
      isRowError(
        server(
          "Code: 27. DB::Exception: Cannot parse input: expected '\"' before: 'x'. (CANNOT_PARSE_INPUT_ASSERTION_FAILED) (version 26.7.2.1)",
        ),
      ),
    ).toBe(true);
    expect(isRowError(server('Code: 53. DB::Exception: Type mismatch in IN or VALUES section. (TYPE_MISMATCH)'))).toBe(
      true,
    );
  });

  it('retries outages, overload and anything it does not know', () => {
    expect(isRowError(new Error('connect ECONNREFUSED 127.0.0.1:8123'))).toBe(false);
    expect(
      isRowError(
        server(
          'Code: 252. DB::Exception: Too many parts (3001). Merges are processing significantly slower than inserts. (TOO_MANY_PARTS)',
        ),
      ),
    ).toBe(false);
    expect(isRowError(server('Code: 241. DB::Exception: Memory limit (total) exceeded. (MEMORY_LIMIT_EXCEEDED)'))).toBe(
      false,
    );
    expect(
      isRowError(server('Code: 16. DB::Exception: No such column Foo in table et_logs. (NO_SUCH_COLUMN_IN_TABLE)')),
    ).toBe(false);
    expect(isRowError('a string')).toBe(false);
  });

  it('refuses rows spread over more partitions than one insert may hold: a smaller insert succeeds', () => {
    expect(
      isRowError(
        server(
          'Code: 252. DB::Exception: Too many partitions for single INSERT block (more than 100). (TOO_MANY_PARTS)',
        ),
      ),
    ).toBe(true);
  });
});
