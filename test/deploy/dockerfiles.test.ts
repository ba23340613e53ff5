/**
 * Issue 9: the images cannot be built here (no Docker engine), so the Dockerfiles are held to
 * their invariants by reading them: multi-stage, pinned base, non-root, health-checked, started
 * from the bin the package declares, and no embedded ClickHouse in the ingester's runtime stage.
 * Every check is also run on a broken copy, so none of them passes vacuously.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { instructions, parseDockerfile } from './dockerfile.js';
import { dockerfileProblems, unpinnedImage, type DockerfileExpectations } from './invariants.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');
const binOf = (pkg: string) =>
  `${pkg}/${Object.values((JSON.parse(read(`${pkg}/package.json`)) as { bin: Record<string, string> }).bin)[0]}`;

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
  workspaces?: string[];
}
const pkgJson = (dir: string) => JSON.parse(read(`${dir}/package.json`)) as PackageJson;
const workspaces = pkgJson('.').workspaces ?? [];
const dirOf = (name: string) => workspaces.find((w) => pkgJson(w).name === name);

/** The workspace packages `dir` needs at run time: itself and its workspace dependencies, transitively. */
function runtimeClosure(dir: string, seen = new Set<string>()): Set<string> {
  if (seen.has(dir)) return seen;
  seen.add(dir);
  for (const dep of Object.keys(pkgJson(dir).dependencies ?? {})) {
    const d = dirOf(dep);
    if (d) runtimeClosure(d, seen);
  }
  return seen;
}

/** The TypeScript projects `tsc -b dir` compiles: dir and its references, transitively. */
function buildClosure(dir: string, seen = new Set<string>()): Set<string> {
  if (seen.has(dir)) return seen;
  seen.add(dir);
  const refs = (JSON.parse(read(`${dir}/tsconfig.json`)) as { references?: { path: string }[] }).references ?? [];
  for (const r of refs) buildClosure(path.posix.join(dir, r.path), seen);
  return seen;
}

const services: { name: string; want: DockerfileExpectations }[] = [
  {
    name: 'collector',
    want: {
      bin: binOf('packages/collector'),
      launcher: { path: 'packages/collector/bin/launch.sh', text: read('packages/collector/bin/launch.sh') },
      absent: ['chdb', 'fastify'],
    },
  },
  { name: 'ingester', want: { bin: binOf('packages/ingester'), pruned: ['chdb'] } },
];

describe.each(services)('docker/$name.Dockerfile', ({ name, want }) => {
  const text = read(`docker/${name}.Dockerfile`);

  it('meets every image invariant', () => {
    expect(dockerfileProblems(text, want)).toEqual([]);
  });

  it('bases every stage on node 20 alpine, pinned by full version', () => {
    for (const s of parseDockerfile(text).stages) expect(s.from).toMatch(/^node:20\.\d+\.\d+-alpine/);
  });

  it('installs only its own workspace, without third-party install scripts', () => {
    expect(text).toMatch(new RegExp(`npm ci --omit=dev --ignore-scripts .*--workspace @edge-telemetry/${name}`));
  });

  it('gives npm ci every workspace manifest the lockfile names, in every stage that installs', () => {
    for (const stage of parseDockerfile(text).stages.filter((st) =>
      st.instructions.some((i) => i.keyword === 'RUN' && i.args.includes('npm ci')),
    )) {
      const copied = stage.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args.split(/\s+/)[0]);
      for (const w of workspaces) expect(copied, `${stage.name}: ${w}/package.json`).toContain(`${w}/package.json`);
      expect(copied).toContain('package.json');
    }
  });

  it('compiles every project the service references, and ships every workspace package it imports', () => {
    const df = parseDockerfile(text);
    const dir = `packages/${name}`;
    const build = df.stages.find((st) =>
      st.instructions.some((i) => i.keyword === 'RUN' && i.args.includes(`tsc -b ${dir}`)),
    );
    expect(build, `a stage runs tsc -b ${dir}`).toBeDefined();
    const buildCopies = build?.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args) ?? [];
    for (const project of buildClosure(dir)) expect(buildCopies, project).toContain(`${project} ${project}`);
    const runtimeCopies = (df.stages.at(-1)?.instructions ?? []).filter((i) => i.keyword === 'COPY').map((i) => i.args);
    for (const p of runtimeClosure(dir)) {
      expect(runtimeCopies, p).toContain(`--from=${build?.name} /src/${p}/dist ${p}/dist`);
      expect(runtimeCopies, p).toContain(`--from=${build?.name} /src/${p}/package.json ${p}/`);
    }
  });

  it('COPYs from the build context only paths that exist in the repository', () => {
    for (const s of parseDockerfile(text).stages) {
      for (const c of s.instructions.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from='))) {
        const sources = c.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1);
        for (const src of sources) expect(existsSync(path.join(root, src)), `${name}: COPY ${src}`).toBe(true);
      }
    }
  });

  it('has a .dockerignore that keeps node_modules, build output and secrets out of the context', () => {
    const ignore = read(`docker/${name}.Dockerfile.dockerignore`).split('\n');
    for (const p of [
      '**/node_modules',
      '**/dist',
      'docker/mosquitto/passwd',
      'docker/mosquitto/certs',
      '**/.env',
      'docker/build',
    ])
      expect(ignore).toContain(p);
  });

  describe('rejects broken copies', () => {
    const broken: [string, (t: string) => string, RegExp][] = [
      ['a root user', (t) => t.replace(/^USER node$/m, 'USER root'), /non-root USER/],
      ['no USER', (t) => t.replace(/^USER node$/m, ''), /non-root USER/],
      ['no HEALTHCHECK', (t) => t.replace(/^HEALTHCHECK[\s\S]*?\|\| exit 1\n/m, ''), /HEALTHCHECK/],
      ['a :latest base', (t) => t.replace(/^ARG NODE_IMAGE=.*$/m, 'ARG NODE_IMAGE=node:latest'), /moving tag latest/],
      ['an untagged base', (t) => t.replace(/^ARG NODE_IMAGE=.*$/m, 'ARG NODE_IMAGE=node'), /no tag/],
      [
        'node_modules from the build stage',
        (t) =>
          t.replace(
            'COPY --from=deps /app/node_modules node_modules',
            'COPY --from=build /src/node_modules node_modules',
          ),
        /production-deps stage/,
      ],
      [
        'chdb neither removed nor checked',
        (t) =>
          t
            .replace(/ \\\n && rm -rf node_modules\/chdb node_modules\/@chdb/, '')
            .replace(/ && test ! -e node_modules\/chdb/, '')
            .replace(/ \\\n && test ! -e node_modules\/chdb/, ''),
        /check that chdb is gone/,
      ],
      [
        'a single stage',
        (t) =>
          t
            .split(/^FROM \$\{NODE_IMAGE\} AS runtime$/m)
            .join('')
            .replace(/^FROM .* AS (build|deps)$/gm, '') + '\nFROM node:20.20.2-alpine\n',
        /not multi-stage|ENTRYPOINT|USER/,
      ],
    ];
    it.each(broken)('%s', (_what, mutate, problem) => {
      const bad = mutate(text);
      expect(bad).not.toBe(text);
      expect(dockerfileProblems(bad, want).join('\n')).toMatch(problem);
    });
  });
});

