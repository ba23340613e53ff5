/**
 * The collector image's entrypoint (packages/collector/bin/launch.sh) chooses node's flags from
 * the container's own memory limit. No Docker engine here, so the script itself is run with sh:
 * over fixture cgroup trees (v1, v2, hybrid, nested, no limit), where the flags it gives node must
 * be launchFlags (and its malloc variables launchEnv) of the limit readMemoryLimit's parser finds
 * in the same files, COMPILER_FLAGS on node's command line (node refuses them in NODE_OPTIONS) and
 * the others in NODE_OPTIONS; in a real cgroup of
 * 64 MiB; and once through to the real node and collector bin. A stand-in `node` first on PATH
 * prints what it was started with (only where the flags themselves are compared).
 */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPILER_FLAGS, launchEnv, launchFlags } from '@edge-telemetry/collector';
import { cgroupMemoryLimit, readText } from '../../packages/collector/src/runtime/memory-limit.js';
import { cgroupVersion, createCgroup } from '../support/cgroup.js';
import { repoRoot } from '../support/processes.js';

const LAUNCH = path.join(repoRoot, 'packages/collector/bin/launch.sh');
const MiB = 2 ** 20;
const canCgroup = cgroupVersion() !== undefined;
if (process.env.CI && !canCgroup) throw new Error('CI must run the launch test in a cgroup: none writable here');

function run(args: string[], opts: ExecFileOptions): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', [LAUNCH, ...args], { ...opts, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

let dir: string;
let stubPath: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'prom-launch-'));
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  await writeFile(
    path.join(bin, 'node'),
    '#!/bin/sh\nprintf "%s\\n" "NODE_OPTIONS=${NODE_OPTIONS-}" "MALLOC=${MALLOC_MMAP_THRESHOLD_-} ${MALLOC_TRIM_THRESHOLD_-}" "$@"\n',
  );
  await chmod(path.join(bin, 'node'), 0o755);
  stubPath = `${bin}:${process.env.PATH ?? ''}`;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fixture tree: `proc` as /proc/self/cgroup, each file under sys/fs/cgroup. */
async function tree(name: string, proc: string | undefined, files: Record<string, string>): Promise<string> {
  const t = path.join(dir, name);
  if (proc !== undefined) {
    await mkdir(path.join(t, 'proc/self'), { recursive: true });
    await writeFile(path.join(t, 'proc/self/cgroup'), proc);
  }
  for (const [f, text] of Object.entries(files)) {
    const p = path.join(t, 'sys/fs/cgroup', f);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, text);
  }
  return t;
}

/** The limit the collector's own reader finds in the same files: the reference the script must agree with. */
function limitIn(t: string): number | undefined {
  const proc = readText(path.join(t, 'proc/self/cgroup'));
  return proc === undefined ? undefined : cgroupMemoryLimit(proc, readText, path.join(t, 'sys/fs/cgroup')).bytes;
}

/** The stand-in node's second line for launchEnv's variables. */
const mallocLine = (env: Record<string, string>) =>
  `MALLOC=${env.MALLOC_MMAP_THRESHOLD_ ?? ''} ${env.MALLOC_TRIM_THRESHOLD_ ?? ''}`;

/** The stand-in node's first line: launchFlags but COMPILER_FLAGS, which go on the command line. */
const optionsLine = (flags: string[]) => `NODE_OPTIONS=${flags.filter((f) => !COMPILER_FLAGS.includes(f)).join(' ')}`;

const bytes = (mib: number) => `${mib * MiB}\n`;
const V1_NONE = '9223372036854771712\n';
const cases: Array<[string, string | undefined, Record<string, string>, string[]]> = [
  [
    'v2, its own cgroup at the root (docker run -m 64m)',
    '0::/\n',
    { 'memory.max': bytes(64) },
    ['--max-old-space-size=32', '--max-semi-space-size=1', '--v8-pool-size=1', ...COMPILER_FLAGS],
  ],
  [
    'v2 at 128 MiB',
    '0::/\n',
    { 'memory.max': bytes(128) },
    ['--max-semi-space-size=2', '--v8-pool-size=1', ...COMPILER_FLAGS],
  ],
  ['v2 without a limit', '0::/\n', { 'memory.max': 'max\n' }, []],
  ['v2 at 1 GiB', '0::/\n', { 'memory.max': bytes(1024) }, []],
  [
    'v2 host view: the smallest limit up the path',
    '0::/kubepods/burstable/pod1/c1\n',
    { 'kubepods/burstable/pod1/c1/memory.max': 'max\n', 'kubepods/burstable/pod1/memory.max': bytes(96) },
    ['--max-old-space-size=48', '--max-semi-space-size=1', '--v8-pool-size=1', ...COMPILER_FLAGS],
  ],
  [
    "v1 container view: the host's path is not there, the mount root is its own",
    '12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/system.slice/docker.service\n',
    { 'memory/memory.limit_in_bytes': bytes(100) },
    ['--max-old-space-size=50', '--max-semi-space-size=1', '--v8-pool-size=1', ...COMPILER_FLAGS],
  ],
  [
    'v1 host view, hybrid host: the memory controller decides',
    '4:memory:/docker/abc\n0::/other\n',
    {
      'memory/memory.limit_in_bytes': V1_NONE,
      'memory/docker/memory.limit_in_bytes': V1_NONE,
      'memory/docker/abc/memory.limit_in_bytes': bytes(128),
      'other/memory.max': bytes(32),
    },
    ['--max-semi-space-size=2', '--v8-pool-size=1', ...COMPILER_FLAGS],
  ],
  ['v1 without a limit (the page-counter maximum)', '4:memory:/\n', { 'memory/memory.limit_in_bytes': V1_NONE }, []],
  ['no cgroup files at all', '0::/\n', {}, []],
  ['no /proc/self/cgroup', undefined, { 'memory.max': bytes(64) }, []],
];

