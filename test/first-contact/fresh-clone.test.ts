/**
 * Issue 18, first contact: on a fresh clone, the README's `npm ci && npm run build` and then
 * `npx edge-telemetry --help` must work, and so must the two service bins. npm links bins at
 * install time, before dist/ exists; this would catch a bin that points into dist/ again.
 * The clone is of the committed HEAD (uncommitted edits are not in it); npm ci takes packages
 * from the local cache where it has them. Slow by nature (an install and a build, a few minutes
 * on a busy machine), so everything first contact needs is checked on this one clone.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/processes.js';

const exec = promisify(execFile);

interface Run {
  code: number;
  out: string;
}

/** Runs a command in the clone; a non-zero exit is a result, not an exception. */
async function run(cwd: string, cmd: string, args: string[], timeoutMs: number): Promise<Run> {
  // `npm test` exports npm_* variables, among them npm_config_local_prefix (the outer checkout), which
  // would point npm in the clone back at this repository; only the cache location is kept.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || k.toLowerCase() === 'npm_config_cache'),
  );
  try {
    const r = await exec(cmd, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}

describe('a fresh clone: npm ci && npm run build, then the bins', () => {
  let dir: string;
  let clone: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-fresh-clone-'));
    clone = path.join(dir, 'edge-telemetry');
    const cloned = await run(dir, 'git', ['clone', '--quiet', repoRoot, clone], 60_000);
    expect(cloned.code, cloned.out).toBe(0);
    const ci = await run(clone, 'npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], 600_000);
    expect(ci.code, ci.out).toBe(0);
    const build = await run(clone, 'npm', ['run', 'build'], 300_000);
    expect(build.code, build.out).toBe(0);
  }, 960_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('npx edge-telemetry --help prints the commands', async () => {
    const r = await run(clone, 'npx', ['edge-telemetry', '--help'], 60_000);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^usage: edge-telemetry <command>/);
    expect(r.out).toContain('start');
  });

  it('npx edge-telemetry-ingester --help prints its options', async () => {
    const r = await run(clone, 'npx', ['edge-telemetry-ingester', '--help'], 60_000);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^usage: edge-telemetry-ingester/);
  });

  it('npx edge-telemetry-collector runs the collector (which refuses a config without a broker)', async () => {
    const r = await run(clone, 'npx', ['edge-telemetry-collector'], 60_000);
    expect(r.out).not.toMatch(/could not determine executable/);
    expect(r.out).toMatch(/^edge-telemetry-collector: invalid configuration/);
    expect(r.code).not.toBe(0);
  });
});
