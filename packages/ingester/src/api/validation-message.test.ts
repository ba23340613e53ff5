import { describe, expect, it } from 'vitest';
import { validationMessage, type ValidationIssue } from './validation-message.js';

const constant = (path: string, allowedValue: string): ValidationIssue => ({
  keyword: 'const',
  instancePath: path,
  message: 'must be equal to constant',
  params: { allowedValue },
});
const anyOf = (path: string): ValidationIssue => ({
  keyword: 'anyOf',
  instancePath: path,
  message: 'must match a schema in anyOf',
  params: {},
});

describe('validationMessage', () => {
  it('names the values a union of literals takes', () => {
    const errors = [
      constant('/level', 'trace'),
      constant('/level', 'debug'),
      constant('/level', 'info'),
      anyOf('/level'),
    ];
    expect(validationMessage(errors, 'body')).toBe('body/level must be one of trace, debug, info');
  });
  it('joins the kinds a union of types takes', () => {
    const errors: ValidationIssue[] = [
      { keyword: 'type', instancePath: '/from', message: 'must be integer', params: {} },
      { keyword: 'format', instancePath: '/from', message: 'must match format "date-time"', params: {} },
      anyOf('/from'),
    ];
    expect(validationMessage(errors, 'querystring')).toBe(
      'querystring/from must be integer or must match format "date-time"',
    );
  });
  it('keeps other messages, one field after another', () => {
    const errors: ValidationIssue[] = [
      { keyword: 'minimum', instancePath: '/forMs', message: 'must be >= 1', params: {} },
      { keyword: 'required', instancePath: '', message: "must have required property 'since'", params: {} },
    ];
    expect(validationMessage(errors, 'body')).toBe("body/forMs must be >= 1; body must have required property 'since'");
  });
  it('names the field a closed object does not take', () => {
    const errors: ValidationIssue[] = [
      {
        keyword: 'additionalProperties',
        instancePath: '',
        message: 'must NOT have additional properties',
        params: { additionalProperty: 'grpe' },
        parentSchema: { properties: { since: {}, grep: {} } },
      },
    ];
    expect(validationMessage(errors, 'body')).toBe('body has no field "grpe"; it takes since, grep');
  });
  it('names the querystring parameter a route does not take, and says when it takes none', () => {
    const unknown = (name: string, properties: Record<string, unknown>): ValidationIssue => ({
      keyword: 'additionalProperties',
      instancePath: '',
      message: 'must NOT have additional properties',
      params: { additionalProperty: name },
      parentSchema: { properties },
    });
    expect(validationMessage([unknown('since', { from: {}, to: {} })], 'querystring')).toBe(
      'querystring has no parameter "since"; it takes from, to',
    );
    expect(validationMessage([unknown('node', {})], 'querystring')).toBe(
      'querystring has no parameter "node"; it takes none',
    );
  });
});
