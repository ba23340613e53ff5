/**
 * Who may connect to the embedded broker: the node accounts in a Mosquitto password file (made by
 * `nodes add --password-file <it>`, the same format Mosquitto reads) and the ingester's account,
 * whose password `start` makes per run and keeps in memory. The file is read again when it
 * changed, so a node added while the broker runs can connect at once (no reload needed).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parsePasswordFile, verifyMosquittoPassword } from '../broker-accounts/password-file.js';
import { accountOf, INGESTER_ACCOUNT, type Account } from './acl.js';

export interface AccountBook {
  /** The account these credentials open, or undefined (unknown user, wrong password, no password). */
  verify(username: string | undefined, password: Buffer | undefined): Promise<Account | undefined>;
}

const digest = (s: string | Buffer) => createHash('sha256').update(s).digest();

/** Where `start` keeps the node accounts of its embedded broker: `<data-dir>/broker/passwd`. */
export function embeddedPasswordFile(dataDir: string): string {
  return path.join(dataDir, 'broker', 'passwd');
}

export function accountBook(o: { passwordFile: string; ingesterPassword: string }): AccountBook {
  let loaded = { mtimeMs: -1, size: -1, users: new Map<string, string>() };
  const ingester = digest(o.ingesterPassword);

  async function users(): Promise<Map<string, string>> {
    let s;
    try {
      s = await stat(o.passwordFile);
    } catch {
      return new Map();
    }
    if (s.mtimeMs !== loaded.mtimeMs || s.size !== loaded.size)
      loaded = { mtimeMs: s.mtimeMs, size: s.size, users: parsePasswordFile(await readFile(o.passwordFile, 'utf8')) };
    return loaded.users;
  }

  return {
    async verify(username, password) {
      if (username === undefined || password === undefined) return undefined;
      const account = accountOf(username);
      if (!account) return undefined;
      if (username === INGESTER_ACCOUNT) return timingSafeEqual(digest(password), ingester) ? account : undefined;
      const hash = (await users()).get(username);
      return hash !== undefined && verifyMosquittoPassword(password.toString('utf8'), hash) ? account : undefined;
    },
  };
}
