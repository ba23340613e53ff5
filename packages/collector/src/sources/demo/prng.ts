/**
 * The demo sources draw from the protocol's seeded PRNG (mulberry32, the one its fuzz tests use),
 * so that a demo node produces the same fleet on every run.
 */
export { seededRng as createPrng } from '@edge-telemetry/protocol/testing';

/** A stable 32-bit seed from a string (FNV-1a), e.g. from the node id. */
export function seedFrom(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
