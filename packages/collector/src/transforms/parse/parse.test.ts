import { LogLevel } from '@edge-telemetry/protocol';
import { describe, expect, it } from 'vitest';
import type { RawLogLine } from '../../sources/types.js';
import { MultilineJoiner } from './multiline.js';
import { multilineOptions, parseOptions } from './options.js';
import { parseLogfmt } from './logfmt.js';
import { fieldsOf, parseLine } from './parse-line.js';
import { timestampAtStart } from './timestamp.js';

const o = parseOptions();
/** Engine receive time: half a minute after the lines' own times, as a busy writer delivers them. */
const T = Date.UTC(2026, 2, 1, 10, 0, 30);

describe('parseLine', () => {
  it('reads JSON lines: message, level, time and the other fields', () => {
    const p = parseLine(
      '{"time":"2026-03-01T10:00:00.250Z","level":"warn","msg":"disk almost full","pct":93,"mount":"/data"}',
      'stdout',
      T,
      o,
    );
    expect(p).toEqual({
      ts: Date.UTC(2026, 2, 1, 10, 0, 0, 250),
      level: LogLevel.warn,
      message: 'disk almost full',
      fields: { pct: '93', mount: '/data' },
      format: 'json',
    });
  });

  it('reads pino/bunyan numeric levels and epoch times', () => {
    const p = parseLine('{"level":50,"time":1767225600000,"msg":"boom"}', 'stdout', 1767225601000, o);
    expect(p.level).toBe(LogLevel.error);
    expect(p.ts).toBe(1767225600000);
  });

  it("takes a level name that Object.prototype holds (constructor, __proto__, toString) for none: the stream's", () => {
    const stderr = parseLine('{"msg":"boom"}', 'stderr', T, o).level;
    const stdout = parseLine('msg=boom', 'stdout', T, o).level;
    for (const name of ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty']) {
      expect(parseLine(`{"level":"${name}","msg":"boom"}`, 'stderr', T, o).level).toBe(stderr);
      expect(parseLine(`level=${name} msg=boom`, 'stdout', T, o).level).toBe(stdout);
    }
    expect(typeof stderr).toBe('number');
  });

  it('takes a null message, level or time for an absent one: the next key, or none', () => {
    // No other message key: the whole line is the message, as for a line without one (not "null").
    const alone = '{"level":"error","msg":null,"order":7}';
    expect(parseLine(alone, 'stdout', T, o)).toMatchObject({ message: alone, level: LogLevel.error });
    const next = parseLine('{"msg":null,"message":"db down","level":null,"severity":"warn"}', 'stdout', T, o);
    expect(next).toMatchObject({ message: 'db down', level: LogLevel.warn });
    expect(next.fields).toEqual({ msg: 'null', level: 'null' });
    const time = parseLine('{"time":null,"ts":"2026-03-01T10:00:00.250Z","msg":"x"}', 'stdout', T, o);
    expect(time.ts).toBe(Date.UTC(2026, 2, 1, 10, 0, 0, 250));
  });

  it('reads logfmt with quoted values', () => {
    const p = parseLine(
      'ts=2026-03-01T10:00:00Z level=error msg="upstream \\"db\\" timed out" retry=3',
      'stdout',
      T,
      o,
    );
    expect(p.level).toBe(LogLevel.error);
    expect(p.message).toBe('upstream "db" timed out');
    expect(p.fields).toEqual({ retry: '3' });
    expect(p.ts).toBe(Date.UTC(2026, 2, 1, 10));
  });

  it('reads fields only at fieldsFrom and above; fieldsOf gives the fields parseLine would have', () => {
    const lines = [
      '{"time":"2026-03-01T10:00:00.250Z","level":"info","msg":"ok","pct":93,"tags":["a"],"mount":"/data"}',
      '{"level":"error","message":"db down","log":"x","code":7}',
      'ts=2026-03-01T10:00:00Z level=info msg="served" path=/a status=200',
      'level=warn text=retrying attempt=2 msg=again',
      '{"not":"closed"',
      '2026-03-01 10:00:01,500 WARN [main] c.e.Pool - pool exhausted',
      '',
    ];
    const narrow = parseOptions({ maxFields: 1, maxFieldLength: 2 });
    for (const opts of [o, narrow])
      for (const line of lines) {
        const all = parseLine(line, 'stderr', T, opts);
        expect([line, fieldsOf(line, opts)]).toEqual([line, all.fields]);
        for (const from of [LogLevel.info, LogLevel.warn, LogLevel.fatal]) {
          const some = parseLine(line, 'stderr', T, opts, from);
          expect(some).toEqual({ ...all, fields: all.level >= from ? all.fields : {} });
        }
      }
  });

  it('reads text lines with a leading timestamp and a level keyword', () => {
    const p = parseLine('2026-03-01 10:00:01,500 WARN [main] c.e.Pool - pool exhausted', 'stdout', T, o);
    expect(p.ts).toBe(Date.UTC(2026, 2, 1, 10, 0, 1, 500));
    expect(p.level).toBe(LogLevel.warn);
    expect(p.message).toBe('WARN [main] c.e.Pool - pool exhausted');
    expect(parseLine('E0612 10:00:00.000000 1 reflector.go:1] failed to list', 'stdout', T, o).level).toBe(
      LogLevel.error,
    );
  });

  it("believes a line's own time only within maxLineTimeSkewMs of the receive time", () => {
    const line = '2015-07-29 17:41:44,747 - WARN  [QuorumPeer] - Interrupted';
    const old = parseLine(line, 'stdout', T, o);
    expect(old.ts).toBe(T);
    expect(old.message).toBe('- WARN  [QuorumPeer] - Interrupted');
    expect(parseLine('{"time":"2026-03-01T09:50:00Z","msg":"x"}', 'stdout', T, o).ts).toBe(T);
    expect(
      parseLine(
        '{"time":"2026-03-01T09:50:00Z","msg":"x"}',
        'stdout',
        T,
        parseOptions({ maxLineTimeSkewMs: 3_600_000 }),
      ).ts,
    ).toBe(Date.UTC(2026, 2, 1, 9, 50));
    expect(parseLine('2026-03-01 10:00:01,500 x', 'stdout', T, parseOptions({ maxLineTimeSkewMs: 0 })).ts).toBe(T);
  });

  /**
   * Servers that write every line to stderr name the level in words of their own; read as none, each
   * line took the stream's level (warn): every PostgreSQL connection line went verbatim, an nginx
   * [crit] was only a warning (the session-10 trial, on lines written from these formats).
   */
  it("reads the levels of servers that log everything to stderr: nginx's and Apache's [error], PostgreSQL's LOG:", () => {
    const level = (line: string) => parseLine(line, 'stderr', T, o).level;
    expect(level('2026/03/01 10:00:01 [error] 29#29: *5 connect() failed (111: Connection refused)')).toBe(
      LogLevel.error,
    );
    expect(level('2026/03/01 10:00:01 [notice] 1#1: signal process started')).toBe(LogLevel.info);
    expect(level('2026/03/01 10:00:01 [crit] 1#1: *9 SSL_do_handshake() failed')).toBe(LogLevel.fatal);
    // The header's level, not a word of the message after it.
    expect(level('2026/03/01 10:00:01 [info] 1#1: *3 client closed connection: Error 104')).toBe(LogLevel.info);
    expect(
      level('[Sun Mar 01 10:00:01.123456 2026] [core:error] [pid 43:tid 1] [client 10.0.0.1:5] AH00126: Invalid URI'),
    ).toBe(LogLevel.error);
    expect(level('[Sun Mar 01 10:00:01.123456 2026] [mpm_event:notice] [pid 1:tid 1] AH00489: resuming')).toBe(
      LogLevel.info,
    );
    expect(level('2026-03-01 10:00:01.123 UTC [4567] LOG:  connection received: host=10.0.0.5 port=53422')).toBe(
      LogLevel.info,
    );
    expect(level('2026-03-01 10:00:01.123 UTC [4567] ERROR:  duplicate key value violates unique constraint')).toBe(
      LogLevel.error,
    );
    // A bracketed word that is not a level, a level word in prose, LOG without its colon: none.
    expect(level('copying [error-report.txt] to backup')).toBe(LogLevel.warn);
    expect(level('saw an [error] in the config, ignoring')).toBe(LogLevel.warn);
    expect(level('rotating LOG files')).toBe(LogLevel.warn);
  });

  /**
   * PostgreSQL's default prefix (`%m [%p] `) writes the time with log_timezone's abbreviation after
   * it, or a numeric offset where the zone has none. Read as UTC, a CET line was an hour off (past
   * maxLineTimeSkewMs: the line's time dropped for the receive time) and the zone word stayed in the
   * message (the session-10 trial).
   */
  it("reads a zone name or offset after a time (PostgreSQL's %m) and leaves it out of the message", () => {
    const at = (h: number, m = 0) => Date.UTC(2026, 11, 7, h, m, 0, 123);
    const lenient = parseOptions({ maxLineTimeSkewMs: 86_400_000 });
    const cases: Array<[string, number]> = [
      ['2026-12-07 06:31:00.123 CET [1234] LOG:  checkpoint starting: time', at(5, 31)],
      ['2026-12-07 06:31:00.123 EST [1234] LOG:  checkpoint starting: time', at(11, 31)],
      ['2026-12-07 06:31:00.123 UTC [1234] LOG:  checkpoint starting: time', at(6, 31)],
      ['2026-12-07 06:31:00.123 +05:30 [1234] LOG:  checkpoint starting: time', at(1, 1)],
      ['2026-12-07 06:31:00.123 +0530 [1234] LOG:  checkpoint starting: time', at(1, 1)],
      ['2026-12-07 06:31:00.123 -03 [1234] LOG:  checkpoint starting: time', at(9, 31)],
      ['2026-12-07 06:31:00.123 AEDT [1234] LOG:  checkpoint starting: time', at(-5, 31)],
    ];
    for (const [line, ts] of cases) {
      const p = parseLine(line, 'stderr', ts + 1000, lenient);
      expect([line, p.ts, p.message, p.level]).toEqual([
        line,
        ts,
        '[1234] LOG:  checkpoint starting: time',
        LogLevel.info,
      ]);
    }
    // An abbreviation several zones use (CST: US Central, China; IST: India, Ireland, Israel) is read
    // as the one whose time is nearest the receive time.
    expect(parseLine('2026-12-07 06:31:00.123 CST [1] LOG:  x', 'stderr', at(12, 31), lenient).ts).toBe(at(12, 31));
    expect(parseLine('2026-12-07 06:31:00.123 CST [1] LOG:  x', 'stderr', at(-2, 31), lenient).ts).toBe(at(-2, 31));
    expect(parseLine('2026-12-07 06:31:00.123 IST [1] LOG:  x', 'stderr', at(1, 1), lenient).ts).toBe(at(1, 1));
    // Within the default skew (5 min) the line's own time is taken, not the receive time.
    expect(parseLine('2026-12-07 06:31:00.123 CET [1] LOG:  x', 'stderr', at(5, 33), o).ts).toBe(at(5, 31));
    // A word after the time that is no zone stays in the message, and the time is UTC.
    const info = parseLine('2026-12-07 06:31:00.123 INFO started', 'stdout', at(6, 31), o);
    expect([info.ts, info.message]).toEqual([at(6, 31), 'INFO started']);
    expect(parseLine('2026-12-07 06:31:00.123 -12 items', 'stdout', at(6, 31), o).message).toBe('-12 items');
  });

  it('infers the level from the stream when the line names none, and ignores prose', () => {
    expect(parseLine('instruction cache parity error corrected', 'stdout', T, o).level).toBe(LogLevel.info);
    expect(parseLine('something odd happened', 'stderr', T, o).level).toBe(LogLevel.warn);
    expect(parseLine('Traceback (most recent call last):\n  File "x.py"', 'stdout', T, o).level).toBe(LogLevel.error);
    expect(parseLine('{not json', 'stdout', T, o).format).toBe('text');
  });
});

