/**
 * `simulate --credentials FILE`: read and checked once, before any worker starts. A missing file
 * or bad JSON crashed every worker with a stack trace, and a node without an entry connected
 * anonymously and was refused, silently (its warnings did not name it).
 */
import { readFile } from 'node:fs/promises';

/** The password of every node in `nodes`; throws a sentence that names the problem and the fix. */
export async function readCredentials(file: string, nodes: readonly string[]): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(
      `--credentials ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`--credentials ${file}: not JSON (${(err as Error).message})`, { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`--credentials ${file}: expected an object { "<node id>": "<password>" }`);
  const entries = parsed as Record<string, unknown>;
  const missing = nodes.filter((n) => typeof entries[n] !== 'string' || entries[n] === '');
  if (missing.length > 0)
    throw new Error(
      `--credentials ${file}: no password for ${missing.length} of the ${nodes.length} simulated node(s) (${missing
        .slice(0, 3)
        .join(
          ', ',
        )}${missing.length > 3 ? ', ...' : ''}); give each its broker account (\`edge-telemetry nodes add <id>\`), or check --prefix and --nodes`,
    );
  return Object.fromEntries(nodes.map((n) => [n, entries[n] as string]));
}
