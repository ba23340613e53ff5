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
      if (branches.length === issues.length) return issues.map((e) => `${field} ${issueText(e)}`).join(', ');
      if (branches.every((e) => e.keyword === 'const'))
        return `${field} must be one of ${branches.map((e) => String(e.params.allowedValue)).join(', ')}`;
      return `${field} ${branches.map((e) => e.message ?? e.keyword).join(' or ')}`;
    })
    .join('; ');
}

/** Ajv's text, but naming the field a closed object does not take ("must NOT have additional properties" does not). */
function issueText(e: ValidationIssue): string {
  if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string')
    return `has no field "${e.params.additionalProperty}"`;
  return e.message ?? e.keyword;
}
