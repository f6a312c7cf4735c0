import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runRewind } from './rewind-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'rewind-edge-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const rewind = (args: readonly string[], env: Record<string, string> = {}) =>
  runRewind(dataDir, args, env);

describe('the rewind command at the process edge', () => {
  it('names a missing orders file, with the usage exit code and no stack trace', () => {
    const result = rewind(['demo', '--orders', '/nonexistent/orders.csv']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('cannot read /nonexistent/orders.csv');
    expect(result.stderr).not.toContain('    at ');
  });

  it('names the bad line of an orders file', () => {
    const file = join(dataDir, 'broken.csv');
    writeFileSync(
      file,
      'order_id,customer_email,sku,quantity,amount_cents,card_token,country\nord-x,broken\n',
    );
    const result = rewind(['demo', '--orders', file]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/broken\.csv:2/);
    expect(result.stderr).not.toContain('    at ');
  });

  it('refuses a demo of no orders, naming the file, before it resets the shop', () => {
    const file = join(dataDir, 'empty.csv');
    writeFileSync(file, 'order_id,customer_email,sku,quantity,amount_cents,card_token,country\n');
    const result = rewind(['demo', '--orders', file]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`${file}:1: holds no orders`);
    expect(result.stdout).not.toMatch(/completed/);
  });

  it('refuses a bad LOG_LEVEL and an EVENTSTORE_URL it cannot serve, saying which', () => {
    const level = rewind(['jobs'], { LOG_LEVEL: 'bogus' });
    expect(level.status).toBe(2);
    expect(level.stderr).toContain('LOG_LEVEL');
    const esdb = rewind(['jobs'], { EVENTSTORE_URL: 'esdb://127.0.0.1:2113?tls=false' });
    expect(esdb.status).toBe(2);
    expect(esdb.stderr).toContain('EVENTSTORE_URL');
  });
});

/** The one line a failed command wrote on standard error. */
function onlyLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
}

describe("commander's usage errors", () => {
  it('exit 2 with one line naming an unknown option', () => {
    const result = rewind(['list', '--bogus']);
    expect(result.status).toBe(2);
    expect(onlyLine(result.stderr)).toMatch(/^rewind: list: unknown option '--bogus'/);
  });

  it('exit 2 with one line naming a missing argument or required option', () => {
    const argument = rewind(['history']);
    expect(argument.status).toBe(2);
    expect(onlyLine(argument.stderr)).toContain("missing required argument 'sagaId'");
    const option = rewind(['replay']);
    expect(option.status).toBe(2);
    expect(onlyLine(option.stderr)).toContain("'--file <f>'");
  });

  it('exit 2 with one line naming an unknown command and the nearest one', () => {
    const result = rewind(['lst']);
    expect(result.status).toBe(2);
    expect(onlyLine(result.stderr)).toMatch(/unknown command 'lst'.*list/);
  });

  it('leave --help and --version at exit 0', () => {
    const help = rewind(['list', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: rewind list');
    const version = rewind(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('errors with --json', () => {
  it('are one JSON object on standard error, with the same exit code', () => {
    const refused = rewind(['list', '--status', 'bogus', '--json']);
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe('');
    const { error } = JSON.parse(onlyLine(refused.stderr));
    expect(error.code).toBe('bad_input');
    expect(error.message).toContain('--status');

    const usage = rewind(['list', '--json', '--bogus']);
    expect(usage.status).toBe(2);
    expect(JSON.parse(onlyLine(usage.stderr)).error).toMatchObject({ code: 'usage' });
  });

  it('stay plain text without --json', () => {
    const refused = rewind(['list', '--status', 'bogus']);
    expect(refused.status).toBe(2);
    expect(onlyLine(refused.stderr)).toMatch(/^rewind: list: --status: /);
  });
});
