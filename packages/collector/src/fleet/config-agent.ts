/**
 * The node's end of fleet control: takes `config` commands, applies their document without a
 * restart where the option allows, keeps the previous configuration when the schema refuses one
 * (naming the option), persists what it applied, runs a time-boxed debug to its end on the node's
 * own clock, and says all of it in its status (applying / applied / failed).
 *
 * Revisions only grow: a command at or below the revision last taken is answered with the status
 * and changes nothing (a duplicate delivery, or an older command queued behind a newer one). The
 * commands a reconnect delivers together are coalesced: only the newest of a burst is applied, so
 * a node back from an outage never applies a stale revision on its way to the latest.
 *
 * A change is on probation until the center acknowledges something well after it applied (later
 * than `confirmAfterMs`, so not only batches already in flight); if nothing is acknowledged for
 * `revertAfterMs` after it applied, the change may have cut the node off: the node goes back to
 * what ran before on its own, reports the revision `failed` with the reason, and does not apply
 * that revision again when it is delivered again. The probation is persisted, so a restart does
 * not end it.
 */
import {
  LogLevel,
  type ConfigCodec,
  type ConfigCommand,
  type ConfigDocument,
  type ConfigStatus,
} from '@edge-telemetry/protocol';
import type { CollectorConfig } from '../config/options.js';
import type { Logger } from '../runtime/logger.js';
import type { DebugWindow } from '../transforms/logs/pipeline.js';
import type { LogPipelineOptions } from '../transforms/logs/options.js';
import { applyRemoteOptions, effectiveHash } from './remote-config.js';
import type { AppliedRemote } from './state-file.js';

/** Commands arriving within this long of each other are one burst: the newest is applied. */
export const COALESCE_MS = 100;

export interface ConfigAgentDeps {
  /** The configuration from the local file and environment. */
  local: CollectorConfig;
  /** What the process was built with (local + the persisted document, if it applied). */
  started: CollectorConfig;
  /** The persisted document the process started with, when it applied. */
  applied: AppliedRemote | undefined;
  /** Why the persisted document did not apply at start-up (then the node runs on its local file). */
  startError?: string;
  codec: Pick<ConfigCodec, 'document'>;
  logs: {
    reconfigure(selection: Pick<LogPipelineOptions, 'defaults' | 'containers'>): void;
    setDebug(window: DebugWindow | undefined): void;
  };
  persist(value: AppliedRemote): Promise<void>;
  /** Publishes the status again (the uplink; nothing while offline: the birth carries it). */
  publishStatus(): void;
  /** When the center last acknowledged anything (0: never since start). */
  lastContact(): number;
  /** No acknowledgement this long after a change: go back to the previous configuration (0: never). */
  revertAfterMs: number;
  /** Acknowledgements within this long of a change may be for batches sent before it: they do not confirm it. */
  confirmAfterMs: number;
  /** Consecutive failed starts with a revision's restart-needing options before it is reverted. */
  failedStartsBeforeRevert: number;
  now(): number;
  log: Logger;
}

export interface ConfigAgent {
  handle(cmd: ConfigCommand): void;
  status(): ConfigStatus;
  /** Resolves when no command is waiting or being applied (tests). */
  idle(): Promise<void>;
  /** The collector started with the configuration in force: its options that waited for a start have run. */
  started(): Promise<void>;
  /**
   * The collector could not start with the configuration in force (`reason`: its error). A
   * revision whose options waited for this start is counted a failed start; at the
   * `failedStartsBeforeRevert`th in a row it is reverted on disk, reported failed and not applied
   * again, so the next start runs on what last started: kept, a remote `sources.otlp.port` that
   * was taken on the node made every start of it fail, for good, with no way for the center to
   * reach it. Not at the first: a start fails for reasons the revision did not cause too (the
   * previous process still holding the port during a restart), and a revision reverted for those
   * would never apply although nothing was wrong with it.
   */
  startFailed(reason: string): Promise<void>;
  close(): void;
}

