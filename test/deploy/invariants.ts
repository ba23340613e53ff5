/**
 * The deployment invariants as pure checks: each returns the list of violations (empty = fine),
 * so the tests can run them over the shipped files and over deliberately broken copies.
 */
import { posix } from 'node:path';
import { parseDockerfile, type Stage } from './dockerfile.js';

/** Why an image reference is not pinned, or undefined when it is (explicit numeric version tag, optional digest). */
export function unpinnedImage(image: string): string | undefined {
  if (image.includes('${')) {
    const fallback = /^\$\{\w+:-([^}]+)\}$/.exec(image)?.[1];
    return fallback === undefined
      ? `${image}: a variable image needs a pinned default (\${VAR:-name:1.2.3})`
      : unpinnedImage(fallback);
  }
  const [ref] = image.split('@');
  const colon = (ref ?? '').lastIndexOf(':');
  const tag = colon > (ref ?? '').lastIndexOf('/') ? (ref ?? '').slice(colon + 1) : '';
  if (tag === '') return `${image}: no tag`;
  if (/^(latest|stable|lts|edge|main|master)$/i.test(tag)) return `${image}: moving tag ${tag}`;
  if (!/^v?\d+\.\d+/.test(tag)) return `${image}: tag ${tag} is not an explicit version`;
  return undefined;
}

const runArgs = (s: Stage) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);

export interface DockerfileExpectations {
  /** The package's bin, relative to the repository root, that ENTRYPOINT must start. */
  bin: string;
  /**
   * A shell script next to the bin that ENTRYPOINT runs instead (`sh <path>`), which must end by
   * exec'ing node with the bin: the collector's launch.sh, which chooses node's flags first.
   */
  launcher?: { path: string; text: string };
  /** Dependencies of the workspace that must not reach the runtime stage: deleted after the install, and checked. */
  pruned?: string[];
  /** Packages the install must not bring at all: checked in the deps stage. */
  absent?: string[];
}

export function dockerfileProblems(text: string, want: DockerfileExpectations): string[] {
  const problems: string[] = [];
  const df = parseDockerfile(text);
  const runtime = df.stages.at(-1);
  if (df.stages.length < 2 || !runtime) return ['not multi-stage'];
  for (const s of df.stages) {
    const why = unpinnedImage(s.from);
    if (why) problems.push(`stage ${s.name ?? '?'}: ${why}`);
  }
  const kinds = runtime.instructions.map((i) => i.keyword);
  const user = runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
  if (!user || /^(root|0)(:|$)/.test(user)) problems.push('runtime stage does not switch to a non-root USER');
  else if (kinds.lastIndexOf('USER') > kinds.indexOf('ENTRYPOINT')) problems.push('USER comes after ENTRYPOINT');
  const hc = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
  if (!/^(--\S+\s+)*CMD\s/.test(hc)) problems.push('runtime stage has no HEALTHCHECK CMD');
  const ep = runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '';
  const l = want.launcher;
  if (l === undefined) {
    if (!ep.includes(`"node", "${want.bin}"`)) problems.push(`ENTRYPOINT does not start node ${want.bin}`);
  } else {
    const nextToBin = posix.dirname(l.path) === posix.dirname(want.bin);
    // Node's own flags may come first as one unquoted variable (launch.sh's compiler flags, which NODE_OPTIONS refuses).
    const execs = new RegExp(
      `^exec node (?:\\$[a-z_]+ )?"\\$\\(dirname "\\$0"\\)/${posix.basename(want.bin)}" "\\$@"$`,
      'm',
    );
    if (!ep.includes(`"sh", "${l.path}"`)) problems.push(`ENTRYPOINT does not start sh ${l.path}`);
    if (!nextToBin || !execs.test(l.text)) problems.push(`${l.path} does not exec node ${want.bin}`);
  }

  const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
  if (copies.some((c) => !c.startsWith('--from=')))
    problems.push('runtime stage copies from the build context (sources) instead of a build stage');
  const deps = df.stages.find((s) => runArgs(s).some((r) => /npm ci .*--omit=dev/.test(r)));
  if (!deps) problems.push('no stage installs production dependencies only (npm ci --omit=dev)');
  for (const c of copies.filter((x) => /node_modules/.test(x))) {
    if (!deps || !c.startsWith(`--from=${deps.name} `))
      problems.push(`runtime node_modules not taken from the production-deps stage: COPY ${c}`);
  }
  const native = df.stages.find((s) => runArgs(s).some((r) => r.includes('npm rebuild zstd-napi --build-from-source')));
  if (!native) problems.push('zstd-napi is not built from source');
  else if (!runArgs(native).some((r) => /apk add .*python3/.test(r) && /\bmake\b/.test(r) && /g\+\+/.test(r)))
    problems.push('the stage building zstd-napi lacks python3, make, g++');
  if (runArgs(runtime).some((r) => /g\+\+|python3/.test(r))) problems.push('compiler toolchain in the runtime stage');

  const steps = deps ? runArgs(deps).flatMap((r) => r.split('&&').map((x) => x.trim())) : [];
  const install = steps.findIndex((x) => x.startsWith('npm ci'));
  for (const pkg of [...(want.pruned ?? []), ...(want.absent ?? [])]) {
    if (runtime.instructions.some((i) => i.args.includes(pkg)))
      problems.push(`${pkg} is mentioned in the runtime stage`);
    if (!steps.includes(`test ! -e node_modules/${pkg}`)) problems.push(`the build does not check that ${pkg} is gone`);
  }
  for (const pkg of want.pruned ?? []) {
    const removed = steps.findIndex((x) => new RegExp(`^rm -rf .*node_modules/${pkg}(\\s|$)`).test(x));
    if (removed < 0 || removed < install) problems.push(`${pkg} is not removed after the production install`);
    if (install >= 0 && !/--ignore-scripts/.test(steps[install] ?? ''))
      problems.push(`${pkg}'s install script would run (no --ignore-scripts)`);
  }
  return problems;
}

