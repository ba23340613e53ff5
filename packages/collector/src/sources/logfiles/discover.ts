import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseJsonObject } from '../../transforms/parse/json-text.js';
import { noneIfMissing, subfoldersOf, type FolderListing } from './folder-listing.js';
import type { LogFileFormat } from './formats.js';

export interface LogFileRef {
  path: string;
  format: LogFileFormat;
  /** Container name as the pipeline knows it. */
  container: string;
}

/** A container's name as its `config.v2.json` said when last read, and that file's mtime then. */
export interface DockerName {
  name: string;
  /** 0: read it again at the next look, whatever its mtime (missing, or torn when last read). */
  mtimeMs: number;
  /** Reads in a row that found the file torn (0 when the last read did not). */
  torn: number;
  /**
   * Its log file as named now: the same object from poll to poll until the name changes, so a
   * poll over thousands of exited containers' folders makes no path or ref per folder.
   */
  ref: LogFileRef;
}

/**
 * Looks at which a torn config.v2.json is read again whatever its mtime says (a rewrite may end
 * within the tick of the file system's clock, leaving it as it was); after that only when it
 * changes, so a file that stays unparseable costs no read per poll.
 */
const TORN_REREADS = 3;

/**
 * Docker json-file logs: `<root>/<id>/<id>-json.log` (`root`: the listing's folder), named by `config.v2.json`'s Name when
 * readable. `names` caches the name by id: ids no longer present are forgotten, and the names of
 * the containers whose log `active` says is being read are checked again (`docker rename`
 * rewrites the file), so a rename shows within a poll of the container's next line.
 */
export async function discoverDocker(
  listing: FolderListing,
  names: Map<string, DockerName>,
  active: (logPath: string) => boolean | undefined,
): Promise<LogFileRef[]> {
  const root = listing.dir;
  const ids = await listing.subfolders();
  const out: LogFileRef[] = [];
  for (const id of ids) {
    let known = names.get(id);
    // Read again while its file is read (docker rename), and while it could not be: Docker makes a
    // container's folder before its config.v2.json, and a look in between named it by its id for good.
    if (known === undefined || known.mtimeMs === 0 || active(known.ref.path) === true) {
      const log = known?.ref.path ?? path.join(root, id, `${id}-json.log`);
      known = await readName(path.join(root, id, 'config.v2.json'), id, log, known);
      names.set(id, known);
    }
    out.push(known.ref);
  }
  // Every id listed is in `names` now: more there means some folders are gone (a set only then).
  if (names.size > ids.length) {
    const present = new Set(ids);
    for (const id of names.keys()) if (!present.has(id)) names.delete(id);
  }
  return out;
}

/**
 * The name `file` gives, read again only when its mtime changed since `known`. When it gives none
 * the name known stays (Docker rewrites the file while the container runs: a read then must not
 * label its lines with another name), else the short id. A missing file is looked for at every
 * look, a torn one read again at the next few; one that cannot be read (EACCES) or holds no Name is
 * read again as a complete one is (its mtime changed while its log is read): thousands of exited
 * containers' such files were read at every poll.
 */
async function readName(file: string, id: string, log: string, known: DockerName | undefined): Promise<DockerName> {
  const seen = (await stat(file).catch(() => undefined))?.mtimeMs ?? 0;
  if (known !== undefined && known.mtimeMs === seen) return known;
  const found = await readFile(file, 'utf8').then(nameIn, () => NAMELESS);
  const torn = found === TORN ? (known?.mtimeMs === 0 ? known.torn : 0) + 1 : 0;
  const name = typeof found === 'string' ? found : (known?.name ?? id.slice(0, 12));
  const mtimeMs = torn > 0 && torn <= TORN_REREADS ? 0 : seen;
  const ref: LogFileRef =
    known?.ref.container === name ? known.ref : { path: log, format: 'json-file', container: name };
  return { name, mtimeMs, torn, ref };
}

const TORN = Symbol('torn');
const NAMELESS = Symbol('nameless');

/**
 * `Name` of a config.v2.json's text, without its leading slash. TORN for a text that is not a JSON
 * object (a file read while it was being rewritten: empty, cut); NAMELESS for an object with no
 * Name. Such a text threw out of discovery once, and every container listed after it went unread.
 */
function nameIn(text: string): string | typeof TORN | typeof NAMELESS {
  const v = parseJsonObject(text);
  if (v === undefined) return TORN;
  const n = v.Name;
  return typeof n === 'string' && n !== '' ? n.replace(/^\//, '') : NAMELESS;
}

/**
 * CRI logs: `<root>/<ns>_<pod>_<uid>/<container>/<N>.log` (rotated files have other suffixes), named
 * `ns/pod/container`. `unread`: the pod and container folders the root lists but that could not be
 * listed themselves (EMFILE, removed and made again while kubelet restarts): their files are not
 * known to be gone, and one such folder does not stop the others from being read.
 */
export async function discoverCri(root: string): Promise<{ refs: LogFileRef[]; unread: string[] }> {
  const refs: LogFileRef[] = [];
  const unread: string[] = [];
  for (const pod of await subfoldersOf(root, noneIfMissing)) {
    const [ns, podName] = pod.split('_');
    const podDir = path.join(root, pod);
    const containers = await subfoldersOf(podDir, () => undefined);
    if (containers === undefined) unread.push(podDir);
    for (const c of containers ?? []) {
      const files = await readdir(path.join(podDir, c)).catch(() => undefined);
      if (files === undefined) unread.push(path.join(podDir, c));
      for (const f of files ?? []) {
        if (!/^\d+\.log$/.test(f)) continue;
        refs.push({ path: path.join(podDir, c, f), format: 'cri', container: `${ns ?? pod}/${podName ?? ''}/${c}` });
      }
    }
  }
  return { refs, unread };
}

/**
 * What to say when the log file source is on and none of its folders exists: it then reads nothing
 * and says nothing (the runtime's folder mounted at another path, a typo), where every other
 * source's error names its option. Undefined when one exists (the other may be for another runtime).
 */
export function missingLogRoots(o: { dockerRoot: string; podsRoot: string }): string | undefined {
  const roots = [
    ['sources.logFiles.dockerRoot', o.dockerRoot],
    ['sources.logFiles.podsRoot', o.podsRoot],
  ].filter(([, root]) => root !== '');
  if (roots.length === 0 || roots.some(([, root]) => existsSync(root as string))) return undefined;
  return `no container log is read: ${roots.map(([name, root]) => `${name} (${root})`).join(' and ')} ${roots.length > 1 ? 'do' : 'does'} not exist; fix: mount the runtime's log folder there, or set the option to where it is`;
}
