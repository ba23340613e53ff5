/** The table of keyframe bodies: batches later batches of the same node are compressed against. */
export const REFERENCE_TABLE = 'et_batch_references';
