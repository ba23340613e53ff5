/**
 * The ingester and the CLI run unbundled, so the collector bundle's build-time fix for mqtt-packet's
 * length-prefix cache (packages/collector/scripts/mqtt-packet-patch.mjs) does not reach them; their
 * entry points unpin the prefixes at start instead (ingester consumer/mqtt-packet-prefixes.ts). Here
 * the real aedes broker forwards publishes of every size from a real mqtt.js client to another, as
 * `edge-telemetry start` does, in a process of its own (the cache is per process), with and without
 * the CLI's first import, and the array-buffer memory still held after collection is compared.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const MiB = 1024 * 1024;
const SIZES = 12_000;

/** The broker and both clients in one process, after `first` (an import, or nothing). */
const script = (first: string) => `
${first}
import { createRequire } from 'node:module';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
const cli = createRequire(${JSON.stringify(`${repo}packages/cli/package.json`)});
const { Aedes } = await import(pathToFileURL(cli.resolve('aedes')).href);
const mqtt = (await import(pathToFileURL(cli.resolve('mqtt')).href)).default;
const broker = await Aedes.createBroker();
const server = net.createServer(broker.handle);
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = 'mqtt://127.0.0.1:' + server.address().port;
const sub = await mqtt.connectAsync(url, { clientId: 'sub' });
let got = 0;
sub.on('message', () => got++);
await sub.subscribeAsync('et/v1/+/up/batch', { qos: 0 });
const pub = await mqtt.connectAsync(url, { clientId: 'pub' });
global.gc();
const before = process.memoryUsage().arrayBuffers;
const payload = Buffer.alloc(${SIZES});
for (let n = 0; n < ${SIZES}; n++) {
  // Other small allocations from the pool between the packets, as a running process makes.
  Buffer.allocUnsafe(4000);
  pub.publish('et/v1/n1/up/batch', payload.subarray(0, n), { qos: 0 });
  if (n % 500 === 0) await new Promise((r) => setImmediate(r));
}
while (got < ${SIZES}) await new Promise((r) => setTimeout(r, 20));
global.gc();
global.gc();
process.stdout.write(String(process.memoryUsage().arrayBuffers - before));
await pub.endAsync();
await sub.endAsync();
server.close();
broker.close();
`;

async function run(first: string): Promise<{ held: number; stderr: string }> {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', script(first)],
    { cwd: repo, timeout: 90_000 },
  );
  return { held: Number(stdout), stderr };
}

const cliFirst = `import ${JSON.stringify(`${repo}packages/cli/dist/mqtt-prefixes.js`)};`;

describe("the ingester's and the CLI's mqtt-packet", () => {
  it('holds no pool slab per packet size when the CLI unpins first, as its entry points do', async () => {
    const pinned = await run('');
    const unpinned = await run(cliFirst);
    // The ingester's bin unpins its mqtt's copy, which is the one aedes uses here too.
    const ingesterFirst = await run(`import ${JSON.stringify(`${repo}packages/ingester/dist/bin/mqtt-prefixes.js`)};`);
    // Pinned: one 8 KiB slab per size cached, by the broker's forwards and the clients' publishes.
    expect(pinned.held).toBeGreaterThan(16 * MiB);
    expect(unpinned.held).toBeLessThan(2 * MiB);
    expect(unpinned.stderr).not.toMatch(/ET_MQTT_PREFIXES_PINNED/);
    expect(ingesterFirst.held).toBeLessThan(2 * MiB);
  }, 120_000);

  it('says so when mqtt was loaded first, and changes nothing', async () => {
    const late = await run(`import ${JSON.stringify(`${repo}node_modules/mqtt/build/index.js`)};\n${cliFirst}`);
    expect(late.stderr).toMatch(/ET_MQTT_PREFIXES_PINNED.*mqtt-packet was loaded \(through .*aedes/);
    expect(late.held).toBeGreaterThan(16 * MiB);
  }, 120_000);

  it('is the first import of every entry point that loads mqtt or aedes', async () => {
    const firstImport = async (file: string) =>
      /^import\s+(?:[^'"]*from\s+)?'([^']+)'/m.exec(await readFile(`${repo}${file}`, 'utf8'))?.[1];
    expect(await firstImport('packages/ingester/src/bin/ingester.ts')).toBe('./mqtt-prefixes.js');
    expect(await firstImport('packages/cli/src/bin/edge-telemetry.ts')).toBe('../mqtt-prefixes.js');
    expect(await firstImport('packages/cli/src/simulate/worker.ts')).toBe('../mqtt-prefixes.js');
  });
});