describe('packages/collector/bin/launch.sh (the image entrypoint)', () => {
  it.each(cases)('%s', async (name, proc, files, flags) => {
    const t = await tree(name.replace(/\W+/g, '-'), proc, files);
    const env = { ...process.env, PATH: stubPath, EDGE_TELEMETRY_LAUNCH_ROOT: t, NODE_OPTIONS: '' };
    const got = await run(['--config', '/etc/c.json'], { env });
    expect(got.stderr).toBe('');
    expect(got.code).toBe(0);
    const [options, malloc, ...args] = got.stdout.trimEnd().split('\n');
    // The rule of launchFlags and launchEnv, and the limit as the collector itself reads it from the same files.
    expect(flags).toEqual(launchFlags(limitIn(t)));
    expect(options).toBe(optionsLine(flags));
    expect(malloc).toBe(mallocLine(launchEnv(limitIn(t))));
    // The compiler flags, then the bin next to the script with the image's arguments as given.
    expect(args).toEqual([
      ...flags.filter((f) => COMPILER_FLAGS.includes(f)),
      path.join(path.dirname(LAUNCH), 'collector.js'),
      '--config',
      '/etc/c.json',
    ]);
  });

  const given: Array<[string, string, number, string[]]> = [
    ['64 MiB given over a 1 GiB cgroup', String(64 * MiB), 1024, launchFlags(64 * MiB)],
    ['-1 (none) over a 64 MiB cgroup', '-1', 64, []],
    ["0: the cgroup's, 96 MiB", '0', 96, launchFlags(96 * MiB)],
  ];
  it.each(given)(
    'EDGE_TELEMETRY_COLLECTOR_MEMORY_LIMIT_BYTES decides first, as for the collector: %s',
    async (_name, value, cgroupMib, flags) => {
      const t = await tree(`given${value}`, '0::/\n', { 'memory.max': bytes(cgroupMib) });
      const env = {
        ...process.env,
        PATH: stubPath,
        EDGE_TELEMETRY_LAUNCH_ROOT: t,
        NODE_OPTIONS: '',
        EDGE_TELEMETRY_COLLECTOR_MEMORY_LIMIT_BYTES: value,
      };
      const got = await run([], { env });
      expect(got.stdout.split('\n')[0]).toBe(optionsLine(flags));
    },
  );

  it("puts an operator's NODE_OPTIONS after its own and keeps their malloc settings, so theirs win", async () => {
    const t = await tree('operator', '0::/\n', { 'memory.max': bytes(64) });
    const env = {
      ...process.env,
      PATH: stubPath,
      EDGE_TELEMETRY_LAUNCH_ROOT: t,
      NODE_OPTIONS: '--max-old-space-size=40',
      MALLOC_TRIM_THRESHOLD_: '0',
    };
    const got = await run([], { env });
    expect(got.stdout.split('\n').slice(0, 2)).toEqual([
      'NODE_OPTIONS=--max-old-space-size=32 --max-semi-space-size=1 --v8-pool-size=1 --max-old-space-size=40',
      'MALLOC=65536 0',
    ]);
  });

  it('starts the real node and collector bin with those flags (node refuses a flag it does not know)', async () => {
    const t = await tree('real', '0::/\n', { 'memory.max': bytes(64) });
    const got = await run(['--help'], { env: { ...process.env, EDGE_TELEMETRY_LAUNCH_ROOT: t, NODE_OPTIONS: '' } });
    expect(got.stderr).toBe('');
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^usage: edge-telemetry-collector/);
  });

  it.runIf(canCgroup)(
    'in a real cgroup of 64 MiB, reads that limit from /proc/self/cgroup and the cgroup files',
    async () => {
      const cg = await createCgroup(`prom-launch-${process.pid}`, { memoryBytes: 64 * MiB, cpus: 1 });
      try {
        const child = cg.spawn('sh', [LAUNCH], { env: { ...process.env, PATH: stubPath, NODE_OPTIONS: '' } });
        let out = '';
        child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        const code = await new Promise<number | null>((r) => child.once('exit', r));
        expect(code).toBe(0);
        expect(out.split('\n')[0]).toBe(optionsLine(launchFlags(64 * MiB)));
      } finally {
        await cg.remove();
      }
    },
  );
});
