/**
 * The ingester image deletes chdb (docker/ingester.Dockerfile). This runs the built ingester bin
 * with chdb made unresolvable, as it is in the image, to prove the production path (CLICKHOUSE_URL)
 * never loads it: the embedded engine must be imported lazily, only when no URL is configured.
 * Needs the build (`npx tsc -b`), as `npm test` does first.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(root, 'packages/ingester/dist/bin/ingester.js');

let dir: string;
let hook: string;
let cjsHook: string;
beforeAll(async () => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npx tsc -b)`);
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-no-chdb-'));
  // A module resolution hook that makes chdb (and its subpaths) missing, as in the image.
  const hooks = path.join(dir, 'hooks.mjs');
  await writeFile(
    hooks,
    `export async function resolve(specifier, context, next) {
  if (specifier === 'chdb' || specifier.startsWith('chdb/') || specifier.startsWith('@chdb/')) {
    const err = new Error("Cannot find package '" + specifier + "' (removed from the image)");
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}\n`,
  );
  // The same for require() (createRequire), which the ESM hooks of Node 20 do not see.
  cjsHook = path.join(dir, 'block.cjs');
  await writeFile(
    cjsHook,
    `const Module = require('node:module');
const original = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'chdb' || request.startsWith('chdb/') || request.startsWith('@chdb/')) {
    const err = new Error("Cannot find module '" + request + "' (removed from the image)");
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return original.call(this, request, ...rest);
};\n`,
  );
  hook = path.join(dir, 'register.mjs');
  await writeFile(
    hook,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--require', cjsHook, '--import', hook, bin, ...args],
      { cwd: root, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('ingester without chdb (the production image)', () => {
  it('loads its whole module graph: --help prints the options', async () => {
    const r = await run(['--help']);
    expect(r.stderr).not.toMatch(/chdb/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/clickhouse\.url/);
  });
});
