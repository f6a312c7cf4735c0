import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runDiffCommand } from '../../src/cli/diff-command.js';
import { runForkCommand } from '../../src/cli/fork-command.js';
import { runHistoryCommand } from '../../src/cli/history-command.js';
import { runPlanCommand } from '../../src/cli/plan-command.js';
import { runStateCommand } from '../../src/cli/state-command.js';
import type { SagaId } from '../../src/core/ids.js';
import {
  ACME_OPERATOR,
  ACME_USER,
  type CliDatabase,
  createCliDatabase,
  GLOBEX_USER,
  runCli,
  seedOrderSaga,
} from '../support/cli.js';

let db: CliDatabase;
let compensated: SagaId;
let running: SagaId;
beforeAll(async () => {
  db = await createCliDatabase();
  const sql = await db.open();
  compensated = await seedOrderSaga(sql, 'compensated', ACME_USER);
  running = await seedOrderSaga(sql, 'running', ACME_USER);
  await sql.close();
}, 60_000);
afterAll(async () => {
  await db.drop();
});

const asAcme = { actor: ACME_OPERATOR.id, tenant: 'acme' };
const asGlobex = { actor: GLOBEX_USER.id, tenant: 'globex' };

describe('rewind history', () => {
  it('prints the events as JSON lines', async () => {
    const run = await runCli(db, (io) =>
      runHistoryCommand(io, compensated, { ...asAcme, json: true }),
    );
    const rows = run.lines.map((line) => JSON.parse(line));
    expect(rows.map((row) => row.revision)).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
      '10',
    ]);
    expect(rows[6].event.type).toBe('StepFailed');
  });

  it("refuses another tenant's actor", async () => {
    const run = await runCli(db, (io) =>
      runHistoryCommand(io, compensated, { ...asGlobex, json: true }),
    );
    expect(run.exitCode).toBe(3);
    expect(run.lines).toEqual([]);
  });
});

describe('rewind state', () => {
  it('prints the state after event n', async () => {
    const run = await runCli(db, (io) =>
      runStateCommand(io, compensated, { ...asAcme, at: '4', json: true }),
    );
    expect(run.error).toBe('');
    const printed = JSON.parse(run.lines[0] ?? '{}');
    expect(printed.revision).toBe('4');
    expect(printed.state.status).toBe('running');
    expect(printed.state.steps.charge).toMatchObject({
      status: 'completed',
      output: { paymentId: 9 },
    });
    expect(printed.state.steps.ship).toBeUndefined();
  });

  it('refuses an event past the end as bad input, naming it and the length', async () => {
    const run = await runCli(db, (io) =>
      runStateCommand(io, compensated, { at: '99', json: false }),
    );
    expect(run.exitCode).toBe(2);
    expect(run.error).toBe(
      `state: --at 99: past the end of saga ${compensated}, which has 11 events (0 to 10)`,
    );
  });

  it("refuses another tenant's actor and says why", async () => {
    const run = await runCli(db, (io) =>
      runStateCommand(io, compensated, { ...asGlobex, at: '1', json: false }),
    );
    expect(run.exitCode).toBe(3);
    expect(run.error).toContain('actor gus (tenant globex) may not read sagas of tenant acme');
    expect(run.lines).toEqual([]);
  });
});

describe('rewind diff', () => {
  it('prints what changed between two events and the events between', async () => {
    const run = await runCli(db, (io) =>
      runDiffCommand(io, compensated, '4', '7', { json: false }),
    );
    expect(run.error).toBe('');
    expect(run.lines).toContain('  #6 StepFailed by alice');
    expect(run.lines).toContain('~ status: "running" -> "compensating"');
    expect(run.lines.some((line) => line.startsWith('+ steps.ship:'))).toBe(true);
  });

  it('refuses an event past the end as bad input, naming which and the length', async () => {
    const run = await runCli(db, (io) =>
      runDiffCommand(io, compensated, '4', '11', { json: false }),
    );
    expect(run.exitCode).toBe(2);
    expect(run.error).toContain('diff: <b> 11: past the end');
    expect(run.error).toContain('which has 11 events (0 to 10)');
  });
});

