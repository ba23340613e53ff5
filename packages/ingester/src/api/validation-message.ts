/**
 * One line per bad field from the request validator's errors (pure). Ajv reports a union field
 * once per branch ("must be equal to constant" six times, then "must match a schema in anyOf"),
 * which says nothing of what the field takes; this names the values or the kinds instead.
 */
export interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
  /** The schema holding the failed keyword (Ajv's `verbose`): a closed object's fields, to list. */
  parentSchema?: { properties?: Record<string, unknown> };
}

export function validationMessage(errors: readonly ValidationIssue[], dataVar: string): string {
  const byField = new Map<string, ValidationIssue[]>();
  for (const e of errors) {
    const field = `${dataVar}${e.instancePath}` || dataVar;
    byField.set(field, [...(byField.get(field) ?? []), e]);
  }
  return [...byField]
    .map(([field, issues]) => {
      const branches = issues.filter((e) => e.keyword !== 'anyOf');
      if (branches.length === issues.length) return issues.map((e) => `${field} ${issueText(e, dataVar)}`).join(', ');
      if (branches.every((e) => e.keyword === 'const'))
        return `${field} must be one of ${branches.map((e) => String(e.params.allowedValue)).join(', ')}`;
      return `${field} ${branches.map((e) => e.message ?? e.keyword).join(' or ')}`;
    })
    .join('; ');
}

/**
 * Ajv's text, but naming the field a closed object does not take ("must NOT have additional
 * properties" does not) and the ones it takes, so that a misspelt or unsupported one is fixed at once.
 */
function issueText(e: ValidationIssue, dataVar: string): string {
  if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
    const kind = dataVar === 'querystring' ? 'parameter' : 'field';
    const takes = Object.keys(e.parentSchema?.properties ?? {});
    return `has no ${kind} "${e.params.additionalProperty}"; it takes ${takes.length > 0 ? takes.join(', ') : 'none'}`;
  }
  return e.message ?? e.keyword;
}
