/**
 * One factory for every package's error catalogue, in the manner of @fastify/error: a stable code,
 * a message template, optionally an HTTP status. Each package keeps its own catalogue; the class
 * shape is written once here.
 */
export type CatalogueEntry = string | { message: string; status: number };

export interface CatalogueError<Code extends string> extends Error {
  readonly code: Code;
  /** What exactly was wrong, e.g. `metrics[3].count: expected a non-negative integer`. */
  readonly detail: string;
  /** HTTP status where the catalogue gives one, else 500. */
  readonly statusCode: number;
}

export interface CatalogueErrorClass<Code extends string> {
  new (code: Code, detail: string): CatalogueError<Code>;
  readonly catalogue: Readonly<Record<Code, CatalogueEntry>>;
}

export function defineErrors<C extends Record<string, CatalogueEntry>>(
  name: string,
  catalogue: C,
): CatalogueErrorClass<keyof C & string> {
  const messageOf = (e: CatalogueEntry) => (typeof e === 'string' ? e : e.message);
  const statusOf = (e: CatalogueEntry) => (typeof e === 'string' ? 500 : e.status);
  const cls = class extends Error implements CatalogueError<keyof C & string> {
    static readonly catalogue = catalogue;
    readonly statusCode: number;
    constructor(
      readonly code: keyof C & string,
      readonly detail: string,
    ) {
      super(`${code}: ${messageOf(catalogue[code] as CatalogueEntry)} (${detail})`);
      this.name = name;
      this.statusCode = statusOf(catalogue[code] as CatalogueEntry);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}
