import http from 'node:http';
import { CollectorError } from '../../errors.js';
import { parseEngineJson } from './engine-json.js';

export interface EngineClientOptions {
  socketPath: string;
  timeoutMs: number;
  maxBodyBytes: number;
  maxSockets: number;
}

/**
 * A minimal Docker Engine API client over the unix socket (node:http with socketPath; keep-alive
 * so a scrape of 50 containers reuses a few connections). Every failure becomes a CollectorError
 * with a catalogue code; nothing here retries, the source decides.
 */
export class EngineClient {
  private readonly agent: http.Agent;

  constructor(private readonly opts: EngineClientOptions) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets });
  }

  /** GET a JSON document; 404 -> ET_ERR_DOCKER_GONE, 5xx -> ET_ERR_DOCKER_ENGINE. */
  async getJson(path: string): Promise<unknown> {
    const { status, body } = await this.get(path);
    if (status === 404) throw new CollectorError('ET_ERR_DOCKER_GONE', `${path}: ${engineMessage(body)}`);
    if (status >= 500)
      throw new CollectorError('ET_ERR_DOCKER_ENGINE', `${path}: HTTP ${status} ${engineMessage(body)}`);
    if (status < 200 || status >= 300)
      throw new CollectorError('ET_ERR_DOCKER_HTTP', `${path}: HTTP ${status} ${engineMessage(body)}`);
    try {
      return parseEngineJson(body);
    } catch (err) {
      throw new CollectorError('ET_ERR_DOCKER_BAD_PAYLOAD', `${path}: ${(err as Error).message}`);
    }
  }

  private get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.opts.socketPath, path, method: 'GET', agent: this.agent, headers: { host: 'docker' } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > this.opts.maxBodyBytes) {
              req.destroy(
                new CollectorError('ET_ERR_DOCKER_BAD_PAYLOAD', `${path}: body above ${this.opts.maxBodyBytes} bytes`),
              );
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', () => undefined); // the request's error handler reports it
        },
      );
      const timer = setTimeout(
        () =>
          req.destroy(
            new CollectorError('ET_ERR_DOCKER_TIMEOUT', `${path}: no complete answer within ${this.opts.timeoutMs} ms`),
          ),
        this.opts.timeoutMs,
      );
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(toEngineError(err, this.opts.socketPath));
      });
      req.end();
    });
  }

  /**
   * Follows a streaming endpoint (/events): calls onLine for each complete line as it arrives.
   * Resolves when the engine ends the stream or `signal` aborts; rejects on connection errors.
   */
  stream(path: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      // No agent: a stream holds its connection for hours and must not take a keep-alive slot.
      const req = http.request(
        { socketPath: this.opts.socketPath, path, method: 'GET', headers: { host: 'docker' }, signal },
        (res) => {
          if ((res.statusCode ?? 0) >= 300) {
            res.resume();
            const code = (res.statusCode ?? 0) >= 500 ? 'ET_ERR_DOCKER_ENGINE' : 'ET_ERR_DOCKER_HTTP';
            reject(new CollectorError(code, `${path}: HTTP ${res.statusCode}`));
            return;
          }
          res.setEncoding('utf8');
          let pending = '';
          res.on('data', (chunk: string) => {
            pending += chunk;
            let nl = pending.indexOf('\n');
            while (nl >= 0) {
              const line = pending.slice(0, nl).trim();
              pending = pending.slice(nl + 1);
              if (line) onLine(line);
              nl = pending.indexOf('\n');
            }
            if (pending.length > this.opts.maxBodyBytes)
              req.destroy(
                new CollectorError(
                  'ET_ERR_DOCKER_BAD_PAYLOAD',
                  `${path}: event line above ${this.opts.maxBodyBytes} bytes`,
                ),
              );
          });
          res.on('end', () => resolve());
          res.on('error', () => undefined);
        },
      );
      req.on('error', (err) => {
        if (signal.aborted) resolve();
        else reject(toEngineError(err, this.opts.socketPath));
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function toEngineError(err: Error, socketPath: string): CollectorError {
  if (err instanceof CollectorError) return err;
  const errno = (err as NodeJS.ErrnoException).code;
  if (errno === 'ENOENT') return new CollectorError('ET_ERR_DOCKER_SOCKET_MISSING', socketPath);
  return new CollectorError('ET_ERR_DOCKER_CONNECT', `${socketPath}: ${errno ?? err.message}`);
}

/** The engine's error bodies are {"message": "..."}; keep the log line short either way. */
function engineMessage(body: string): string {
  try {
    const m = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof m === 'string') return m.slice(0, 200);
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 200);
}
