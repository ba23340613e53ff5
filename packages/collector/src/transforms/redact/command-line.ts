/**
 * A client's options on a command line, as shell, cron and CI logs and process launchers show
 * them: the options of the command a name starts, up to that command's end, so that a rule for
 * `mysql -pX` does not take a later `ssh -p2222` on the same line.
 */

const QUOTE_DOUBLE = 34;
const QUOTE_SINGLE = 39;
/** `;` `|` `&` `)` backtick, line feed, carriage return: where a shell command ends. */
const COMMAND_ENDS = new Set([59, 124, 38, 41, 96, 10, 13]);

/**
 * Where the arguments that begin at `from` end: the first command end outside quotes, or the end
 * of the text. A value quoted in the command keeps its `;` (`mysql -e "DROP x; CREATE x" -pX`);
 * an unquoted one cannot hold one (the shell would have ended the command there). `before` is the
 * character before the command's name: a name quoted as a list element (`['mysql', '-pX']`) is
 * closed by the quote right after it.
 */
export function commandEnd(text: string, from: number, before: number): number {
  let i = from;
  if ((before === QUOTE_DOUBLE || before === QUOTE_SINGLE) && text.charCodeAt(i) === before) i++;
  let quote = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === QUOTE_DOUBLE || c === QUOTE_SINGLE) quote = c;
    else if (COMMAND_ENDS.has(c)) return i;
  }
  return text.length;
}

/**
 * `text` with `edit` applied to the arguments of each command that `name` (a global pattern)
 * names, each from after the name to its command's end. One pass: the name is searched on from
 * where the last command ended, so a line naming the client many times stays linear.
 */
export function eachCommand(text: string, name: RegExp, edit: (args: string) => string): string {
  name.lastIndex = 0;
  let out = '';
  let done = 0;
  for (let m = name.exec(text); m !== null; m = name.exec(text)) {
    const start = m.index + m[0].length;
    const end = commandEnd(text, start, m.index > 0 ? text.charCodeAt(m.index - 1) : 0);
    out += text.slice(done, start) + edit(text.slice(start, end));
    done = end;
    name.lastIndex = end;
  }
  return done === 0 ? text : out + text.slice(done);
}
