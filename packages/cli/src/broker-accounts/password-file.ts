/**
 * Broker accounts in Mosquitto's password file format: one `user:$7$...` line per account
 * (PBKDF2-SHA512, as `mosquitto_passwd` writes it). `nodes add` writes it for Mosquitto and for the
 * embedded broker alike; the embedded broker reads it (accounts.ts). Hashing is done here in Node
 * rather than by shelling out to mosquitto_passwd, so provisioning works where Mosquitto is not
 * installed; the tests prove the format by having a real Mosquitto accept the entries.
 */
import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineErrors } from '@edge-telemetry/protocol';

export const PasswordFileErrorCodes = {
  ET_ERR_PASSWORD_FILE: 'the Mosquitto password file could not be read or written',
} as const;
export const PasswordFileError = defineErrors('PasswordFileError', PasswordFileErrorCodes);

/**
 * mosquitto_passwd's own iteration count. The password is 256 random bits, so key stretching adds
 * nothing against guessing, while every CONNECT pays it: a reconnect storm of a whole fleet stays cheap.
 */
export const MOSQUITTO_PBKDF2_ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;

/** `$7$<iterations>$<salt b64>$<hash b64>`: the hash half of a Mosquitto password file line. */
export function hashMosquittoPassword(
  password: string,
  salt: Buffer = randomBytes(SALT_BYTES),
  iterations = MOSQUITTO_PBKDF2_ITERATIONS,
): string {
  const hash = pbkdf2Sync(password, salt, iterations, HASH_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Parses a `$7$` hash; undefined for other formats. */
export function parseMosquittoHash(hash: string): { iterations: number; salt: Buffer; hash: Buffer } | undefined {
  const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hash);
  if (!m) return undefined;
  return {
    iterations: Number(m[1]),
    salt: Buffer.from(m[2] as string, 'base64'),
    hash: Buffer.from(m[3] as string, 'base64'),
  };
}

/** 256 random bits, URL-safe, never containing ':' (the password file's separator) or quotes. */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

/** Replaces the user's line, or appends one; every other line is kept as it was. */
export function upsertPasswordLine(fileText: string, user: string, hash: string): string {
  return upsertPasswordLines(fileText, [[user, hash]]);
}

/** The same for many users in one pass (a user given twice: the last entry wins). */
export function upsertPasswordLines(fileText: string, entries: readonly [string, string][]): string {
  const lines = fileText.split('\n').filter((l, i, all) => !(i === all.length - 1 && l === ''));
  const at = new Map(lines.map((l, i) => [l.slice(0, l.indexOf(':')), i]));
  for (const [user, hash] of entries) {
    const i = at.get(user);
    if (i !== undefined) lines[i] = `${user}:${hash}`;
    else at.set(user, lines.push(`${user}:${hash}`) - 1);
  }
  return lines.join('\n') + '\n';
}

/** True when `password` hashes to the `$7$` hash (constant-time compare); false for other formats. */
export function verifyMosquittoPassword(password: string, hash: string): boolean {
  const h = parseMosquittoHash(hash);
  if (!h || h.iterations < 1 || h.iterations > 1_000_000) return false;
  const got = pbkdf2Sync(password, h.salt, h.iterations, h.hash.length, 'sha512');
  return got.length === h.hash.length && timingSafeEqual(got, h.hash);
}

/** `user -> hash` of a password file's text; blank lines, comments and malformed lines are skipped. */
export function parsePasswordFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at <= 0 || line.startsWith('#')) continue;
    out.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return out;
}

/**
 * Writes the user's entry. A lock file (created exclusively) keeps two provisioning runs from
 * losing each other's entry; the rename makes the change atomic for a broker reading concurrently.
 */
export function writePasswordEntry(file: string, user: string, password: string): Promise<void> {
  return writePasswordEntries(file, [[user, password]]);
}

/** Writes several users' entries in one rewrite of the file (`start` gives every simulated gateway one). */
export async function writePasswordEntries(file: string, entries: readonly [string, string][]): Promise<void> {
  const lockPath = `${file}.lock`;
  let lock;
  try {
    lock = await open(lockPath, 'wx');
  } catch (err) {
    const busy = (err as NodeJS.ErrnoException).code === 'EEXIST';
    throw new PasswordFileError(
      'ET_ERR_PASSWORD_FILE',
      busy
        ? `${lockPath} exists: another nodes add is running (or one crashed: then delete the lock)`
        : `${lockPath}: ${(err as Error).message}`,
    );
  }
  try {
    let text = '';
    let mode = 0o600;
    try {
      text = await readFile(file, 'utf8');
      mode = (await stat(file)).mode & 0o777;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new PasswordFileError('ET_ERR_PASSWORD_FILE', `${file}: ${(err as Error).message}`);
    }
    const tmp = path.join(
      path.dirname(file),
      `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      const lines = upsertPasswordLines(
        text,
        entries.map(([user, password]) => [user, hashMosquittoPassword(password)]),
      );
      await writeFile(tmp, lines, { mode });
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new PasswordFileError('ET_ERR_PASSWORD_FILE', `${file}: ${(err as Error).message}`);
    }
  } finally {
    await lock.close();
    await rm(lockPath, { force: true });
  }
}
