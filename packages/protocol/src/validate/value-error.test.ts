import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { valueErrorMessage } from './value-error.js';

const Schema = Type.Object({
  level: Type.Union([Type.Literal('debug'), Type.Literal('info')]),
  count: Type.Optional(Type.Integer({ minimum: 1 })),
  either: Type.Optional(Type.Union([Type.String(), Type.Number()])),
});
const messages = (v: unknown) => [...Value.Errors(Schema, v)].map((e) => `${e.path} ${valueErrorMessage(e)}`);

describe('valueErrorMessage', () => {
  it('lists the values a union of literals takes', () => {
    expect(messages({ level: 'loud' })).toEqual(['/level must be one of debug, info']);
  });
  it("keeps TypeBox's message for anything else", () => {
    expect(messages({ level: 'info', count: 0, either: true })).toEqual([
      '/count Expected integer to be greater or equal to 1',
      '/either Expected union value',
    ]);
  });
});