type Yaml = Record<string, unknown>;
const obj = (v: unknown): Yaml => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Yaml) : {});

export interface ComposeServiceExpectations {
  /** The service may keep a writable root filesystem; the reason is documented beside the exemption. */
  writableRoot?: boolean;
}

/** Compose service invariants: pinned image, non-root, limits, healthcheck, restart, read-only root. */
export function composeServiceProblems(
  name: string,
  service: unknown,
  want: ComposeServiceExpectations = {},
): string[] {
  const s = obj(service);
  const problems: string[] = [];
  const image = typeof s.image === 'string' ? s.image : '';
  const why = image ? unpinnedImage(image) : 'no image';
  if (why) problems.push(`${name}: ${why}`);
  const user = typeof s.user === 'string' ? s.user : '';
  if (!/^[1-9]\d*(:\d+)?$/.test(user)) problems.push(`${name}: user must be a non-root numeric uid, got "${user}"`);
  const limits = obj(obj(obj(s.deploy).resources).limits);
  if (!limits.cpus || !limits.memory) problems.push(`${name}: deploy.resources.limits needs cpus and memory`);
  const hc = obj(s.healthcheck);
  if (!Array.isArray(hc.test) || hc.test.length < 2 || hc.disable === true)
    problems.push(`${name}: no healthcheck test`);
  if (!['always', 'unless-stopped', 'on-failure'].includes(String(s.restart)))
    problems.push(`${name}: no restart policy`);
  if (s.read_only !== true && !want.writableRoot) problems.push(`${name}: root filesystem is not read_only`);
  if (s.privileged === true) problems.push(`${name}: privileged`);
  return problems;
}

/** A compose short-syntax volume: source, target, and whether it is read-only. */
export function parseVolume(v: string): { source: string; target: string; readOnly: boolean } {
  const [source = '', target = '', mode = ''] = v.split(':');
  return { source, target, readOnly: mode.split(',').includes('ro') };
}

/** Kubernetes pod template invariants for an edge agent. */
export function podProblems(podSpec: unknown): string[] {
  const spec = obj(podSpec);
  const problems: string[] = [];
  const podSc = obj(spec.securityContext);
  if (podSc.runAsNonRoot !== true) problems.push('pod securityContext.runAsNonRoot is not true');
  if (podSc.runAsUser === 0) problems.push('pod runs as uid 0');
  if (spec.hostNetwork === true || spec.hostPID === true) problems.push('host namespaces shared');
  const containers = Array.isArray(spec.containers) ? spec.containers.map(obj) : [];
  if (containers.length === 0) problems.push('no containers');
  for (const c of containers) {
    const n = String(c.name);
    const why = unpinnedImage(String(c.image ?? ''));
    if (why) problems.push(`${n}: ${why}`);
    const sc = obj(c.securityContext);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${n}: readOnlyRootFilesystem is not true`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${n}: allowPrivilegeEscalation is not false`);
    if (sc.privileged === true) problems.push(`${n}: privileged`);
    const drop = obj(sc.capabilities).drop;
    if (!Array.isArray(drop) || !drop.includes('ALL')) problems.push(`${n}: capabilities do not drop ALL`);
    const limits = obj(obj(c.resources).limits);
    if (!limits.cpu || !limits.memory) problems.push(`${n}: resources.limits needs cpu and memory`);
    if (!c.livenessProbe || !c.readinessProbe) problems.push(`${n}: needs liveness and readiness probes`);
  }
  return problems;
}
