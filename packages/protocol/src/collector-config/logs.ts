import { Type, type Static } from '@sinclair/typebox';
import { DedupOptionsSchema } from './dedup.js';
import { FilterOptionsSchema } from './filter.js';
import { LevelNameSchema, MultilineOptionsSchema, ParseOptionsSchema } from './parse.js';
import { RedactOptionsSchema } from './redact.js';
import { ThrottleOptionsSchema } from './throttle.js';
import { TemplateMinerOptionsSchema } from './templates.js';

const VERBATIM_LEVEL =
  'Lines at or above this level are shipped verbatim; below it, as templates with counts and samples.';

/** What can differ from one container to the next. */
export const ContainerLogSettingsSchema = Type.Object({
  filter: FilterOptionsSchema,
  throttle: ThrottleOptionsSchema,
  dedup: DedupOptionsSchema,
  verbatimLevel: LevelNameSchema({ default: 'warn', description: VERBATIM_LEVEL }),
});
export type ContainerLogSettings = Static<typeof ContainerLogSettingsSchema>;

/**
 * Settings for the containers an override selects. Every given selector must match: `name` and
 * `image` are globs (`*` any run of characters), `labels` must all be present with these values.
 * Overrides apply in order over the defaults; later ones win.
 */
export const ContainerOverrideSchema = Type.Object({
  name: Type.Optional(Type.String()),
  image: Type.Optional(Type.String()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  settings: Type.Object({
    filter: Type.Optional(Type.Partial(FilterOptionsSchema)),
    throttle: Type.Optional(Type.Partial(ThrottleOptionsSchema)),
    dedup: Type.Optional(Type.Partial(DedupOptionsSchema)),
    verbatimLevel: Type.Optional(LevelNameSchema({ default: 'warn', description: VERBATIM_LEVEL })),
  }),
});
export type ContainerOverride = Static<typeof ContainerOverrideSchema>;

export const LogPipelineOptionsSchema = Type.Object({
  defaults: Type.Object(
    {
      filter: Type.Object(FilterOptionsSchema.properties, { default: {} }),
      throttle: Type.Object(ThrottleOptionsSchema.properties, { default: {} }),
      dedup: Type.Object(DedupOptionsSchema.properties, { default: {} }),
      verbatimLevel: LevelNameSchema({ default: 'warn', description: VERBATIM_LEVEL }),
    },
    { default: {} },
  ),
  containers: Type.Array(ContainerOverrideSchema, {
    default: [],
    description:
      'Per-container overrides of the defaults, as [{"name", "image", "labels", "settings"}]: name and image are globs, all given selectors must match, later overrides win.',
  }),
  parse: Type.Object(ParseOptionsSchema.properties, { default: {} }),
  multiline: Type.Object(MultilineOptionsSchema.properties, { default: {} }),
  redact: Type.Object(RedactOptionsSchema.properties, { default: {} }),
  templates: Type.Object(TemplateMinerOptionsSchema.properties, { default: {} }),
  window: Type.Object(
    {
      latenessMs: Type.Integer({
        minimum: 0,
        default: 2000,
        description:
          "How long (ms) after its end a container's window waits for late lines (at most half a window). A line whose window is already sealed joins the earliest open window of its container, keeping its own time (counted: `logs.late_lines`).",
      }),
      futureSkewMs: Type.Integer({
        minimum: 0,
        default: 300_000,
        description:
          "A line stamped more than this (ms) ahead of the node's clock is windowed at the node's time instead (counted: `logs.future_lines`).",
      }),
    },
    { default: {} },
  ),
  maxLogsPerWindow: Type.Integer({
    minimum: 0,
    default: 5000,
    description: 'Verbatim lines shipped per window over all containers; the rest are counted as dropped (`cap_logs`).',
  }),
  templateTimeResolutionMs: Type.Integer({
    minimum: 1,
    default: 1000,
    description:
      "Templates' first and last seen and their samples' times are rounded down to this (ms); 1 = exact. A second is a byte per time on the uplink, a millisecond three.",
  }),
  maxTemplatesPerWindow: Type.Integer({
    minimum: 0,
    default: 2000,
    description: 'Templates shipped per window; the rest are counted as dropped (`cap_templates`).',
  }),
  maxContainers: Type.Integer({
    minimum: 1,
    default: 1000,
    description:
      "Containers whose log state (throttle, dedup, multi-line) is held at once. A container's state is let go once it has had no line for 2 minutes (or a throttle refill, if longer) and holds nothing; at the cap, those whose last line is oldest are let go, down to 90 % of the cap in one pass (counted: `logs.containers_shed`): what they held back is handed on, their open windows stay open and are sealed when due, and a line they write next goes to its own window under a new state (its throttle bucket full again). The templates of a container let go are kept until as many containers again have been let go after it.",
  }),
});
export type LogPipelineOptions = Static<typeof LogPipelineOptionsSchema>;
