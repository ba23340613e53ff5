/** Imported first by the bin, before anything loads mqtt: consumer/mqtt-packet-prefixes.ts says why. */
import { unpinMqttPacketPrefixes } from '../consumer/mqtt-packet-prefixes.js';

unpinMqttPacketPrefixes([import.meta.resolve('mqtt')]);