describe('rewind plan', () => {
  it('plans the undo of the completed steps, newest first, with their outputs', async () => {
    const run = await runCli(db, (io) => runPlanCommand(io, running, { json: true }));
    expect(run.error).toBe('');
    const plan = JSON.parse(run.lines[0] ?? '{}');
    expect(plan.compensations).toEqual([
      {
        order: 1,
        step: 'charge',
        undo: 'output',
        attempt: 1,
        output: { paymentId: 9, amountCents: 2400, orderId: 'ord-1' },
      },
      {
        order: 2,
        step: 'reserve',
        undo: 'output',
        attempt: 1,
        output: expect.objectContaining({ reservationId: 7 }),
      },
    ]);
  });

  it('plans nothing for a compensated saga', async () => {
    const run = await runCli(db, (io) => runPlanCommand(io, compensated, { json: false }));
    expect(run.lines).toContain('nothing to compensate');
  });
});

describe('rewind fork', () => {
  it('dry-runs a what-if with a patched input and writes nothing', async () => {
    const run = await runCli(db, (io) =>
      runForkCommand(io, compensated, {
        at: '4',
        input: '{"country":"DE"}',
        live: false,
        json: true,
      }),
    );
    expect(run.error).toBe('');
    const fork = JSON.parse(run.lines[0] ?? '{}');
    expect(fork.status).toBe('completed');
    expect(fork.notes).toEqual(['ship: no recorded output; ran against nothing real, output null']);
    expect(fork.diff[1]).toMatchObject({
      mark: '~',
      revision: '6',
      fork: 'StepCompleted ship null',
    });
    expect(fork.diff.filter((line: { mark: string }) => line.mark === '-')).toHaveLength(3);

    const after = await runCli(db, (io) => runStateCommand(io, compensated, { json: true }));
    expect(JSON.parse(after.lines[0] ?? '{}').lastRevision).toBe('10');
  });

  it('replays recorded failures with keepFailures, matching the original', async () => {
    const run = await runCli(db, (io) =>
      runForkCommand(io, compensated, { at: '2', live: false, keepFailures: true, json: true }),
    );
    const fork = JSON.parse(run.lines[0] ?? '{}');
    expect(fork.status).toBe('compensated');
    expect(fork.diff.every((line: { mark: string }) => line.mark === '=')).toBe(true);
  });

  it('refuses a patch that makes the input invalid, naming the field', async () => {
    const run = await runCli(db, (io) =>
      runForkCommand(io, compensated, {
        at: '2',
        input: '{"quantity":0}',
        live: false,
        json: false,
      }),
    );
    expect(run.exitCode).toBe(2);
    expect(run.error).toContain('input.quantity');
  });

  it('refuses an event past the end as bad input, naming it and the length', async () => {
    const run = await runCli(db, (io) =>
      runForkCommand(io, running, { at: '5', live: false, json: false }),
    );
    expect(run.exitCode).toBe(2);
    expect(run.error).toBe(
      `fork: --at 5: past the end of saga ${running}, which has 5 events (0 to 4)`,
    );
  });

  it('starts a live fork caused by the original event', async () => {
    const run = await runCli(db, (io) =>
      runForkCommand(io, compensated, { ...asAcme, at: '4', live: true, json: true }),
    );
    expect(run.error).toBe('');
    const { sagaId, causationId } = JSON.parse(run.lines[0] ?? '{}');
    const state = await runCli(db, (io) => runStateCommand(io, sagaId, { ...asAcme, json: true }));
    const printed = JSON.parse(state.lines[0] ?? '{}');
    expect(printed.state.status).toBe('running');
    expect(printed.state.actor).toEqual({ id: 'olga', tenant: 'acme' });
    expect(causationId).toMatch(/[0-9a-f-]{36}/);
  });

  it("refuses a live fork of another tenant's saga", async () => {
    const run = await runCli(db, (io) =>
      runForkCommand(io, compensated, { ...asGlobex, at: '4', live: true, json: true }),
    );
    expect(run.exitCode).toBe(3);
  });
});
