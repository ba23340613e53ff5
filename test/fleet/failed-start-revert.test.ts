/**
 * A remote change whose options wait for the next start, and make starts fail, does not keep the
 * node down; a start that fails for a passing reason does not condemn it. Found by the session-9
 * trial: `config set node <id> --set sources.otlp.enabled=true --set sources.otlp.port=<a port
 * taken on the node>` is valid, so the node applies it ("takes effect at the next start") and
 * persists it; every start after that failed with ET_ERR_OTLP_LISTEN, the probation timer never
 * ran, and the center could not reach the node again. The first fix went back at the first failed
 * start, so a port still held for a moment (the previous process during a restart) reverted a
 * revision that had nothing wrong with it, for good. Now the node goes back only after
 * `remoteConfig.failedStartsBeforeRevert` (default 3) failed starts in a row.
 * The collector bin, started and restarted as a service manager would, on Mosquitto; the command
 * is published as the center does.
 */
import { once } from 'node:events';
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfigCodec, decodeStatus, encodeCommand, topics, type ConfigStatus } from '@edge-telemetry/protocol';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { bins, runNode, type RunningProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const REV = 3;

describe.runIf(haveMosquitto())('a remote change that makes the next start fail', () => {
  let broker: Mosquitto;
  let dir: string;
  let watcher: MqttClient;
  const said = new Map<string, ConfigStatus[]>();
  const running: RunningProcess[] = [];

  /** The collector bin of `node` on its own dataDir, as a service manager starts it. */
  const launch = async (node: string): Promise<RunningProcess> => {
    const config = path.join(dir, `${node}.json`);
    await writeFile(
      config,
      JSON.stringify({
        node,
        dataDir: path.join(dir, node),
        http: { port: -1 },
        sources: { host: { enabled: false }, cgroup: { enabled: false }, docker: { enabled: false } },
        store: { enabled: false },
        uplink: { mqtt: { url: broker.url, reconnectMinMs: 100, reconnectMaxMs: 500 } },
      }),
    );
    const p = runNode(bins.collector, ['--config', config]);
    running.push(p);
    return p;
  };
  /** A start that fails: its exit code and what it printed. */
  const failedStart = async (node: string) => {
    const p = await launch(node);
    const [code] = (await once(p.child, 'exit')) as [number | null];
    return { code, out: p.output() };
  };
  const heard = (node: string) => said.get(node) ?? [];
  const next = (node: string, what: string, pred: (s: ConfigStatus) => boolean, from = 0) =>
    waitFor(what, () => heard(node).slice(from).find(pred), { timeoutMs: 60_000, intervalMs: 50 });

  const takePort = async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as net.AddressInfo).port };
  };
  const release = (server: net.Server) => new Promise((r) => server.close(r));

  /** Starts `node`, has it apply a revision whose OTLP receiver listens on `port`, stops it. */
  const applyOtlpPort = async (node: string, port: number) => {
    await watcher.subscribeAsync(topics.status(node), { qos: 1 });
    const first = await launch(node);
    await first.waitFor(/collector started/, 60_000);
    const before = await next(node, 'the node on its local configuration', (s) => s.state === 'applied' && s.rev === 0);
    const command = encodeCommand(
      createConfigCodec().command(
        { options: { sources: { otlp: { enabled: true, port } } } },
        REV,
        Date.now() + 600_000,
      ),
    );
    const mark = heard(node).length;
    await watcher.publishAsync(topics.cmd(node), command, { qos: 1 });
    const applied = await next(node, `revision ${REV} applied`, (s) => s.state === 'applied' && s.rev === REV, mark);
    expect(applied.restartNeeded).toEqual(['sources.otlp.enabled', 'sources.otlp.port']);
    expect(await first.stop()).toBe(0);
    return { before, command };
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-failed-start-'));
    watcher = await mqtt.connectAsync(broker.url, { clientId: 'failed-start-watcher', protocolVersion: 4 });
    watcher.on('message', (topic, payload) => {
      const node = [...said.keys()].find((n) => topic === topics.status(n));
      if (node === undefined) return;
      const s = decodeStatus(payload, node);
      if (s.ok && s.value.config) heard(node).push(s.value.config);
    });
  }, 60_000);

  afterAll(async () => {
    for (const p of running) await p.stop('SIGKILL');
    await watcher?.endAsync(true);
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a port held at one start and free at the next: the revision applies', async () => {
    const node = 'gw-port-held-briefly';
    said.set(node, []);
    const taken = await takePort();
    await applyOtlpPort(node, taken.port);

    const failed = await failedStart(node);
    expect(failed.code).toBe(1);
    expect(failed.out).toContain('ET_ERR_OTLP_LISTEN');

    // The holder lets go (the previous process finished exiting); the service manager starts the node again.
    await release(taken.server);
    const restart = heard(node).length;
    const started = await launch(node);
    await started.waitFor(/collector started/, 60_000);
    const birth = await next(node, 'the status after the restart', (s) => s.rev === REV, restart);
    expect(birth).toMatchObject({ state: 'applied', appliedRev: REV });
    expect(birth.reason).toBeUndefined();
    // A failed start may have said `applied` too, before its listen failed: the receiver on that port is the proof.
    const socket = net.connect(taken.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.destroy();
    expect(await started.stop()).toBe(0);
  }, 240_000);

  it('a port held for good: three failed starts, then back to what last started, reported failed', async () => {
    const node = 'gw-port-held-for-good';
    said.set(node, []);
    const taken = await takePort();
    try {
      const { before, command } = await applyOtlpPort(node, taken.port);

      for (let i = 0; i < 3; i++) {
        const failed = await failedStart(node);
        expect(failed.code).toBe(1);
        expect(failed.out).toContain('ET_ERR_OTLP_LISTEN');
      }

      // The next start runs on what last started, and says why the revision is not in force.
      const restart = heard(node).length;
      const started = await launch(node);
      await started.waitFor(/collector started/, 60_000);
      // (A failed start may have said `applied` too, before its listen failed: wait for the verdict.)
      const birth = await next(
        node,
        'the status after the restart',
        (s) => s.rev === REV && s.state === 'failed',
        restart,
      );
      expect(birth).toMatchObject({ appliedRev: 0, effectiveHash: before.effectiveHash });
      expect(birth.reason).toMatch(
        new RegExp(
          `^revision ${REV} did not start 3 times in a row \\(last: .*${taken.port}.*\\); back to revision 0$`,
        ),
      );

      // Delivered again (a queued copy, a resend): answered with the status, not applied.
      const mark = heard(node).length;
      await watcher.publishAsync(topics.cmd(node), command, { qos: 1 });
      const answered = await next(node, 'the status after the redelivery', () => true, mark);
      expect(answered).toMatchObject({ state: 'failed', rev: REV, appliedRev: 0 });
      expect(await started.stop()).toBe(0);
    } finally {
      await release(taken.server);
    }
  }, 240_000);
});
