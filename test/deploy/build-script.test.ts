/**
 * docker/build-multiarch.sh, run against a stand-in `docker` on PATH that records its arguments:
 * no engine runs here, so this checks what the script asks buildx to do.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const script = path.join(root, 'docker/build-multiarch.sh');
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

let bin: string;
beforeAll(async () => {
  bin = await mkdtemp(path.join(os.tmpdir(), 'et-fake-docker-'));
  // Records every call; `buildx inspect` succeeds so no builder is created.
  await writeFile(path.join(bin, 'docker'), `#!/bin/sh\necho "$*" >> "${bin}/calls"\n`);
  await chmod(path.join(bin, 'docker'), 0o755);
});
afterAll(async () => {
  await rm(bin, { recursive: true, force: true });
});

async function run(env: Record<string, string>): Promise<string[]> {
  await writeFile(path.join(bin, 'calls'), '');
  execFileSync('sh', [script], { env: { PATH: `${bin}:${process.env.PATH ?? ''}`, ...env }, stdio: 'pipe' });
  return (await readFile(path.join(bin, 'calls'), 'utf8'))
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('buildx build'));
}

describe('docker/build-multiarch.sh', () => {
  it('builds both images for amd64, arm64 and arm/v7 from the repository root, tagged with the version', async () => {
    const calls = await run({});
    expect(calls).toHaveLength(2);
    for (const [i, svc] of ['collector', 'ingester'].entries()) {
      const c = calls[i] ?? '';
      expect(c).toContain('--platform linux/amd64,linux/arm64,linux/arm/v7');
      expect(c).toContain(`--file ${root}docker/${svc}.Dockerfile`);
      expect(c).toContain(`--tag edge-telemetry/${svc}:${version}`);
      expect(c).toContain(`--output=type=oci,dest=${root}docker/build/images/${svc}-${version}.oci.tar`);
      expect(c.endsWith(` ${root.replace(/\/$/, '')}`)).toBe(true);
    }
  });

  it('pushes to the registry when asked, with a pinned base image passed through', async () => {
    const calls = await run({
      PUSH: '1',
      REGISTRY: 'registry.example/et',
      TAG: '1.2.3',
      SERVICES: 'collector',
      NODE_IMAGE: 'node:20.20.2-alpine@sha256:' + 'b'.repeat(64),
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toContain('--tag registry.example/et/collector:1.2.3 --push');
    expect(calls[0]).toContain(`--build-arg NODE_IMAGE=node:20.20.2-alpine@sha256:${'b'.repeat(64)}`);
  });

  it('refuses a service without a Dockerfile', () => {
    expect(() =>
      execFileSync('sh', [script], {
        env: { PATH: `${bin}:${process.env.PATH ?? ''}`, SERVICES: 'nope' },
        stdio: 'pipe',
      }),
    ).toThrow(/no Dockerfile for nope/);
  });

  it('says how to get buildx when docker lacks it, or docker is missing', async () => {
    const noBuildx = await mkdtemp(path.join(os.tmpdir(), 'et-docker-no-buildx-'));
    try {
      // A docker CLI without the plugin answers `docker buildx ...` so, with exit 1.
      await writeFile(
        path.join(noBuildx, 'docker'),
        `#!/bin/sh\nif [ "$1" = buildx ]; then echo "docker: 'buildx' is not a docker command." >&2; exit 1; fi\n`,
      );
      await chmod(path.join(noBuildx, 'docker'), 0o755);
      const fail = (PATH: string) => {
        try {
          execFileSync('/bin/sh', [script], { env: { PATH }, stdio: 'pipe' });
          return { status: 0, stderr: '' };
        } catch (err) {
          const e = err as { status: number; stderr: Buffer };
          return { status: e.status, stderr: e.stderr.toString() };
        }
      };
      const sys = process.env.PATH ?? '';
      expect(fail(`${noBuildx}:${sys}`)).toMatchObject({
        status: 2,
        stderr: expect.stringContaining('docker buildx is not available: install the buildx plugin'),
      });
      // PATH with the shell's tools only (sh, sed, dirname): no docker at all.
      const tools = await mkdtemp(path.join(os.tmpdir(), 'et-no-docker-'));
      try {
        for (const t of ['sed', 'dirname', 'head'])
          await symlink(
            execFileSync('sh', ['-c', `command -v ${t}`])
              .toString()
              .trim(),
            path.join(tools, t),
          );
        expect(fail(tools)).toMatchObject({ status: 2, stderr: expect.stringContaining('docker not found on PATH') });
      } finally {
        await rm(tools, { recursive: true, force: true });
      }
    } finally {
      await rm(noBuildx, { recursive: true, force: true });
    }
  });
});