export function createConfigAgent(d: ConfigAgentDeps): ConfigAgent {
  let running = d.started;
  let applied = d.applied;
  const reverted = d.startError ? undefined : applied?.reverted;
  let status: ConfigStatus = {
    state: d.startError || reverted ? 'failed' : 'applied',
    rev: Math.max(applied?.rev ?? 0, reverted?.rev ?? 0),
    appliedRev: applied?.rev ?? 0,
    docHash: applied?.docHash ?? '',
    effectiveHash: effectiveHash(running),
    ...(d.startError ? { reason: d.startError } : reverted ? { reason: reverted.reason } : {}),
  };
  let seenRev = status.rev;
  let watch: NodeJS.Timeout | undefined;
  let pending: ConfigCommand | undefined;
  let timer: NodeJS.Timeout | undefined;
  let debugTimer: NodeJS.Timeout | undefined;
  let work: Promise<void> = Promise.resolve();
  let closed = false;

  const startDebug = (doc: ConfigDocument, prior: AppliedRemote['debug']): AppliedRemote['debug'] => {
    clearTimeout(debugTimer);
    debugTimer = undefined;
    const order = doc.debug;
    if (order === undefined) {
      d.logs.setDebug(undefined);
      return undefined;
    }
    const now = d.now();
    // The end is fixed when the node first sees the order, on its own clock: a redelivery or a restart keeps it.
    const end = prior?.id === order.id ? prior.end : Math.min(now + order.forMs, now + Math.max(0, order.until - now));
    if (end <= now) {
      d.logs.setDebug(undefined);
      return { id: order.id, end };
    }
    d.logs.setDebug({
      until: end,
      level: LogLevel[order.level],
      extraBytes: order.extraBytes,
      containers: order.containers,
    });
    debugTimer = setTimeout(() => {
      debugTimer = undefined;
      d.logs.setDebug(undefined);
      d.log.info('time-boxed debug ended', { id: order.id });
      d.publishStatus();
    }, end - now);
    debugTimer.unref();
    return { id: order.id, end };
  };

  const debugUntil = (): number | undefined => {
    const end = applied?.debug?.end;
    return end !== undefined && end > d.now() ? end : undefined;
  };

  const report = (next: Omit<ConfigStatus, 'effectiveHash' | 'appliedRev' | 'docHash'>) => {
    status = {
      ...next,
      appliedRev: applied?.rev ?? 0,
      docHash: applied?.docHash ?? '',
      effectiveHash: effectiveHash(running),
    };
    d.publishStatus();
  };

  const fail = (cmd: ConfigCommand, reason: string) => {
    d.log.warn('remote configuration refused; the previous one stays in force', { rev: cmd.rev, reason });
    report({ state: 'failed', rev: cmd.rev, reason });
  };

  async function apply(cmd: ConfigCommand): Promise<void> {
    report({ state: 'applying', rev: cmd.rev });
    const doc = d.codec.document(cmd);
    if (!doc.ok) return fail(cmd, `${doc.error.code}: ${doc.error.detail}`);
    const r = applyRemoteOptions(d.local, doc.value.options, d.started);
    if (!r.ok) return fail(cmd, r.reason);
    const before = running;
    d.logs.reconfigure(r.config.logs);
    const next: AppliedRemote = { rev: cmd.rev, docHash: cmd.hash, doc: doc.value };
    if (d.revertAfterMs > 0)
      next.probation = {
        since: d.now(),
        // A change over one still on probation goes back to the last confirmed one.
        previous: applied?.probation?.previous ?? {
          rev: applied?.rev ?? 0,
          docHash: applied?.docHash ?? '',
          doc: applied?.doc ?? { options: {} },
        },
      };
    // Options that wait for a start: until one runs with them, a failed start goes back to what last started.
    if (r.restartNeeded.length > 0)
      next.unstarted = applied?.unstarted ?? {
        rev: applied?.rev ?? 0,
        docHash: applied?.docHash ?? '',
        doc: applied?.doc ?? { options: {} },
      };
    const debug = startDebug(doc.value, applied?.debug);
    if (debug) next.debug = debug;
    try {
      await d.persist(next);
    } catch (err) {
      // Not kept on disk means a restart would come back without it: undo, so the status stays true.
      d.logs.reconfigure(before.logs);
      startDebug(applied?.doc ?? { options: {} }, applied?.debug);
      return fail(cmd, `ET_ERR_CONFIG_PERSIST: ${(err as Error).message}`);
    }
    running = r.config;
    applied = next;
    d.log.info('remote configuration applied', { rev: cmd.rev, restartNeeded: r.restartNeeded });
    report({
      state: 'applied',
      rev: cmd.rev,
      ...(r.restartNeeded.length > 0 ? { restartNeeded: r.restartNeeded } : {}),
    });
  }

  /** The center acknowledged something after the change: it stays. Or none for too long: back to the previous one. */
  async function watchProbation(): Promise<void> {
    const p = applied?.probation;
    if (applied === undefined || p === undefined) return;
    const now = d.now();
    if (d.lastContact() > p.since + d.confirmAfterMs) {
      const { probation: _confirmed, ...kept } = applied;
      await d.persist(kept);
      applied = kept;
      return;
    }
    if (now - Math.max(p.since, d.lastContact()) < d.revertAfterMs) return;
    const failedRev = applied.rev;
    const reason = `reverted to revision ${p.previous.rev} on its own: the center acknowledged nothing for ${d.revertAfterMs} ms after revision ${failedRev} applied`;
    const r = applyRemoteOptions(d.local, p.previous.doc.options, d.started);
    // The previous document no longer validating (the local file changed since) leaves the local file alone.
    const config = r.ok ? r.config : d.local;
    const back: AppliedRemote = { ...p.previous, reverted: { rev: failedRev, reason } };
    await d.persist(back);
    d.logs.reconfigure(config.logs);
    startDebug({ options: p.previous.doc.options }, undefined);
    running = config;
    applied = back;
    d.log.warn('remote configuration reverted on the node', { rev: failedRev, to: p.previous.rev });
    report({ state: 'failed', rev: failedRev, reason });
  }

  // A debug persisted before a restart resumes with its original end.
  if (applied && !d.startError) startDebug(applied.doc, applied.debug);
  if (d.revertAfterMs > 0) {
    watch = setInterval(
      () => {
        work = work
          .then(watchProbation)
          .catch((err: Error) => d.log.warn('remote configuration probation check failed', { err: err.message }));
      },
      Math.max(50, Math.min(5000, Math.floor(d.revertAfterMs / 4))),
    );
    watch.unref();
  }

  return {
    handle(cmd) {
      if (closed) return;
      if (cmd.expiresAt <= d.now()) {
        d.log.warn('expired configuration command ignored', { rev: cmd.rev, expiresAt: cmd.expiresAt });
        return;
      }
      if (cmd.rev <= seenRev || (pending !== undefined && cmd.rev <= pending.rev)) {
        d.publishStatus();
        return;
      }
      pending = cmd;
      timer ??= setTimeout(() => {
        timer = undefined;
        const next = pending as ConfigCommand;
        pending = undefined;
        seenRev = next.rev;
        work = work.then(() => apply(next)).catch((err: Error) => fail(next, err.message));
      }, COALESCE_MS);
    },
    status: () => {
      const until = debugUntil();
      return until === undefined ? { ...status } : { ...status, debugUntil: until };
    },
    async idle() {
      while (timer !== undefined || pending !== undefined) await new Promise((r) => setTimeout(r, COALESCE_MS));
      await work;
    },
    async started() {
      if (applied?.unstarted === undefined) return;
      const { unstarted: _ran, ...kept } = applied;
      await d.persist(kept);
      applied = kept;
    },
    async startFailed(reason) {
      const back = applied?.unstarted;
      if (applied === undefined || back === undefined) return;
      const failedStarts = (back.failedStarts ?? 0) + 1;
      if (failedStarts < d.failedStartsBeforeRevert) {
        d.log.warn('the start with a remote configuration failed; it is tried again at the next start', {
          rev: applied.rev,
          failedStarts,
          revertAt: d.failedStartsBeforeRevert,
          reason,
        });
        applied = { ...applied, unstarted: { ...back, failedStarts } };
        return d.persist(applied);
      }
      const { failedStarts: _counted, ...previous } = back;
      await d.persist({
        ...previous,
        reverted: {
          rev: applied.rev,
          reason: `revision ${applied.rev} did not start ${failedStarts} times in a row (last: ${reason}); back to revision ${back.rev}`,
        },
      });
    },
    close() {
      closed = true;
      clearTimeout(timer);
      clearTimeout(debugTimer);
      clearInterval(watch);
    },
  };
}
