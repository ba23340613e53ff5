import type { RetentionConfig } from '../retention.js';

export interface MigrationContext {
  retention: RetentionConfig;
  /** Cluster name: render every statement ON CLUSTER with Replicated and Distributed tables. */
  cluster?: string;
}

/** One schema version. Statements are idempotent (IF NOT EXISTS) so a half-applied version re-runs safely. */
export interface Migration {
  version: number;
  name: string;
  statements(ctx: MigrationContext): string[];
}
