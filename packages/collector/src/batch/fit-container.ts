import { limits, type ContainerInfo } from '@edge-telemetry/protocol';
import { fitText } from './fit-text.js';

const fits = (s: string): boolean => fitText(s) === s;

/**
 * A container as a summaries batch can carry it. Its labels ride in every class-0 batch (the
 * heartbeat), and the codec refuses a batch whose map has more than `limits.maxMapEntries` entries
 * or a text over its limit: tooling that labels everything, or cri-dockerd copying a pod's
 * annotations (kubectl's last-applied-configuration) into labels, would lose the node's heartbeat
 * every window. Returns `c` itself when it fits; otherwise a copy with the first labels in key order
 * (the same ones every scrape) and every text fitted (fitText).
 */
export function fitContainer(c: ContainerInfo): ContainerInfo {
  const keys = Object.keys(c.labels);
  if (
    keys.length <= limits.maxMapEntries &&
    fits(c.id) &&
    fits(c.name) &&
    fits(c.image) &&
    fits(c.state) &&
    keys.every((k) => fits(k) && fits(c.labels[k] as string))
  )
    return c;
  const labels: Record<string, string> = {};
  for (const k of keys.sort().slice(0, limits.maxMapEntries)) labels[fitText(k)] = fitText(c.labels[k] as string);
  return { ...c, id: fitText(c.id), name: fitText(c.name), image: fitText(c.image), state: fitText(c.state), labels };
}
