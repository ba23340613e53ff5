/** The schema lives in protocol, shared with the ingester, which validates documents before storing them. */
export { MqttOptionsSchema, type MqttOptions } from '@edge-telemetry/protocol';
