/**
 * Text with the password of every URL in it hidden (`scheme://user:***@host`): URLs that carry
 * credentials (CLICKHOUSE_URL in compose, a broker URL with `user:pass@`) are written to logs and
 * start-up errors, which more people read than hold the secrets. Text, not a parsed URL: it may be
 * a mistyped value or JSON around one.
 */
export function hidePassword(text: string): string {
  return text.replace(/(\/\/[^/:@\s"]*):[^/\s"]*@/g, '$1:***@');
}
