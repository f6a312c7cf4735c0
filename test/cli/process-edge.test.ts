import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

const dataDir = mkdtempSync(join(tmpdir(), 'rewind-edge-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs the real `rewind` command in a process of its own, on a fresh embedded database. */
function rewind(args: readonly string[], env: Record<string, string> = {}) {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const result = spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], {
    env: { ...inherited, REWIND_DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

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

  it('ends a demo of no orders at once', () => {
    const file = join(dataDir, 'empty.csv');
    writeFileSync(file, 'order_id,customer_email,sku,quantity,amount_cents,card_token,country\n');
    const result = rewind(['demo', '--orders', file]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/orders: +0/);
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
