/**
 * `@edge-telemetry/protocol/net`: the connection caps every listening process applies (collector,
 * ingester, embedded broker), and the guard every bin puts on its stdout and stderr. Not the wire
 * contract, and not pure: it counts and destroys the sockets it is handed and listens on the streams
 * it is handed (no I/O of its own); a separate entry so that the main one stays pure code.
 */
export {
  clientKey,
  createConnectionGate,
  guardServer,
  type ConnectionCaps,
  type ConnectionGate,
  type ConnectionRefusal,
} from './connection-limits.js';
export { createTally, type Tally } from './tally.js';
export { ignoreClosedPipes } from './closed-pipes.js';
