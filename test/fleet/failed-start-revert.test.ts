/**
 * A remote change whose options wait for the next start, and make that start fail, does not keep
 * the node down. Found by the session-9 trial: `config set node <id> --set
 * sources.otlp.enabled=true --set sources.otlp.port=<a port taken on the node>` is valid, so the
 * node applies it ("takes effect at the next start") and persists it; every start after that
 * failed with ET_ERR_OTLP_LISTEN, the probation timer never ran, and the center could not reach
 * the node again. Now the failed start puts back what last started: the next start runs on it and
 * says the revision failed, with the reason, and the revision is not applied again.
 * A real collector (buildCollector) on Mosquitto; the command is published as the center does.
 */
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector, collectorConfigSpec, type RunningCollector } from '@edge-telemetry/collector';
import { createConfigCodec, encodeCommand, resolveConfig, topics } from '@edge-telemetry/protocol';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { watchConfigStatus, type ConfigStatusWatch } from '../support/config-status.js';

const NODE = 'gw-failed-start';
const REV = 3;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe.runIf(haveMosquitto())('a remote change that makes the next start fail', () => {
  let broker: Mosquitto;
  let dir: string;
  let watch: ConfigStatusWatch;
  let taken: net.Server;
  let running: RunningCollector | undefined;

  const build = () =>
    buildCollector(
      resolveConfig(collectorConfigSpec, {
        file: {
          node: NODE,
          dataDir: path.join(dir, 'data'),
          http: { port: -1 },
          sources: { host: { enabled: false }, cgroup: { enabled: false }, demo: { containers: 1 } },
          store: { enabled: false },
          uplink: { mqtt: { url: broker.url, reconnectMinMs: 100, reconnectMaxMs: 500 } },
        },
        env: {},
      }),
      silent,
    );

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-failed-start-'));
    taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    watch = await watchConfigStatus(broker.url, NODE, 'failed-start-watcher');
  }, 60_000);

  afterAll(async () => {
    await running?.stop();
    await watch?.close();
    await new Promise((r) => taken?.close(r));
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('fails that start once, then starts on what last started and reports the revision failed', async () => {
    running = await build();
    await running.collector.start();
    const before = await watch.next('the node on its local configuration', (s) => s.state === 'applied' && s.rev === 0);

    const port = (taken.address() as net.AddressInfo).port;
    const command = encodeCommand(
      createConfigCodec().command(
        { options: { sources: { otlp: { enabled: true, port } } } },
        REV,
        Date.now() + 600_000,
      ),
    );
    const mark = watch.said.length;
    await watch.publish(topics.cmd(NODE), command);
    const applied = await watch.next(`revision ${REV} applied`, (s) => s.state === 'applied' && s.rev === REV, mark);
    expect(applied.restartNeeded).toEqual(['sources.otlp.enabled', 'sources.otlp.port']);
    await running.stop();
    running = undefined;

    // The start the change waited for: its port is taken.
    await expect(build()).rejects.toMatchObject({ code: 'ET_ERR_OTLP_LISTEN' });

    // The next one runs on what last started, and says why the revision is not in force.
    const restart = watch.said.length;
    running = await build();
    await running.collector.start();
    expect(running.otlpUrl).toBeUndefined();
    const birth = await watch.next('the status after the restart', (s) => s.rev === REV, restart);
    expect(birth).toMatchObject({ state: 'failed', appliedRev: 0, effectiveHash: before.effectiveHash });
    expect(birth.reason).toMatch(new RegExp(`^revision ${REV} did not start \\(.*${port}.*\\); back to revision 0$`));

    // Delivered again (a queued copy, a resend): answered with the status, not applied.
    const again = watch.said.length;
    await watch.publish(topics.cmd(NODE), command);
    const answered = await watch.next('the status after the redelivery', () => true, again);
    expect(answered).toMatchObject({ state: 'failed', rev: REV, appliedRev: 0 });
  }, 120_000);
});
