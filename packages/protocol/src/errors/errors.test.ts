import { describe, expect, it } from 'vitest';
import { defineErrors } from './define-errors.js';
import { ProtocolError } from './errors.js';

describe('error catalogues', () => {
  it('make errors with a stable code, the catalogue message, the detail and a status', () => {
    const HttpError = defineErrors('HttpError', {
      ET_ERR_GONE: { message: 'it is gone', status: 410 },
      ET_ERR_PLAIN: 'plain',
    });
    const e = new HttpError('ET_ERR_GONE', 'node gw-1');
    expect(e).toBeInstanceOf(HttpError);
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.detail, e.statusCode, e.message]).toEqual([
      'HttpError',
      'ET_ERR_GONE',
      'node gw-1',
      410,
      'ET_ERR_GONE: it is gone (node gw-1)',
    ]);
    expect(new HttpError('ET_ERR_PLAIN', 'x').statusCode).toBe(500);
    expect(new ProtocolError('ET_ERR_TRUNCATED', 'at 3')).not.toBeInstanceOf(HttpError);
  });
});
