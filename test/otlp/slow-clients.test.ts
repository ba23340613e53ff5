/**
 * Slow OTLP/HTTP clients cannot keep the others out. Found by the session-9 trial: the receiver
 * reserved a request's declared length in the in-flight budget before reading it, so four
 * connections that each declared 4 MiB and sent ten bytes held the whole default budget (16 MiB)
 * and every other application's export got 503, for as long as they stayed open. Now a body takes
 * the budget as its bytes arrive, and a request has BODY_TIMEOUT_MS to arrive whole. And one
 * client's idle connections cannot take the collector's memory: 15,000 of them took it from 93 to
 * 193 MB RSS (the gateway's limit is 128 MiB); it holds `maxConnections`, `maxConnectionsPerAddress`
 * from one address.
 */
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { BODY_TIMEOUT_MS } from '../../packages/collector/src/sources/otlp/http-transport.js';
import { resolveOtlpReceiverOptions } from '../../packages/collector/src/sources/otlp/options.js';
import { waitFor } from '../support/wait.js';
import { gauge, startRig, T, type Rig } from './support.js';

const MiB = 1024 * 1024;

describe('OTLP receiver: slow clients', () => {
  let rig: Rig | undefined;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await rig?.close();
    rig = undefined;
  });

  const post = (v: unknown) =>
    fetch(`${rig!.receiver.url}/v1/metrics`, {
      method: 'POST',
      body: JSON.stringify(v),
      headers: { 'content-type': 'application/json' },
      // A connection the receiver closes at once may leave fetch waiting: the probe is tried again.
      // Not shorter: a post answered on a loaded machine must not be taken for one left waiting.
      signal: AbortSignal.timeout(15_000),
    });
  /** An idle connection from `localAddress` (loopback: 127.0.0.x), once connected. */
  const openFrom = (localAddress: string) =>
    new Promise<net.Socket>((resolve, reject) => {
      const url = new URL(rig!.receiver.url);
      const s = net.connect({ port: Number(url.port), host: url.hostname, localAddress }, () => resolve(s));
      s.on('error', reject);
      s.resume();
      sockets.push(s);
    });
  /** POSTs a one-point export from `localAddress` (padded to `bytes` when given); its HTTP status. */
  const postFrom = (localAddress: string, name: string, bytes?: number) =>
    new Promise<number>((resolve, reject) => {
      const body = bytes === undefined ? JSON.stringify(gauge(name, [{ t: T, v: 1 }])) : paddedBody(name, bytes);
      const req = http.request(
        `${rig!.receiver.url}/v1/metrics`,
        { method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  /** A valid OTLP/JSON body of exactly `bytes` (padded with spaces). */
  const paddedBody = (name: string, bytes: number) => {
    const doc = JSON.stringify(gauge(name, [{ t: T, v: 1 }]));
    return Buffer.from(doc + ' '.repeat(bytes - doc.length));
  };
  /**
   * A request that declares `body.length` bytes and sends the first `sent`; resolves once the
   * receiver has taken the request (its 100 Continue), with the socket and what it answers.
   */
  const slowRequest = (body: Buffer, sent: number) =>
    new Promise<{ socket: net.Socket; answers: string[] }>((resolve, reject) => {
      const url = new URL(rig!.receiver.url);
      const socket = net.connect(Number(url.port), url.hostname);
      sockets.push(socket);
      const answers: string[] = [];
      socket.on('error', reject);
      socket.on('connect', () =>
        socket.write(
          `POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
        ),
      );
      socket.on('data', (d) => {
        const status = d.toString().split('\r\n')[0] ?? '';
        answers.push(status);
        if (status.includes(' 100 ')) {
          socket.write(body.subarray(0, sent));
          resolve({ socket, answers });
        }
      });
    });

  it('clients that declare the whole budget and send little hold only what they sent; others are served', async () => {
    rig = await startRig(); // defaults: maxRequestBytes 4 MiB, maxInFlightBytes 16 MiB
    // Four declare 10 MiB, whose decode would hold 30: declared lengths are not taken. One client's
    // requests beside its first hold half the budget at most: the body, its concatenation and its
    // text (decode-cost.ts) fit in 8 MiB beside the others' few bytes.
    const body = paddedBody('slow', 2.5 * MiB);
    const slow = await Promise.all([0, 1, 2, 3].map(() => slowRequest(body, 10)));
    const r = await post(gauge('quick', [{ t: T, v: 2 }]));
    expect(r.status).toBe(200);
    // The slow ones are still being read: one that sends the rest of its body is answered too.
    const [first] = slow;
    first!.socket.write(body.subarray(10));
    await waitFor('the slow request answered', () => first!.answers.some((a) => a.includes(' 200 ')));
  }, 60_000);

  it('holds at most maxConnections connections over all addresses: the next is closed as it comes, and exports go on once they go', async () => {
    rig = await startRig();
    const { maxConnections, maxConnectionsPerAddress } = resolveOtlpReceiverOptions();
    // Each address at its own cap, as many addresses as fill the total.
    const addresses = Array.from({ length: maxConnections / maxConnectionsPerAddress }, (_, i) => `127.0.0.${10 + i}`);
    const held = await Promise.all(
      addresses.flatMap((a) => Array.from({ length: maxConnectionsPerAddress }, () => openFrom(a))),
    );
    const over = await openFrom('127.0.0.99');
    await waitFor('the connection over the cap closed', () => over.destroyed || over.readableEnded);
    expect(await rig.counter('collector.otlp.connections_refused', { reason: 'total' })).toBe(1);
    for (const s of held) s.destroy();
    await waitFor(
      'an export taken again',
      async () => {
        const res = await post(gauge('after', [{ t: T, v: 5 }])).catch(() => undefined);
        return res?.status === 200;
      },
      { timeoutMs: 60_000 },
    );
  }, 90_000);

  // The session-9 review: the total cap alone let one client's idle keep-alive connections shut out
  // every other application, with nothing counted or said. Loopback gives each test client its own
  // address (127.0.0.x).
  it('one client address holds at most maxConnectionsPerAddress: the next is closed, counted and logged; other addresses are served', async () => {
    rig = await startRig({ maxConnectionsPerAddress: 4 });
    const held = await Promise.all([0, 1, 2, 3].map(() => openFrom('127.0.0.2')));
    const over = await openFrom('127.0.0.2');
    await waitFor('the connection over the address cap closed', () => over.destroyed || over.readableEnded);
    expect(await postFrom('127.0.0.3', 'other')).toBe(200);
    expect(await rig.counter('collector.otlp.connections_refused', { reason: 'address' })).toBe(1);
    expect(rig.warnings).toEqual([
      {
        msg: 'OTLP connection refused: sources.otlp.maxConnectionsPerAddress reached',
        fields: { reason: 'address', address: '127.0.0.2', refused: { total: 0, address: 1 } },
      },
    ]);
    // The address gets a slot again once one of its connections goes.
    held[0]!.destroy();
    await waitFor('an export from the address taken again', async () => {
      const status = await postFrom('127.0.0.2', 'again').catch(() => 0);
      return status === 200;
    });
  }, 60_000);

  // An outside trial (session 12): four connections of one client, each holding a 4 MiB body but a
  // few bytes, took the whole 16 MiB and another application's 10 KB export got 503.
  it("one client's requests beside its first hold at most half the in-flight bytes; another client is served", async () => {
    rig = await startRig({ maxRequestBytes: 512 * 1024, maxInFlightBytes: MiB });
    const body = paddedBody('hog', 512 * 1024);
    await slowRequest(body, 500_000);
    const second = await slowRequest(body, 500_000);
    // Refused only once the first one's bytes are in: then they are what the client holds.
    await waitFor("the client's second request refused", () => second.answers.some((a) => a.includes(' 503 ')));
    // Its body, their concatenation and its text (decode-cost.ts) fit beside the first request's 500 KB.
    expect(await postFrom('127.0.0.2', 'other', 150_000)).toBe(200);
  }, 60_000);

  // The session-15 outsider: what a gzip body inflated to was outside the budget, so 40 clients that
  // each sent a 16 KB gzip of 16 MiB of zeros at once held 640 MiB, and the collector bin was
  // OOM-killed in its 128 MiB. Inflated bytes now take the budget as they come out.
  it('what a gzip body inflates to takes the in-flight budget: refused (503) while others hold it, taken once they are done', async () => {
    // The holder's 600 KB, their concatenation and its text take 1.8 MB of the 2 MiB once it is whole.
    rig = await startRig({ maxRequestBytes: MiB, maxDecodedBytes: 2 * MiB, maxInFlightBytes: 2 * MiB });
    const { socket, answers } = await slowRequest(paddedBody('holder', 600_000), 600_000 - 1);
    const zeros = zlib.gzipSync(Buffer.alloc(1_600_000));
    expect(zeros.length).toBeLessThan(4096);
    const postZeros = () =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(
          `${rig!.receiver.url}/v1/metrics`,
          {
            method: 'POST',
            localAddress: '127.0.0.2',
            agent: false,
            headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(zeros);
      });
    // Once the holder's bytes are in, the inflated 1.6 MB do not fit beside them.
    await waitFor('the gzip body refused while the budget is held', async () => (await postZeros()) === 503);
    socket.write(paddedBody('holder', 600_000).subarray(600_000 - 1));
    await waitFor('the holder answered', () => answers.some((a) => a.includes(' 200 ')));
    // Alone, it is inflated whole and read: zeros are not an export (400).
    expect(await postZeros()).toBe(400);
  }, 60_000);

  // Review of session 16: a chunked body refused part way (413 over maxRequestBytes) was read on to
  // its end to answer cleanly, and its end then charged the chunks to the budget after the request
  // had given its bytes back, for good: a few such requests and every export got 503.
  it('a chunked body refused part way gives back all it took: the next export on the connection is taken', async () => {
    rig = await startRig({ maxRequestBytes: 64 * 1024, maxInFlightBytes: 128 * 1024 });
    const url = new URL(rig.receiver.url);
    const socket = net.connect(Number(url.port), url.hostname);
    sockets.push(socket);
    const answers: string[] = [];
    socket.on('data', (d) =>
      answers.push(
        ...d
          .toString()
          .split('\r\n')
          .filter((l) => l.startsWith('HTTP/1.1 ')),
      ),
    );
    const chunk = Buffer.alloc(4096, 0x20);
    const chunks = Array.from({ length: 64 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    socket.write(
      `POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`,
    );
    await waitFor('the chunked body refused', () => answers.length === 1);
    expect(answers[0]).toContain(' 413 ');
    const body = JSON.stringify(gauge('after', [{ t: T, v: 1 }]));
    socket.write(
      `POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    await waitFor('the next export answered', () => answers.length === 2);
    expect(answers[1]).toContain(' 200 ');
    // And from a new connection, as from another client.
    expect((await post(gauge('other', [{ t: T, v: 2 }]))).status).toBe(200);
  }, 60_000);

  it(`a request not whole within ${BODY_TIMEOUT_MS} ms is cut (408) and its bytes go back to the budget`, async () => {
    rig = await startRig({ maxRequestBytes: MiB, maxInFlightBytes: MiB });
    const { socket, answers } = await slowRequest(paddedBody('stalled', MiB), MiB - 1);
    // Once its bytes are in, the budget is spent for everyone else...
    await waitFor('an export refused while the stalled request holds the budget', async () => {
      const res = await post(gauge('other', [{ t: T, v: 3 }]));
      return res.status === 503;
    });
    // ...until the deadline cuts it.
    await waitFor('the stalled request cut', () => socket.destroyed || socket.readableEnded, {
      timeoutMs: BODY_TIMEOUT_MS + 30_000,
      intervalMs: 200,
    });
    expect(answers.some((a) => a.includes(' 408 '))).toBe(true);
    expect((await post(gauge('other', [{ t: T, v: 4 }]))).status).toBe(200);
  }, 90_000);
});
