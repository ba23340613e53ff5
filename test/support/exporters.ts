/**
 * Real Prometheus targets from Debian's packages (installed by .ci/run): the node exporter and the
 * Prometheus server, each on a free loopback port in its own temp dir, for the scrape tests and the
 * bench. Nothing here is an exporter of ours.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onFreePorts } from './on-free-ports.js';
import { waitFor } from './wait.js';

export interface Exporter {
  /** http://127.0.0.1:<port>/metrics */
  url: string;
  port: number;
  /** The node exporter's textfile folder (`*.prom` files written there are exposed); '' for the server. */
  textfileDir: string;
  stop(): Promise<void>;
}

const NODE_EXPORTER = 'prometheus-node-exporter';

function have(bin: string, pkg: string): boolean {
  try {
    execFileSync(bin, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI) throw new Error(`${bin} is not installed; CI must install it (apt-get install -y ${pkg})`);
    return false;
  }
}

export const haveNodeExporter = (): boolean => have(NODE_EXPORTER, 'prometheus-node-exporter');
export const havePrometheusServer = (): boolean => have('prometheus', 'prometheus');

/** `bin` on a free port, tried again on another when the port was taken before it bound it (on-free-ports.ts). */
function start(
  bin: string,
  args: (dir: string, port: number) => Promise<string[]>,
  textfile: boolean,
): Promise<Exporter> {
  return onFreePorts(1, ([port]) => startOn(bin, args, textfile, port as number));
}

async function startOn(
  bin: string,
  args: (dir: string, port: number) => Promise<string[]>,
  textfile: boolean,
  port: number,
): Promise<Exporter> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-exporter-'));
  const child = spawn(bin, await args(dir, port), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}/metrics`;
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    if (!exited()) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `${bin} listening on ${port}`,
      async () =>
        exited() ||
        (await fetch(url)
          .then((r) => r.ok)
          .catch(() => false)) ||
        undefined,
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    // Said at once (e.g. its port taken since it was chosen), not after the wait's deadline.
    if (exited()) throw new Error(`${bin} exited: ${err}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, port, textfileDir: textfile ? path.join(dir, 'textfile') : '', stop };
}

/** Debian's node exporter with its default collectors and a textfile folder of its own. */
export function startNodeExporter(): Promise<Exporter> {
  return start(
    NODE_EXPORTER,
    async (dir, port) => {
      const textfile = path.join(dir, 'textfile');
      await mkdir(textfile);
      return [`--web.listen-address=127.0.0.1:${port}`, `--collector.textfile.directory=${textfile}`];
    },
    true,
  );
}

/**
 * Debian's Prometheus server with `config` as its prometheus.yml: by default scraping nothing, for
 * its own /metrics (histograms and summaries).
 */
export function startPrometheusServer(
  config = 'global:\n  scrape_interval: 1m\nscrape_configs: []',
): Promise<Exporter> {
  return start(
    'prometheus',
    async (dir, port) => {
      const file = path.join(dir, 'prometheus.yml');
      await writeFile(file, `${config}\n`);
      return [
        `--config.file=${file}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ];
    },
    false,
  );
}
