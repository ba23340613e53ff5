/**
 * What a resource says about where its telemetry comes from: the container (by `container.id`
 * matched against the containers the sources listed, else by its Kubernetes attributes), the
 * service, and the resource attributes kept in a metric series' identity. Pure.
 */
import { toWellFormed } from '@edge-telemetry/protocol';
import type { DropReport } from '../../batch/drops.js';
import { fitText } from '../../batch/fit-text.js';
import type { OtlpReceiverOptions } from './options.js';
import { attributes, type Resource } from './values.js';

export interface ResourceContext {
  container: string;
  service: string;
  /** The kept resource attributes (options.resourceAttributes) for the series identity. */
  identity: Record<string, string>;
  /** Every resource attribute, for log fields. */
  all: Record<string, string>;
}

export interface ResourceDeps {
  /** The container name of a container id (full or the 12-digit short form), when the sources know it. */
  containerOf(id: string): string | undefined;
}

/**
 * The most UTF-8 bytes of a container or service name taken from a resource. Each rides on every
 * row of the application's metrics, spans and log lines, and the codec refuses a whole batch for
 * one text over its limit or not well-formed: a `k8s.container.name` of 70,000 characters lost the
 * window's summaries batch (every metric of the node) and its log batches. Kubernetes names make
 * at most 381 bytes as `namespace/pod/container`.
 */
export const MAX_NAME_BYTES = 1024;

export function readResource(
  r: Resource | null | undefined,
  o: Pick<OtlpReceiverOptions, 'resourceAttributes'>,
  deps: ResourceDeps,
  report: DropReport,
): ResourceContext {
  const all = attributes(r?.attributes);
  const id = all['container.id'];
  const named = (id !== undefined ? deps.containerOf(id) : undefined) ?? k8sContainer(all) ?? '';
  const container = fitText(named, MAX_NAME_BYTES);
  const serviceName = all['service.name'] ?? '';
  const service = fitText(serviceName, MAX_NAME_BYTES);
  if (container !== named || service !== serviceName)
    report.drop({ stage: 'otlp.resource', reason: 'name_cut', container });
  const identity: Record<string, string> = {};
  for (const k of o.resourceAttributes) if (all[k] !== undefined) identity[k] = all[k];
  return { container, service, identity, all };
}

/**
 * A pod's container as the CRI log source names it (`namespace/pod/container`, from the kubelet's
 * `<ns>_<pod>_<uid>/<container>/` folders), so an application's OTLP series and its container's
 * logs are one container; `k8s.container.name` alone when the pod is not given.
 */
function k8sContainer(all: Record<string, string>): string | undefined {
  const ns = all['k8s.namespace.name'];
  const pod = all['k8s.pod.name'];
  const c = all['k8s.container.name'];
  if (c === undefined) return undefined;
  return ns !== undefined && pod !== undefined ? `${ns}/${pod}/${c}` : c;
}

/** A series' attributes: the kept resource attributes and the point's own, within the caps (capAttributes). */
export function seriesAttributes(
  res: ResourceContext,
  point: Record<string, string>,
  o: Pick<OtlpReceiverOptions, 'maxAttributes' | 'maxAttributeLength'>,
  report: DropReport,
): Record<string, string> {
  return capAttributes({ ...res.identity, ...point }, o, report, res.container);
}

/**
 * `attrs` (a series' or a log record's) within the count and length caps: keys taken in sorted
 * order, so the same attributes always keep the same ones, and values cut to maxAttributeLength
 * (never inside a character's surrogate pair: the codec refuses a batch for a text that is not
 * well-formed). What is left out and what is cut are counted.
 */
export function capAttributes(
  attrs: Record<string, string>,
  o: Pick<OtlpReceiverOptions, 'maxAttributes' | 'maxAttributeLength'>,
  report: DropReport,
  container: string,
): Record<string, string> {
  const keys = Object.keys(attrs);
  if (keys.length <= o.maxAttributes && keys.every((k) => (attrs[k] as string).length <= o.maxAttributeLength))
    return attrs;
  keys.sort();
  if (keys.length > o.maxAttributes)
    report.drop({ stage: 'otlp.attributes', reason: 'too_many', container }, keys.length - o.maxAttributes);
  const out: Record<string, string> = {};
  let cut = 0;
  for (const k of keys.slice(0, o.maxAttributes)) {
    const v = attrs[k] as string;
    if (v.length <= o.maxAttributeLength) out[k] = v;
    else {
      out[k] = toWellFormed(v.slice(0, o.maxAttributeLength));
      cut++;
    }
  }
  if (cut > 0) report.drop({ stage: 'otlp.attributes', reason: 'value_cut', container }, cut);
  return out;
}
