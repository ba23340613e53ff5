/**
 * Errors as ClickHouse's HTTP interface returns them: the status chosen from the exception code
 * (transcribed from src/Server/HTTP/exceptionCodeToHTTPStatus.cpp by error name), the code in
 * X-ClickHouse-Exception-Code, and the body `Code: N. DB::Exception: <message>. (NAME) (version V)`.
 * Codes are looked up by name in the engine itself (errorCodeToName), so none is typed in here.
 */

const STATUS_BY_NAME: ReadonlyArray<readonly [number, readonly string[]]> = [
  [401, ['REQUIRED_PASSWORD']],
  [403, ['UNKNOWN_USER', 'WRONG_PASSWORD', 'AUTHENTICATION_FAILED', 'SET_NON_GRANTED_ROLE', 'ACCESS_DENIED']],
  [
    400,
    [
      'BAD_ARGUMENTS',
      'CANNOT_COMPILE_REGEXP',
      'CANNOT_PARSE_TEXT',
      'CANNOT_PARSE_ESCAPE_SEQUENCE',
      'CANNOT_PARSE_QUOTED_STRING',
      'CANNOT_PARSE_DATE',
      'CANNOT_PARSE_DATETIME',
      'CANNOT_PARSE_NUMBER',
      'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING',
      'CANNOT_PARSE_IPV4',
      'CANNOT_PARSE_IPV6',
      'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
      'CANNOT_PARSE_UUID',
      'DUPLICATE_COLUMN',
      'ILLEGAL_COLUMN',
      'UNKNOWN_ELEMENT_IN_AST',
      'UNKNOWN_TYPE_OF_AST_NODE',
      'THERE_IS_NO_COLUMN',
      'TOO_DEEP_AST',
      'TOO_BIG_AST',
      'UNEXPECTED_AST_STRUCTURE',
      'SYNTAX_ERROR',
      'INCORRECT_DATA',
      'TYPE_MISMATCH',
      'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
    ],
  ],
  [
    404,
    [
      'UNKNOWN_TABLE',
      'UNKNOWN_FUNCTION',
      'UNKNOWN_IDENTIFIER',
      'UNKNOWN_TYPE',
      'UNKNOWN_STORAGE',
      'UNKNOWN_DATABASE',
      'UNKNOWN_SETTING',
      'UNKNOWN_DIRECTION_OF_SORTING',
      'UNKNOWN_AGGREGATE_FUNCTION',
      'UNKNOWN_FORMAT',
      'UNKNOWN_DATABASE_ENGINE',
      'UNKNOWN_TYPE_OF_QUERY',
      'UNKNOWN_ROLE',
    ],
  ],
  [413, ['QUERY_IS_TOO_LARGE']],
  [501, ['NOT_IMPLEMENTED']],
  [503, ['SOCKET_TIMEOUT', 'CANNOT_OPEN_FILE', 'CANNOT_SCHEDULE_TASK']],
  [411, ['HTTP_LENGTH_REQUIRED']],
  [408, ['TIMEOUT_EXCEEDED']],
  [415, ['UNSUPPORTED_MEDIA_TYPE']],
];

const STATUS = new Map(STATUS_BY_NAME.flatMap(([status, names]) => names.map((n) => [n, status] as const)));

export function httpStatusOf(name: string): number {
  return STATUS.get(name) ?? 500;
}

/** The errors the server raises itself (the engine raises the rest). */
export const OWN_ERRORS = [
  'SYNTAX_ERROR',
  'UNKNOWN_SETTING',
  'NOT_IMPLEMENTED',
  'BAD_ARGUMENTS',
  'AUTHENTICATION_FAILED',
  'HTTP_LENGTH_REQUIRED',
  'QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING',
  'BAD_QUERY_PARAMETER',
  'UNKNOWN_ROLE',
  'ZLIB_INFLATE_FAILED',
  'STD_EXCEPTION',
] as const;
export type OwnError = (typeof OWN_ERRORS)[number];

/** An exception as the server reports it: its code, its name and the full `Code: N. ...` text. */
export class ServerException extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    text: string,
  ) {
    super(text);
  }
}

/** `Code: N. DB::Exception: <message>. (NAME)`, the engine's own wording. */
export function exceptionText(code: number, name: string, message: string): string {
  return `Code: ${code}. DB::Exception: ${message}. (${name})`;
}

const ENGINE_ERROR = /^Code: (\d+)\. .*\(([A-Z0-9_]+)\)(?: \(version [^)]*\)?\)?)?\s*$/s;

/** An error thrown by the engine as the server would report it; anything else as STD_EXCEPTION. */
export function fromEngineError(err: unknown, stdExceptionCode: number): ServerException {
  const message = err instanceof Error ? err.message : String(err);
  const m = ENGINE_ERROR.exec(message);
  if (m) return new ServerException(Number(m[1]), m[2] as string, message.trimEnd());
  return new ServerException(
    stdExceptionCode,
    'STD_EXCEPTION',
    exceptionText(stdExceptionCode, 'STD_EXCEPTION', message.replace(/\.$/, '')),
  );
}

/** The response body: the exception text, the version as the server appends it, and a line feed. */
export function errorBody(e: ServerException, version: string): string {
  return /\(version [^)]*\)\)?$/.test(e.message)
    ? `${e.message}\n`
    : `${e.message} (version ${version} (official build))\n`;
}
