import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runAuditCommand } from '../../src/cli/audit-command.js';
import { runDemoCommand } from '../../src/cli/demo-command.js';
import { runDiffCommand } from '../../src/cli/diff-command.js';
import { runExportCommand } from '../../src/cli/export-command.js';
import { runForkCommand } from '../../src/cli/fork-command.js';
import { runHistoryCommand } from '../../src/cli/history-command.js';
import { runImportCommand } from '../../src/cli/import-command.js';
import { runListCommand } from '../../src/cli/list-command.js';
import { runOperatorCommand } from '../../src/cli/operator-command.js';
import { runPlanCommand } from '../../src/cli/plan-command.js';
import { runReplayCommand } from '../../src/cli/replay-command.js';
import type { CommandIo, CommandResult } from '../../src/cli/run-command.js';
import { runServeCommand } from '../../src/cli/serve-command.js';
import { runStateCommand } from '../../src/cli/state-command.js';
import { runVerifyCommand } from '../../src/cli/verify-command.js';
import { type CliDatabase, createCliDatabase, runCli } from '../support/cli.js';

let db: CliDatabase;
beforeAll(async () => {
  db = await createCliDatabase();
});
afterAll(async () => {
  await db.drop();
});

const SAGA = '7d0b2c9e-0000-4000-8000-000000000001';
const asOlga = { actor: 'olga', tenant: 'acme', json: false };

/** Each a command given one bad argument, and the words its refusal must contain. */
const CASES: readonly [string, (io: CommandIo) => Promise<CommandResult>, string][] = [
  [
    'list --status stuck',
    (io) => runListCommand(io, { status: 'stuck', json: false }),
    '--status: expected one of running, compensating, completed, compensated or failed',
  ],
  ['list --saga ""', (io) => runListCommand(io, { saga: '', json: false }), 'list: --saga'],
  [
    'list --started-by " "',
    (io) => runListCommand(io, { startedBy: ' ', json: false }),
    'list: --started-by',
  ],
  [
    'list --of-tenant ""',
    (io) => runListCommand(io, { ofTenant: '', json: false }),
    'list: --of-tenant',
  ],
  [
    'list --from 1',
    (io) => runListCommand(io, { from: '1', json: false }),
    'list: --from: expected an ISO 8601 time',
  ],
  [
    'list --before "March 7"',
    (io) => runListCommand(io, { before: 'March 7', json: false }),
    'list: --before: expected an ISO 8601 time',
  ],
  [
    'list --from after --before',
    (io) => runListCommand(io, { from: '2026-11-03', before: '2026-11-02', json: false }),
    'list: --before (2026-11-02T00:00:00.000Z) must come after --from',
  ],
  [
    'demo --concurrency 1e1',
    (io) => runDemoCommand(io, { concurrency: '1e1' }),
    'demo: --concurrency: expected a whole number from 1',
  ],
  ['demo --concurrency 0', (io) => runDemoCommand(io, { concurrency: '0' }), 'demo: --concurrency'],
  ['demo --orders ""', (io) => runDemoCommand(io, { orders: '' }), 'demo: --orders'],
  [
    'cancel --reason ""',
    (io) => runOperatorCommand(io, 'cancel', SAGA, { ...asOlga, reason: '' }),
    'cancel: --reason: expected a value',
  ],
  [
    'serve --host ""',
    (io) => runServeCommand(io, { port: '0', host: '', json: false }),
    'serve: --host',
  ],
  [
    'export --out ""',
    (io) => runExportCommand(io, [SAGA], { all: false, out: '', json: false }),
    'export: --out',
  ],
  ['import ""', (io) => runImportCommand(io, '', asOlga), 'import: <file>'],
  ['replay --file ""', (io) => runReplayCommand(io, { file: '', json: false }), 'replay: --file'],
  ['audit --actor " "', (io) => runAuditCommand(io, { actor: ' ', json: false }), 'audit: --actor'],
  [
    'verify --sagas ""',
    (io) => runVerifyCommand(io, { sagas: '', json: false }),
    'verify: --sagas',
  ],
  [
    'fork --sagas ""',
    (io) => runForkCommand(io, SAGA, { at: '1', live: false, sagas: '', json: false }),
    'fork: --sagas',
  ],
  [
    'plan --sagas ""',
    (io) => runPlanCommand(io, SAGA, { sagas: '', json: false }),
    'plan: --sagas',
  ],
];

/** A saga id of spaces only, given to each command that takes a saga id. */
const SPACES = '   ';
const SAGA_ID_CASES: readonly [string, (io: CommandIo) => Promise<CommandResult>][] = [
  ['history', (io) => runHistoryCommand(io, SPACES, asOlga)],
  ['state', (io) => runStateCommand(io, SPACES, asOlga)],
  ['diff', (io) => runDiffCommand(io, SPACES, '0', '1', asOlga)],
  ['plan', (io) => runPlanCommand(io, SPACES, asOlga)],
  ['fork', (io) => runForkCommand(io, SPACES, { ...asOlga, at: '0', live: false })],
  ['cancel', (io) => runOperatorCommand(io, 'cancel', SPACES, asOlga)],
  ['export', (io) => runExportCommand(io, [SAGA, SPACES], { all: false, json: false })],
  ['verify --saga', (io) => runVerifyCommand(io, { saga: SPACES, json: false })],
  [
    'verify --integrity --saga',
    (io) => runVerifyCommand(io, { saga: SPACES, integrity: true, json: false }),
  ],
];

describe('a saga id of spaces only', () => {
  it.each(SAGA_ID_CASES)('is refused by %s with exit code 2, naming it', async (_name, command) => {
    const run = await runCli(db, command);
    expect(run.exitCode).toBe(2);
    expect(run.error).toMatch(/^[a-z]+: (<sagaId>|--saga): expected a saga id/);
    expect(run.error).toContain('(got "   ")');
    expect(run.lines).toEqual([]);
  });
});

describe('a bad command-line argument', () => {
  it.each(CASES)('%s is refused with exit code 2, naming it', async (_name, command, words) => {
    const run = await runCli(db, command);
    expect(run.exitCode).toBe(2);
    expect(run.error).toContain(words);
    expect(run.lines).toEqual([]);
  });
});
