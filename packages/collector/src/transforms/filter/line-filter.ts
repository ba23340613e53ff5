import { LogLevel, type LogLevelValue } from '@edge-telemetry/protocol';
import { CollectorError } from '../../errors.js';
import type { FilterOptions } from './options.js';

/** Why a line was not shipped; `undefined` means it passes. Used as the drop reason. */
export type FilterVerdict = 'below_level' | 'not_included' | 'excluded' | undefined;

/** One container's level and pattern filter, with its regular expressions compiled once. */
export class LineFilter {
  private readonly minLevel: LogLevelValue;
  private readonly include: RegExp[];
  private readonly exclude: RegExp[];

  constructor(options: FilterOptions) {
    this.minLevel = LogLevel[options.minLevel];
    this.include = options.include.map(compile);
    this.exclude = options.exclude.map(compile);
  }

  check(level: LogLevelValue, message: string): FilterVerdict {
    if (level < this.minLevel) return 'below_level';
    if (this.include.length > 0 && !this.include.some((r) => r.test(message))) return 'not_included';
    for (const r of this.exclude) if (r.test(message)) return 'excluded';
    return undefined;
  }
}

function compile(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new CollectorError(
      'ET_ERR_LOG_PATTERN',
      `filter pattern ${JSON.stringify(source)}: ${(err as Error).message}`,
    );
  }
}
