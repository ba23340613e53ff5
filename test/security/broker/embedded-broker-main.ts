/**
 * The embedded broker alone in a process, so a test can measure that process's memory:
 * `node --import tsx embedded-broker-main.ts <password file> <ingester password>` listens on a
 * free loopback port and prints `listening <url>`.
 */
import { accountBook } from '../../../packages/cli/src/embedded/accounts.js';
import { startEmbeddedBroker } from '../../../packages/cli/src/embedded/embedded-broker.js';

const [passwordFile, ingesterPassword] = process.argv.slice(2);
if (!passwordFile || !ingesterPassword)
  throw new Error('usage: embedded-broker-main.ts <password file> <ingester password>');
const broker = await startEmbeddedBroker({
  host: '127.0.0.1',
  port: 0,
  accounts: accountBook({ passwordFile, ingesterPassword }),
  onRefused: (what, detail) => process.stdout.write(`refused ${what} ${JSON.stringify(detail)}\n`),
});
process.stdout.write(`listening ${broker.url}\n`);
process.once('SIGTERM', () => void broker.close().then(() => process.exit(0)));