describe('docker/collector.Dockerfile starts through launch.sh', () => {
  const text = read('docker/collector.Dockerfile');
  const want = services[0]?.want as DockerfileExpectations;
  const launcher = want.launcher as { path: string; text: string };

  it('rejects an ENTRYPOINT that skips it, and a launch.sh that does not exec the bin', () => {
    const direct = text.replace(
      '"sh", "packages/collector/bin/launch.sh"',
      '"node", "packages/collector/bin/collector.js"',
    );
    expect(direct).not.toBe(text);
    expect(dockerfileProblems(direct, want).join('\n')).toMatch(/ENTRYPOINT does not start sh/);
    const noExec = launcher.text.replace(/^exec node /m, 'node ');
    expect(noExec).not.toBe(launcher.text);
    expect(dockerfileProblems(text, { ...want, launcher: { ...launcher, text: noExec } }).join('\n')).toMatch(
      /does not exec node/,
    );
  });
});

describe('image reference pinning', () => {
  it.each([
    ['node:20.20.2-alpine', undefined],
    ['clickhouse/clickhouse-server:26.8', undefined],
    ['eclipse-mosquitto:2.0.22@sha256:' + 'a'.repeat(64), undefined],
    ['${IMG:-edge-telemetry/collector:0.1.0}', undefined],
    ['grafana/grafana', /no tag/],
    ['grafana/grafana:latest', /moving tag/],
    ['registry:5000/x', /no tag/],
    ['node:lts-alpine', /not an explicit version/],
    ['${IMG}', /pinned default/],
  ])('%s', (image, problem) => {
    const why = unpinnedImage(image);
    if (problem === undefined) expect(why).toBeUndefined();
    else expect(why).toMatch(problem);
  });
});

describe('Dockerfile parser', () => {
  it('joins continuation lines and drops comments', () => {
    expect(instructions('# c\nRUN a \\\n && b\n\nUSER node\n')).toEqual([
      { keyword: 'RUN', args: 'a  && b' },
      { keyword: 'USER', args: 'node' },
    ]);
  });

  it('applies global ARG defaults to FROM and names stages', () => {
    const df = parseDockerfile('ARG IMG=node:20.1.2-alpine\nFROM ${IMG} AS one\nRUN x\nFROM $IMG\n');
    expect(df.stages.map((s) => [s.name, s.from])).toEqual([
      ['one', 'node:20.1.2-alpine'],
      [undefined, 'node:20.1.2-alpine'],
    ]);
  });
});
