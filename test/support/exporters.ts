/**
 * Real Prometheus targets from Debian's packages (installed by .ci/run): the node exporter and the
 * Prometheus server, each on a free loopback port in its own temp dir, for the scrape tests and the
 * bench. Nothing here is an exporter of ours.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
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

async function start(
  bin: string,
  args: (dir: string, port: number) => Promise<string[]>,
  textfile: boolean,
): Promise<Exporter> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-exporter-'));
  const port = await freePort();
  const child = spawn(bin, await args(dir, port), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}/metrics`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `${bin} listening on ${port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${bin} exited: ${err}`);
        return (
          (await fetch(url)
            .then((r) => r.ok)
            .catch(() => false)) || undefined
        );
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
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

/** Debian's Prometheus server scraping nothing, for its own /metrics (histograms and summaries). */
export function startPrometheusServer(): Promise<Exporter> {
  return start(
    'prometheus',
    async (dir, port) => {
      const config = path.join(dir, 'prometheus.yml');
      await writeFile(config, 'global:\n  scrape_interval: 1m\nscrape_configs: []\n');
      return [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ];
    },
    false,
  );
}
