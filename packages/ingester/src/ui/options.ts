/** Options of the web UI plugin. */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { valueErrorMessage } from '@edge-telemetry/protocol';
import { fileURLToPath } from 'node:url';

export const UiOptionsSchema = Type.Object({
  /** URL path the pages are served under; `/` redirects to it. */
  basePath: Type.String({ default: '/ui', pattern: '^/[a-z0-9-]+$' }),
  /** Folder holding the pages, styles and scripts; default: the package's ui-assets/. */
  assetsDir: Type.String({ default: defaultAssetsDir() }),
});
export type UiOptions = Static<typeof UiOptionsSchema>;

/** src/ui/ and dist/ui/ are both two levels below the package root, so one relative path serves both. */
function defaultAssetsDir(): string {
  return fileURLToPath(new URL('../../ui-assets/', import.meta.url));
}

export function resolveUiOptions(input: Partial<UiOptions> = {}): UiOptions {
  const opts = Value.Default(UiOptionsSchema, { ...input }) as UiOptions;
  if (!Value.Check(UiOptionsSchema, opts))
    throw new Error(
      `ui options are invalid: ${[...Value.Errors(UiOptionsSchema, opts)].map((e) => `${e.path} ${valueErrorMessage(e)}`).join('; ')}`,
    );
  return opts;
}
