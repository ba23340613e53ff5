import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createConfigCodec,
  LogLevel,
  resolveConfig,
  type ConfigDocument,
  type ConfigStatus,
  type DropCount,
} from '@edge-telemetry/protocol';
import { collectorConfigSpec, type CollectorConfig } from '../config/options.js';
import { LogPipeline } from '../transforms/logs/pipeline.js';
import { createConfigAgent } from './config-agent.js';
import { effectiveHash, startingConfig } from './remote-config.js';
import { readAppliedRemote, writeAppliedRemote } from './state-file.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const codec = createConfigCodec();
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A real pipeline and agent on a temp data dir, with a clock the test moves. */
async function setup(file: Record<string, unknown> = {}, o: { dataDir?: string; revertAfterMs?: number } = {}) {
  const dataDir = o.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'et-config-agent-')));
  dirs.push(dataDir);
  const local: CollectorConfig = resolveConfig(collectorConfigSpec, {
    file: { node: 'gw-1', dataDir, uplink: { mqtt: { url: 'mqtt://127.0.0.1:1' } }, ...file },
    env: {},
  });
  const clock = { now: Date.now() };
  /** When the center last acknowledged something (the uplink's lastContactAt). */
  const contact = { at: 0 };
  const drops: DropCount[] = [];
  const statuses: ConfigStatus[] = [];
  const persisted = await readAppliedRemote(dataDir);
  const starting = startingConfig(local, persisted.value?.doc.options);
  const logs = new LogPipeline(starting.config.logs, {
    now: () => clock.now,
    report: { drop: (d, count = 1) => void drops.push({ ...d, count }) },
    windowMs: 60_000,
  });
  let reconfigured = 0;
  const agent = createConfigAgent({
    local,
    started: starting.config,
    applied: persisted.value,
    codec,
    logs: {
      reconfigure: (s) => (reconfigured++, logs.reconfigure(s)),
      setDebug: (w) => logs.setDebug(w),
    },
    persist: (v) => writeAppliedRemote(dataDir, v),
    publishStatus: () => statuses.push(agent.status()),
    lastContact: () => contact.at,
    revertAfterMs: o.revertAfterMs ?? 0,
    failedStartsBeforeRevert: 3,
    confirmAfterMs: 100,
    now: () => clock.now,
    log: silent,
  });
  const send = (rev: number, doc: ConfigDocument, expiresAt = clock.now + 60_000) =>
    agent.handle(codec.command(doc, rev, expiresAt));
  const line = (container: string, text: string) => {
    clock.now += 10;
    logs.push({ ts: clock.now, container, stream: 'stdout', line: text, rawBytes: text.length, offset: 0, end: 0 });
  };
  // Every open window sealed now, as one.
  const window = () => {
    const ws = logs.sealAll();
    return {
      logs: ws.flatMap((w) => w.logs),
      templates: ws.flatMap((w) => w.templates),
      metrics: ws.flatMap((w) => w.metrics),
    };
  };
  afterEach(() => agent.close());
  return {
    dataDir,
    local,
    agent,
    send,
    line,
    window,
    drops,
    statuses,
    clock,
    contact,
    reconfigured: () => reconfigured,
  };
}

