import { appendFile, mkdir, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RawLogLine } from '../types.js';
import { parseCriLine, parseDockerJsonLine } from './formats.js';
import { LogFileSource } from './log-file-source.js';
import { logFileSourceOptions } from './options.js';
import { waitFor } from '../../../../../test/support/wait.js';

const ID = 'a'.repeat(64);
const json = (log: string, stream = 'stdout', time = '2026-03-01T10:00:00.123456789Z') =>
  JSON.stringify({ log, stream, time }) + '\n';
const cri = (msg: string, tag = 'F', stream = 'stdout') => `2026-03-01T10:00:00.500000000Z ${stream} ${tag} ${msg}\n`;

let dir: string;
let dockerLog: string;
let criLog: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-logfiles-'));
  await mkdir(path.join(dir, 'docker', ID), { recursive: true });
  await writeFile(path.join(dir, 'docker', ID, 'config.v2.json'), JSON.stringify({ Name: '/web' }));
  dockerLog = path.join(dir, 'docker', ID, `${ID}-json.log`);
  await mkdir(path.join(dir, 'pods', 'default_api-7d_0f1e', 'api'), { recursive: true });
  criLog = path.join(dir, 'pods', 'default_api-7d_0f1e', 'api', '0.log');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function source(readFromHead = true) {
  return new LogFileSource(
    logFileSourceOptions({
      dockerRoot: path.join(dir, 'docker'),
      podsRoot: path.join(dir, 'pods'),
      checkpointPath: path.join(dir, 'checkpoint.json'),
      readFromHead,
    }),
  );
}
async function poll(s: LogFileSource): Promise<RawLogLine[]> {
  const got: RawLogLine[] = [];
  await s.pollOnce((l) => got.push(l));
  return got;
}
const texts = (ls: RawLogLine[]) => ls.map((l) => l.line);

describe('log file formats', () => {
  it('cuts json-file and CRI entries', () => {
    expect(parseDockerJsonLine(json('hello\n', 'stderr'))).toEqual({
      ts: Date.UTC(2026, 2, 1, 10, 0, 0, 123),
      stream: 'stderr',
      text: 'hello',
      partial: false,
    });
    expect(parseDockerJsonLine(json('part'))?.partial).toBe(true);
    expect(parseDockerJsonLine('{"log":"torn')).toBeUndefined();
    expect(parseCriLine('2026-03-01T10:00:00.5Z stderr P first half')).toEqual({
      ts: Date.UTC(2026, 2, 1, 10, 0, 0, 500),
      stream: 'stderr',
      text: 'first half',
      partial: true,
    });
    expect(parseCriLine('2026-03-01T10:00:00.5Z stdout F ')?.text).toBe('');
    expect(parseCriLine('garbage')).toBeUndefined();
  });
});

describe('LogFileSource', () => {
  it('reads both formats, joins partial lines and names containers', async () => {
    await writeFile(
      dockerLog,
      json('one\n') + json('long ') + json('line\n') + '{"log":"corrupt\n' + json('two\n', 'stderr'),
    );
    await writeFile(criLog, cri('alpha') + cri('beta ', 'P') + cri('gamma'));
    const got = await poll(source());
    expect(got.filter((l) => l.container === 'web').map((l) => [l.line, l.stream])).toEqual([
      ['one', 'stdout'],
      ['long line', 'stdout'],
      ['two', 'stderr'],
    ]);
    expect(texts(got.filter((l) => l.container === 'default/api-7d/api'))).toEqual(['alpha', 'beta gamma']);
    expect(got.find((l) => l.line === 'long line')?.rawBytes).toBe(Buffer.byteLength(json('long ') + json('line\n')));
  });

  it('follows rotation to a .1 file without losing or repeating lines', async () => {
    await writeFile(dockerLog, json('a\n'));
    const s = source();
    expect(texts(await poll(s))).toEqual(['a']);
    await appendFile(dockerLog, json('b\n'));
    await rename(dockerLog, `${dockerLog}.1`);
    await writeFile(dockerLog, json('c\n'));
    expect(texts(await poll(s))).toEqual(['b', 'c']);
    await appendFile(dockerLog, json('d\n'));
    expect(texts(await poll(s))).toEqual(['d']);
    await s.stop();
  });

  it('reads a truncated file again from its start', async () => {
    await writeFile(criLog, cri('first') + cri('second'));
    const s = source();
    expect(texts(await poll(s))).toEqual(['first', 'second']);
    await truncate(criLog, 0);
    await appendFile(criLog, cri('after'));
    expect(texts(await poll(s))).toEqual(['after']);
    await s.stop();
  });

  it('resumes from the checkpoint after a restart, keeping an unfinished partial line', async () => {
    await writeFile(dockerLog, json('1\n') + json('2\n'));
    const s1 = source();
    expect(texts(await poll(s1))).toEqual(['1', '2']);
    await appendFile(dockerLog, json('3\n') + json('half '));
    expect(texts(await poll(s1))).toEqual(['3']);
    await s1.stop();
    await appendFile(dockerLog, json('whole\n'));
    const s2 = source(false);
    expect(texts(await poll(s2))).toEqual(['half whole']);
    await s2.stop();
  });

  it('finishes a file that was rotated while the collector was down', async () => {
    await writeFile(dockerLog, json('x\n'));
    const s1 = source();
    await poll(s1);
    await s1.stop();
    await appendFile(dockerLog, json('y\n'));
    await rename(dockerLog, `${dockerLog}.1`);
    await writeFile(dockerLog, json('z\n'));
    const s2 = source();
    expect(texts(await poll(s2))).toEqual(['y', 'z']);
    await s2.stop();
  });

  it('reads only new lines of files present at the first start unless readFromHead', async () => {
    await writeFile(criLog, cri('old'));
    const s = source(false);
    expect(await poll(s)).toEqual([]);
    await appendFile(criLog, cri('new'));
    expect(texts(await poll(s))).toEqual(['new']);
    await s.stop();
  });

  it('delivers lines through start() on polling and file notifications', async () => {
    await writeFile(criLog, '');
    const s = new LogFileSource(
      logFileSourceOptions({
        dockerRoot: '',
        podsRoot: path.join(dir, 'pods'),
        checkpointPath: path.join(dir, 'cp.json'),
        pollIntervalMs: 50,
      }),
    );
    const got: string[] = [];
    await s.start((l) => got.push(l.line));
    await appendFile(criLog, cri('live'));
    await waitFor('the appended line', () => got.length > 0, { timeoutMs: 2000 });
    await s.stop();
    expect(got).toEqual(['live']);
  });
});
