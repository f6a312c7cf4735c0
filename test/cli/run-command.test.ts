import { describe, expect, it } from 'vitest';

import { formatRefusal } from '../../src/cli/run-command.js';

describe('formatRefusal', () => {
  it('writes text with the detail below, or one JSON line with the code from the exit code', () => {
    const crash = { exitCode: 70, message: 'unexpected error', detail: 'Error: boom\n    at x' };
    expect(formatRefusal(crash, false)).toBe('rewind: unexpected error\nError: boom\n    at x\n');
    const json = formatRefusal(crash, true);
    expect(json.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(json)).toEqual({
      error: { code: 'internal', message: 'unexpected error', detail: 'Error: boom\n    at x' },
    });
    expect(JSON.parse(formatRefusal({ exitCode: 3, message: 'no' }, true)).error.code).toBe(
      'forbidden',
    );
  });
});
