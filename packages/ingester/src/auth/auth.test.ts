/** The pure parts of API auth: token buckets, route access, headers, bearer parsing. */
import { describe, expect, it } from 'vitest';
import { routeAccess } from './access.js';
import { API_CSP, DOCS_CSP, securityHeaders } from './headers.js';
import { createRateLimiter } from './rate-limit.js';
import { take } from '../quotas/token-bucket.js';
import { roleAllows } from './roles.js';
import { bearerSecret, hashToken, newTokenSecret } from './secret.js';
import { allStringsWellFormed } from './strict-json.js';

describe('token bucket', () => {
  const o = { perSecond: 2, burst: 3 };
  it('allows the burst, then refills at the rate and says when to retry', () => {
    let b;
    const results = [];
    for (let i = 0; i < 4; i++) {
      const r = take(b, 1000, o);
      b = r.bucket;
      results.push(r.result);
    }
    expect(results.slice(0, 3).every((r) => r.allowed)).toBe(true);
    expect(results[3]).toEqual({ allowed: false, retryAfterS: 1 });
    expect(take(b, 1500, o).result.allowed).toBe(true);
    // Never more than the burst, however long the pause.
    expect(take(b, 10_000_000, o).bucket.tokens).toBe(o.burst - 1);
  });

  it('keeps at most maxKeys buckets, dropping the least recently used', () => {
    let t = 0;
    const l = createRateLimiter({ perSecond: 0.001, burst: 1, maxKeys: 2, now: () => t });
    expect(l.take('a').allowed).toBe(true);
    expect(l.take('b').allowed).toBe(true);
    expect(l.take('a').allowed).toBe(false);
    t = 1;
    expect(l.take('c').allowed).toBe(true); // evicts b (a was used more recently)
    expect(l.take('b').allowed).toBe(true); // b forgotten: a fresh bucket, which evicts a
    expect(l.take('c').allowed).toBe(false);
  });
});

describe('route access', () => {
  it('takes the declared role, else public paths, else admin', () => {
    expect(routeAccess('/api/v1/nodes', { role: 'viewer' })).toBe('viewer');
    expect(routeAccess('/ui/*', { public: true })).toBe('public');
    expect(routeAccess('/healthz', undefined)).toBe('public');
    expect(routeAccess('/docs/json', {})).toBe('public');
    expect(routeAccess('/api/v1/new-thing', {})).toBe('admin');
    expect(routeAccess('/debug', undefined)).toBe('admin');
    expect(routeAccess('/docsx', undefined)).toBe('admin');
  });
  it('orders roles viewer < engineer < admin', () => {
    expect(roleAllows('admin', 'engineer')).toBe(true);
    expect(roleAllows('engineer', 'engineer')).toBe(true);
    expect(roleAllows('viewer', 'engineer')).toBe(false);
  });
});

describe('security headers', () => {
  it('keeps a policy the route set, picks the docs policy for /docs and the strict one elsewhere', () => {
    expect(securityHeaders('/api/v1/nodes', () => false)).toMatchObject({
      'content-security-policy': API_CSP,
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
    });
    expect(securityHeaders('/docs/static/index.html', () => false)['content-security-policy']).toBe(DOCS_CSP);
    expect(securityHeaders('/ui/', (h) => h === 'content-security-policy')['content-security-policy']).toBeUndefined();
  });
});

describe('bearer secrets', () => {
  it('parses only well-formed Bearer headers', () => {
    expect(bearerSecret('Bearer et_abc')).toBe('et_abc');
    expect(bearerSecret('bearer et_abc ')).toBe('et_abc');
    for (const h of [
      undefined,
      '',
      'Bearer',
      'Bearer a b',
      'Basic et_abc',
      `Bearer ${'a'.repeat(513)}`,
      'Bearer \u00ff',
    ])
      expect(bearerSecret(h), String(h)).toBeUndefined();
  });
  it('makes 256-bit secrets and hashes them to 64 hex digits', () => {
    const a = newTokenSecret();
    expect(a).toMatch(/^et_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(newTokenSecret());
    expect(hashToken(a)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('well-formed strings in bodies', () => {
  it('finds a lone surrogate in any value or key, at any depth', () => {
    expect(allStringsWellFormed({ a: ['ok', { b: '\ud83d\ude00' }], n: 1, z: null })).toBe(true);
    expect(allStringsWellFormed({ a: [{ b: 'x\ud800' }] })).toBe(false);
    expect(allStringsWellFormed({ ['k\udc00']: 1 })).toBe(false);
    let deep: unknown = '\udfff';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(allStringsWellFormed(deep)).toBe(false);
  });
});
