import { AggregationTemporality, MetricReader } from '@opentelemetry/sdk-metrics';

/**
 * A pull reader with DELTA temporality for every instrument: each collect() returns only what
 * happened since the previous one, so series of containers that are gone are not kept forever
 * (CUMULATIVE would hold every churned series for the life of the process).
 */
export class DeltaReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
  }

  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}
