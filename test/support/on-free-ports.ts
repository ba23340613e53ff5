/**
 * The rig's one way to start a program that cannot listen on port 0 and say where (Mosquitto, the
 * Prometheus exporters, `edge-telemetry start`, whose printed lines name its ports). A port
 * freePort() found is only free when looked up: another process may bind it, or take it as the
 * local port of an outgoing connection, before the program binds it (likelier on a busy machine).
 * The program then fails saying so, and it is started again on other ports. What can listen on 0
 * does that instead (the bins and the in-process servers), and has no such race.
 */
import { freePort } from './ports.js';

/** What a failed bind says: Node's error code, Mosquitto's and Go's message, our bins' "port N is in use". */
const TAKEN = /EADDRINUSE|address already in use|port \d+ is in use/i;

/**
 * Calls `start` with `count` distinct free ports, and again with others (up to `attempts` in all)
 * while it throws an error that says a port was taken. `start` must leave nothing running when it
 * throws, and put what the program said in the error's message.
 */
export async function onFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    while (ports.length < count) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    try {
      return await start(ports);
    } catch (err) {
      if (attempt >= attempts || !TAKEN.test(err instanceof Error ? err.message : String(err))) throw err;
    }
  }
}