describe('leading timestamps and logfmt pairs', () => {
  it('reads the common ISO form digit by digit as the general rule does (zones, fractions, brackets)', () => {
    const cases: Array<[string, number | undefined, number | undefined]> = [
      ['2026-03-01T10:00:00Z x', Date.UTC(2026, 2, 1, 10), 20],
      ['2026-03-01 10:00:00.123456789 x', Date.UTC(2026, 2, 1, 10, 0, 0, 123), 29],
      // A tenth digit ends the match: the fraction takes nine.
      ['2026-03-01T10:00:00.1234567891Z', Date.UTC(2026, 2, 1, 10, 0, 0, 123), 29],
      ['2026-03-01T10:00:00,5+01:30 x', Date.UTC(2026, 2, 1, 8, 30, 0, 500), 27],
      ['2026-03-01T10:00:00-0530] x', Date.UTC(2026, 2, 1, 15, 30), 25],
      // An incomplete zone is not part of the time.
      ['2026-03-01T10:00:00+05:3 x', Date.UTC(2026, 2, 1, 10), 19],
      ['2026-03-01T10:00:00.x', Date.UTC(2026, 2, 1, 10), 19],
      // Outside every month's range, a bracket or an hour of 24: the general rule, same answers.
      ['[2026-02-29T10:00:00Z] x', Date.UTC(2026, 2, 1, 10), 22],
      ['2026-01-01T24:00:00Z', Date.UTC(2026, 0, 2), 20],
      ['2026-01-01T23:60:00Z', undefined, undefined],
      ['2026-13-01T10:00:00Z', undefined, undefined],
      ['2026-03-01T10:00:00+24:00', undefined, undefined],
    ];
    for (const [text, ts, length] of cases) {
      const t = timestampAtStart(text);
      expect([text, t?.ts, t?.length]).toEqual([text, ts, length]);
    }
  });

  it('reads logfmt pairs into a record: a repeated key keeps its place and its last value, __proto__ is a key', () => {
    const pairs = parseLogfmt('a=1 b="x \\"y\\"" a=3 __proto__=p toString=t', 64) as Record<string, string>;
    expect(Object.entries(pairs)).toEqual([
      ['a', '3'],
      ['b', 'x "y"'],
      ['__proto__', 'p'],
      ['toString', 't'],
    ]);
    expect(Object.getPrototypeOf(pairs)).toBe(Object.prototype);
    expect(Object.keys(parseLogfmt('a=1 b=2 a=3 c=4', 2) as object)).toEqual(['a', 'b']);
    expect(parseLogfmt('no pairs here', 64)).toBeUndefined();
  });
});

