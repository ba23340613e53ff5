import { createNoopMeter, type Counter, type Meter } from '@opentelemetry/api';

/**
 * The failure counter the metric sources share: one instrument, so one description (/metrics said
 * "description missing" for the sources that gave none).
 */
export function sourceErrorsCounter(meter: Meter | undefined): Counter {
  return (meter ?? createNoopMeter()).createCounter('collector.source.errors', {
    description: 'metric source failures by source and error code',
  });
}
