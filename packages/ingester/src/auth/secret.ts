/**
 * Bearer token secrets. A token is 256 random bits, so one SHA-256 is enough to store it: slow
 * password hashes (scrypt, argon2) exist to make guessing low-entropy secrets expensive, and there
 * is nothing to guess in 2^256. A fast hash also lets every request find its token by hash.
 */
import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'et_';

/** A new token: `et_` and 43 base64url characters; the prefix lets secret scanners spot leaks. */
export const newTokenSecret = (): string => PREFIX + randomBytes(32).toString('base64url');

export const newTokenId = (): string => 'tk_' + randomBytes(8).toString('hex');

export const hashToken = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** The secret from an Authorization header, or undefined when there is none or it is not Bearer. */
export function bearerSecret(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer +([\x21-\x7e]{1,512})\s*$/i.exec(header);
  return m?.[1];
}