describe('MultilineJoiner', () => {
  const raw = (line: string, stream: 'stdout' | 'stderr' = 'stdout'): RawLogLine => ({
    ts: T,
    container: 'c',
    stream,
    line,
    rawBytes: line.length + 1,
    offset: 0,
    end: 0,
  });
  const lines = (evs: RawLogLine[]) => evs.map((e) => e.line);
  const pushed = (j: MultilineJoiner, l: RawLogLine): RawLogLine[] => {
    const out: RawLogLine[] = [];
    j.push(l, 0, (e) => out.push(e));
    return out;
  };

  it('joins a Java stack trace with Caused by and ... more', () => {
    const j = new MultilineJoiner(multilineOptions());
    const input = [
      'Exception in thread "main" java.lang.IllegalStateException: bad',
      '\tat com.example.A.run(A.java:10)',
      '\tat com.example.Main.main(Main.java:5)',
      'Caused by: java.io.IOException: closed',
      '\t... 2 more',
      'next line',
    ];
    const out = input.flatMap((l) => pushed(j, raw(l)));
    expect(lines(out)).toEqual([input.slice(0, 5).join('\n')]);
    expect(out[0]?.rawBytes).toBe(input.slice(0, 5).reduce((s, l) => s + l.length + 1, 0));
    expect(lines(j.flush(0, true))).toEqual(['next line']);
  });

  it('joins a Python traceback up to its exception line', () => {
    const j = new MultilineJoiner(multilineOptions());
    const tb = [
      'Traceback (most recent call last):',
      '  File "app.py", line 3, in <module>',
      '    main()',
      'ValueError: bad input',
    ];
    const out = tb.flatMap((l) => pushed(j, raw(l, 'stderr')));
    expect(lines(out)).toEqual([tb.join('\n')]);
  });

  it('joins a Go panic with its goroutine dump, blank lines between goroutines included', () => {
    const j = new MultilineJoiner(multilineOptions());
    const dump = [
      'panic: runtime error: invalid memory address or nil pointer dereference',
      '[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a5b2c]',
      '',
      'goroutine 1 [running]:',
      'main.(*Server).handle(0x0, {0x7d3f70, 0xc000118e40})',
      '\t/app/server.go:42 +0x1c',
      'main.main()',
      '\t/app/main.go:12 +0x25',
      '',
      'goroutine 7 [chan receive, 2 minutes]:',
      'net/http.(*conn).serve(...)',
      '\t/usr/local/go/src/net/http/server.go:2009 +0x5f4',
      'created by net/http.(*Server).Serve in goroutine 1',
      '\t/usr/local/go/src/net/http/server.go:3086 +0x4cc',
    ];
    const out = [...dump, 'level=info msg="restarted"'].flatMap((l) => pushed(j, raw(l, 'stderr')));
    expect(lines(out)).toEqual([dump.join('\n')]);
    expect(lines(j.flush(0, true))).toEqual(['level=info msg="restarted"']);
    // A line that only looks like a call, outside a Go dump, stays a line of its own.
    const k = new MultilineJoiner(multilineOptions());
    const plain = ['INFO starting', 'main.main()'].flatMap((l) => pushed(k, raw(l)));
    expect(lines(plain)).toEqual(['INFO starting']);
    // Linear on a long line of parentheses after a panic (a pattern ending in `\(.*\)$` took 1.5 s on 64 KB).
    const g = new MultilineJoiner(multilineOptions());
    const parens = '('.repeat(60_000);
    const evs = ['panic: x', parens, 'next'].flatMap((l) => pushed(g, raw(l, 'stderr')));
    expect(lines(evs)).toEqual(['panic: x', parens]);
  });

  it('releases a held line after the flush timeout only', () => {
    const j = new MultilineJoiner(multilineOptions({ flushAfterMs: 1000 }));
    expect(pushed(j, raw('single'))).toEqual([]);
    expect(j.flush(999)).toEqual([]);
    expect(lines(j.flush(1000))).toEqual(['single']);
  });

  /**
   * PostgreSQL writes a message's DETAIL, HINT, CONTEXT, STATEMENT, QUERY and LOCATION as lines of
   * their own, each after the same prefix as the message's first line; taken apart, each was a line
   * at stderr's level (warn) with no ERROR to belong to (the session-10 trial).
   */
  it("joins PostgreSQL's DETAIL, HINT, CONTEXT and STATEMENT lines to their message, by the same prefix", () => {
    const j = new MultilineJoiner(multilineOptions());
    const error = [
      '2026-12-07 06:31:00.123 CET [1234] ERROR:  duplicate key value violates unique constraint "users_pkey"',
      '2026-12-07 06:31:00.123 CET [1234] DETAIL:  Key (id)=(1) already exists.',
      '2026-12-07 06:31:00.123 CET [1234] STATEMENT:  INSERT INTO users VALUES (1)',
    ];
    const fatal = [
      '2026-12-07 06:31:01.000 CET [1240] FATAL:  password authentication failed for user "app"',
      '2026-12-07 06:31:01.000 CET [1240] DETAIL:  Connection matched pg_hba.conf line 99',
      '2026-12-07 06:31:01.000 CET [1240] HINT:  Check the user name.',
      '2026-12-07 06:31:01.000 CET [1240] CONTEXT:  while checking pg_hba.conf',
    ];
    // Another backend's DETAIL after a different prefix is not this message's.
    const stray = '2026-12-07 06:31:02.000 CET [1250] DETAIL:  Key (id)=(2) already exists.';
    const after = '2026-12-07 06:31:03.000 CET [1234] LOG:  checkpoint starting: time';
    const out = [...error, ...fatal, stray, after].flatMap((l) => pushed(j, raw(l, 'stderr')));
    expect(lines(out)).toEqual([error.join('\n'), fatal.join('\n'), stray]);
    expect(parseLine(lines(out)[0]!, 'stderr', T, o).level).toBe(LogLevel.error);
    // An empty prefix: the keyword starts the line.
    const bare = new MultilineJoiner(multilineOptions());
    const plain = ['ERROR:  relation "x" does not exist at character 15', 'STATEMENT:  SELECT * FROM x'];
    expect(lines([...plain, 'LOG:  next'].flatMap((l) => pushed(bare, raw(l, 'stderr'))))).toEqual([plain.join('\n')]);
    // A keyword in prose, or without PostgreSQL's two spaces, continues nothing.
    const prose = new MultilineJoiner(multilineOptions());
    const two = ['2026-12-07 06:31:00 x ERROR:  boom', '2026-12-07 06:31:00 x DETAIL: one space'];
    expect(lines(two.flatMap((l) => pushed(prose, raw(l, 'stderr'))))).toEqual([two[0]]);
  });

  it('looks for a PostgreSQL severity in the first 256 characters of a line only', () => {
    const j = new MultilineJoiner(multilineOptions({ maxChars: 200_000 }));
    // A long message (60 KB) after a short prefix still takes its parts.
    const long = ['[1234] ERROR:  ' + 'x'.repeat(60_000), '[1234] DETAIL:  why', '[1234] HINT:  fix'];
    // A prefix longer than 256 characters is no log_line_prefix: its "parts" are lines of their own.
    const far = '.'.repeat(300);
    const past = [`${far} ERROR:  boom`, `${far} DETAIL:  d`];
    // A long line with no severity continues nothing, and neither does the next one.
    const plain = ['y'.repeat(60_000), 'DETAIL:  d'];
    const out = [...long, ...past, ...plain, 'LOG:  end'].flatMap((l) => pushed(j, raw(l, 'stderr')));
    expect(lines(out)).toEqual([long.join('\n'), ...past, ...plain]);
  });

  it('keeps streams apart and bounds the lines per event', () => {
    const j = new MultilineJoiner(multilineOptions({ maxLines: 2 }));
    pushed(j, raw('a'));
    pushed(j, raw(' b'));
    expect(lines(pushed(j, raw(' c')))).toEqual(['a\n b']);
    expect(pushed(j, raw('err', 'stderr'))).toEqual([]);
    expect(lines(j.flush(0, true)).sort()).toEqual([' c', 'err']);
  });
});