describe('remote configuration on the node', () => {
  it('applies a level filter without a restart: the next window has the lines, persisted, hash changed', async () => {
    const s = await setup();
    s.line('api', 'DEBUG cache miss key=7');
    expect(s.window().logs).toEqual([]);
    const before = s.agent.status();
    s.send(1, { options: { logs: { defaults: { filter: { minLevel: 'debug' }, verbatimLevel: 'debug' } } } });
    await s.agent.idle();
    const after = s.agent.status();
    expect(after).toMatchObject({ state: 'applied', rev: 1, appliedRev: 1 });
    expect(after.restartNeeded).toBeUndefined();
    expect(after.effectiveHash).not.toBe(before.effectiveHash);
    expect(s.statuses.map((x) => x.state)).toEqual(['applying', 'applied']);
    s.line('api', 'DEBUG cache miss key=8');
    expect(s.window().logs.map((l) => [l.level, l.message])).toEqual([[LogLevel.debug, 'DEBUG cache miss key=8']]);
    // On disk: a restart starts with it.
    const again = await readAppliedRemote(s.dataDir);
    expect(again.value?.rev).toBe(1);
    expect(startingConfig(s.local, again.value?.doc.options).config.logs.defaults.filter.minLevel).toBe('debug');
  });

  it('refuses what the schema refuses, naming the option, and keeps the previous configuration', async () => {
    const s = await setup();
    s.send(1, { options: { logs: { defaults: { filter: { minLevel: 'warn' } } } } });
    await s.agent.idle();
    const good = s.agent.status();
    s.send(2, { options: { logs: { defaults: { filter: { minLevel: 'loud' } } } } });
    await s.agent.idle();
    expect(s.agent.status()).toMatchObject({
      state: 'failed',
      rev: 2,
      appliedRev: 1,
      effectiveHash: good.effectiveHash,
    });
    expect(s.agent.status().reason).toMatch(/^logs\.defaults\.filter\.minLevel: /);
    s.send(3, { options: { uplink: { mqtt: { url: 'mqtt://elsewhere:1883' } } } });
    await s.agent.idle();
    expect(s.agent.status().reason).toBe("uplink.mqtt.url: set only in the node's local configuration");
    s.send(4, { options: { logs: { defaults: { filtr: {} } } } });
    await s.agent.idle();
    expect(s.agent.status().reason).toMatch(/logs\.defaults\.filtr: unknown option/);
    // The warn filter of revision 1 is still in force.
    s.line('api', 'INFO served');
    expect(s.window().templates).toEqual([]);
    expect((await readAppliedRemote(s.dataDir)).value?.rev).toBe(1);
  });

  it('says which options need a restart, and starts with them after one', async () => {
    const s = await setup();
    s.send(1, { options: { uplink: { budget: { dailyBytes: 5_000_000 } }, logs: { maxLogsPerWindow: 100 } } });
    await s.agent.idle();
    expect(s.agent.status()).toMatchObject({
      state: 'applied',
      restartNeeded: ['logs.maxLogsPerWindow', 'uplink.budget.dailyBytes'],
    });
    const persisted = await readAppliedRemote(s.dataDir);
    const start = startingConfig(s.local, persisted.value?.doc.options);
    expect(start.config.uplink.budget.dailyBytes).toBe(5_000_000);
    expect(effectiveHash(start.config)).toBe(s.agent.status().effectiveHash);
  });

  it('is idempotent, ignores older and expired revisions, and applies only the newest of a burst', async () => {
    const s = await setup();
    const doc = (minLevel: string) => ({ options: { logs: { defaults: { filter: { minLevel } } } } });
    s.send(5, doc('warn'));
    s.send(6, doc('error'));
    s.send(4, doc('debug'));
    await s.agent.idle();
    expect(s.reconfigured()).toBe(1);
    expect(s.agent.status()).toMatchObject({ state: 'applied', rev: 6 });
    s.send(6, doc('error'));
    s.send(5, doc('warn'));
    s.send(9, doc('trace'), s.clock.now - 1);
    await s.agent.idle();
    expect(s.reconfigured()).toBe(1);
    expect(s.agent.status().rev).toBe(6);
  });

  it('runs a time-boxed debug within its byte allowance and ends it on its own clock', async () => {
    const s = await setup();
    const until = s.clock.now + 60_000;
    s.send(1, {
      options: {},
      debug: { id: 'd1', until, forMs: 30_000, extraBytes: 100, level: 'debug', containers: ['api*'] },
    });
    await s.agent.idle();
    expect(s.agent.status().debugUntil).toBe(s.clock.now + 30_000);
    for (let i = 0; i < 10; i++) s.line('api-1', `DEBUG step ${i} of the request`); // 26 bytes each
    s.line('db', 'DEBUG not chosen');
    const w = s.window();
    expect(w.logs.map((l) => l.message)).toEqual([0, 1, 2].map((i) => `DEBUG step ${i} of the request`));
    expect(s.drops).toContainEqual({ stage: 'logs.debug', reason: 'allowance_spent', container: 'api-1', count: 1 });
    s.clock.now += 30_000;
    expect(s.agent.status().debugUntil).toBeUndefined();
    s.line('api-1', 'DEBUG after the end');
    expect(s.window().logs).toEqual([]);
  });

  it('goes back to the previous configuration on its own when the center acknowledges nothing after a change', async () => {
    const s = await setup({}, { revertAfterMs: 400 });
    const doc = (minLevel: string) => ({ options: { logs: { defaults: { filter: { minLevel } } } } });
    s.send(1, doc('warn'));
    await s.agent.idle();
    const good = s.agent.status();
    // An ack of a batch sent after the change confirms it: no longer on probation, on disk too.
    s.contact.at = s.clock.now + 101;
    await vi.waitFor(async () => expect((await readAppliedRemote(s.dataDir)).value?.probation).toBeUndefined(), {
      timeout: 10_000,
    });
    // Later on: that acknowledgement is older than the next change, so it confirms nothing of it.
    s.clock.now += 1000;
    s.send(2, doc('error'));
    await s.agent.idle();
    expect(s.agent.status()).toMatchObject({ state: 'applied', appliedRev: 2 });
    expect((await readAppliedRemote(s.dataDir)).value?.probation?.previous.rev).toBe(1);
    // An ack right after it (a batch already in flight) does not confirm it; then nothing for the revert time.
    s.contact.at = s.clock.now + 50;
    s.clock.now += 390;
    // Several probation checks (every 100 ms) see it still within its time.
    await new Promise((r) => setTimeout(r, 300));
    expect(s.agent.status().appliedRev).toBe(2);
    s.clock.now += 100;
    await vi.waitFor(() => expect(s.agent.status().state).toBe('failed'), { timeout: 10_000 });
    const reverted = s.agent.status();
    expect(reverted).toMatchObject({ rev: 2, appliedRev: 1, effectiveHash: good.effectiveHash });
    expect(reverted.reason).toMatch(/^reverted to revision 1 on its own: the center acknowledged nothing for 400 ms/);
    s.line('api', 'INFO served');
    expect(s.window().templates).toEqual([]);
    s.line('api', 'WARN slow');
    expect(s.window().templates.length).toBe(1);
    // Delivered again: not applied again. A restart keeps the revert and says it.
    s.send(2, doc('error'));
    await s.agent.idle();
    expect(s.agent.status()).toMatchObject({ state: 'failed', rev: 2, appliedRev: 1 });
    s.agent.close();
    const again = await setup({}, { dataDir: s.dataDir, revertAfterMs: 400 });
    expect(again.agent.status()).toMatchObject({ state: 'failed', rev: 2, appliedRev: 1, reason: reverted.reason });
    again.send(3, doc('debug'));
    await again.agent.idle();
    expect(again.agent.status()).toMatchObject({ state: 'applied', rev: 3, appliedRev: 3 });
  });

  it('goes back after failedStartsBeforeRevert failed starts in a row with a revision that waits for a start, not before', async () => {
    const s = await setup();
    s.send(4, { options: { sources: { otlp: { enabled: true, port: 4999 } } } });
    await s.agent.idle();
    expect(s.agent.status()).toMatchObject({
      state: 'applied',
      rev: 4,
      restartNeeded: ['sources.otlp.enabled', 'sources.otlp.port'],
    });
    s.agent.close();
    /** One start of the process on that data dir: the agent as it is built, then the start's outcome. */
    const start = async (outcome: 'fails' | 'runs') => {
      const at = await setup({}, { dataDir: s.dataDir });
      await (outcome === 'fails' ? at.agent.startFailed('EADDRINUSE 127.0.0.1:4999') : at.agent.started());
      at.agent.close();
      return (await readAppliedRemote(s.dataDir)).value;
    };
    // Two failed starts, then one that runs: the revision stays, and the count goes with the start.
    expect((await start('fails'))?.unstarted).toMatchObject({ rev: 0, failedStarts: 1 });
    expect((await start('fails'))?.unstarted).toMatchObject({ rev: 0, failedStarts: 2 });
    const ran = await start('runs');
    expect(ran).toMatchObject({ rev: 4 });
    expect(ran?.unstarted).toBeUndefined();
    expect((await setup({}, { dataDir: s.dataDir })).agent.status()).toMatchObject({ state: 'applied', appliedRev: 4 });
    // Once a start has run with it, a later failed start (whatever its cause) leaves it alone.
    expect((await start('fails'))?.rev).toBe(4);
  });

  it('a revision whose starts keep failing is reverted at the third, reported failed and not applied again', async () => {
    const s = await setup();
    s.send(4, { options: { sources: { otlp: { enabled: true, port: 4999 } } } });
    await s.agent.idle();
    s.agent.close();
    for (let i = 0; i < 3; i++) {
      const at = await setup({}, { dataDir: s.dataDir });
      await at.agent.startFailed('EADDRINUSE 127.0.0.1:4999');
      at.agent.close();
    }
    const back = await setup({}, { dataDir: s.dataDir });
    expect(back.agent.status()).toMatchObject({
      state: 'failed',
      rev: 4,
      appliedRev: 0,
      reason: 'revision 4 did not start 3 times in a row (last: EADDRINUSE 127.0.0.1:4999); back to revision 0',
    });
    back.send(4, { options: { sources: { otlp: { enabled: true, port: 4999 } } } });
    await back.agent.idle();
    expect(back.agent.status()).toMatchObject({ state: 'failed', rev: 4, appliedRev: 0 });
  });
});
