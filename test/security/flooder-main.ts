/**
 * The flooding node of flood.test.ts, in its own process as an attacker would be:
 * `node --import tsx flooder-main.ts <broker url> <json client options> <count>` connects, prints
 * `connected`, waits for a line on stdin, then sends <count> statuses and <count> garbage batches
 * at QoS 0 as fast as the socket takes them, prints `done` and exits.
 */
import mqtt from 'mqtt';
import { encodeStatus, topics } from '@edge-telemetry/protocol';

const [url, optionsJson, countText] = process.argv.slice(2);
const options = JSON.parse(optionsJson ?? '{}') as mqtt.IClientOptions & { username: string; ca?: string };
const node = options.username;
const count = Number(countText);
const client = await mqtt.connectAsync(url!, { ...options, reconnectPeriod: 0 });
process.stdout.write('connected\n');
await new Promise((r) => process.stdin.once('data', r));
const garbage = Buffer.alloc(200, 0x42);
for (let i = 0; i < count; i++) {
  const status = encodeStatus({ v: 1, node, state: 'online', at: Date.now(), agentVersion: `flood-${i}` });
  client.publish(topics.status(node), status, { qos: 0 });
  client.publish(topics.batch(node), garbage, { qos: 0 });
  // Let the socket drain now and then, or the client would hold the whole flood in memory first.
  if (i % 500 === 0) await new Promise((r) => setImmediate(r));
}
await client.endAsync();
process.stdout.write('done\n');
// stdin is still open (the test holds it): exit rather than wait for it.
process.exit(0);
