/**
 * The applied remote configuration on the data volume, so a restart starts with it (and with the
 * end of a debug in force, which a restart must not stretch). Written whole (writeFileDurably):
 * a power cut leaves the old file or the new, never a mix.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkConfigDocument, type ConfigDocument } from '@edge-telemetry/protocol';
import { writeFileDurably } from '../uplink/outbox/state-file.js';

export const STATE_FILE = 'remote-config.json';

export interface AppliedRemote {
  rev: number;
  docHash: string;
  doc: ConfigDocument;
  /** The debug of `doc` as this node first saw it: its id and end on the node's clock. */
  debug?: { id: string; end: number };
  /**
   * While a change is unconfirmed (no acknowledgement from the center since it applied): when it
   * applied, and what ran before it (rev 0: the local file alone), to go back to on its own.
   */
  probation?: { since: number; previous: { rev: number; docHash: string; doc: ConfigDocument } };
  /** A revision this node reverted on its own, and why: it is not applied again when delivered again. */
  reverted?: { rev: number; reason: string };
  /**
   * While the revision holds options that take effect at the next start and no start has run with
   * them yet: the document the collector last started with, to go back to when starts keep failing,
   * and how many in a row have failed so far.
   */
  unstarted?: { rev: number; docHash: string; doc: ConfigDocument; failedStarts?: number };
}

/** The last applied document, or undefined (none yet, or unreadable: then logged by the caller and ignored). */
export async function readAppliedRemote(dataDir: string): Promise<{ value?: AppliedRemote; error?: string }> {
  let text: string;
  try {
    text = await readFile(path.join(dataDir, STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return { error: (err as Error).message };
  }
  try {
    const v = JSON.parse(text) as AppliedRemote;
    if (!Number.isSafeInteger(v.rev) || typeof v.docHash !== 'string') throw new Error('rev or docHash missing');
    const debug = v.debug && Number.isFinite(v.debug.end) ? { id: String(v.debug.id), end: v.debug.end } : undefined;
    const p = v.probation;
    const probation =
      p && Number.isFinite(p.since) && Number.isSafeInteger(p.previous?.rev)
        ? {
            since: p.since,
            previous: {
              rev: p.previous.rev,
              docHash: String(p.previous.docHash),
              doc: checkConfigDocument(p.previous.doc),
            },
          }
        : undefined;
    const reverted =
      v.reverted && Number.isSafeInteger(v.reverted.rev)
        ? { rev: v.reverted.rev, reason: String(v.reverted.reason) }
        : undefined;
    const u = v.unstarted;
    const unstarted =
      u && Number.isSafeInteger(u.rev)
        ? {
            rev: u.rev,
            docHash: String(u.docHash),
            doc: checkConfigDocument(u.doc),
            ...(Number.isSafeInteger(u.failedStarts) ? { failedStarts: u.failedStarts } : {}),
          }
        : undefined;
    return {
      value: {
        rev: v.rev,
        docHash: v.docHash,
        doc: checkConfigDocument(v.doc),
        ...(debug ? { debug } : {}),
        ...(probation ? { probation } : {}),
        ...(reverted ? { reverted } : {}),
        ...(unstarted ? { unstarted } : {}),
      },
    };
  } catch (err) {
    return { error: `${STATE_FILE}: ${(err as Error).message}` };
  }
}

export async function writeAppliedRemote(dataDir: string, value: AppliedRemote): Promise<void> {
  await writeFileDurably(path.join(dataDir, STATE_FILE), Buffer.from(JSON.stringify(value)));
}
