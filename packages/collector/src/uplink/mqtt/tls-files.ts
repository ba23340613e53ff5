import { access, constants } from 'node:fs/promises';
import { CollectorError } from '../../errors.js';
import type { MqttOptions } from './options.js';

/**
 * Checks at start that the PEM files `uplink.mqtt.tls` names can be read: a missing CA is an
 * error that names the option and the fix, not a stack trace from the first connect attempt.
 */
export async function checkTlsFiles(tls: MqttOptions['tls']): Promise<void> {
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = tls?.[key];
    if (file === undefined) continue;
    try {
      await access(file, constants.R_OK);
    } catch (err) {
      throw new CollectorError(
        'ET_ERR_OPTIONS',
        `uplink.mqtt.tls.${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); fix: give the path of the PEM file on this node, or leave out uplink.mqtt.tls for a broker without TLS (mqtt://)`,
      );
    }
  }
}
