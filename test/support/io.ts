/** The output streams a CLI command takes (its `io`), capturing what the command writes to each. */
import { PassThrough } from 'node:stream';

export interface CapturedIo {
  io: { stdout: PassThrough; stderr: PassThrough };
  out(): string;
  err(): string;
}

export function captureIo(): CapturedIo {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  stdout.on('data', (b: Buffer) => o.push(b));
  stderr.on('data', (b: Buffer) => e.push(b));
  return { io: { stdout, stderr }, out: () => Buffer.concat(o).toString(), err: () => Buffer.concat(e).toString() };
}
