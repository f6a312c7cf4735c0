import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPostgresEventStore } from '../../src/adapters/postgres/postgres-event-store.js';
import { runAuditCommand } from '../../src/cli/audit-command.js';
import { runExportCommand } from '../../src/cli/export-command.js';
import { runImportCommand } from '../../src/cli/import-command.js';
import { runIntegrityCommand } from '../../src/cli/integrity-command.js';
import { runListCommand } from '../../src/cli/list-command.js';
import { runOperatorCommand } from '../../src/cli/operator-command.js';
import { runReplayCommand } from '../../src/cli/replay-command.js';
import { type SagaId, sagaStreamName } from '../../src/core/ids.js';
import {
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
let completed: SagaId;
let globexSaga: SagaId;
beforeAll(async () => {
  db = await createCliDatabase();
  const sql = await db.open();
  compensated = await seedOrderSaga(sql, 'compensated', ACME_USER, '2026-11-01T10:00:00.000Z');
  running = await seedOrderSaga(sql, 'running', ACME_USER, '2026-11-02T10:00:00.000Z');
  completed = await seedOrderSaga(sql, 'completed', ACME_USER, '2026-11-03T10:00:00.000Z');
  globexSaga = await seedOrderSaga(sql, 'running', GLOBEX_USER, '2026-11-04T10:00:00.000Z');
  await sql.close();
}, 60_000);
afterAll(async () => {
  await db.drop();
});

const asOlga = { actor: 'olga', tenant: 'acme' };
const asGus = { actor: 'gus', tenant: 'globex' };

async function eventsOf(sagaId: SagaId) {
  const sql = await db.open();
  try {
    const events = await createPostgresEventStore({ sql }).readStream(sagaStreamName(sagaId));
    if (E.isLeft(events)) throw new Error('read failed');
    return events.right;
  } finally {
    await sql.close();
  }
}

function jsonLines(lines: readonly string[]) {
  return lines.map((line) => JSON.parse(line));
}

describe('rewind list', () => {
  it('filters by status, saga name, actor, tenant and time range', async () => {
    const byStatus = await runCli(db, (io) =>
      runListCommand(io, { status: 'running', json: true }),
    );
    expect(jsonLines(byStatus.lines).map((row) => row.sagaId)).toEqual([running, globexSaga]);

    const byTenant = await runCli(db, (io) =>
      runListCommand(io, { ofTenant: 'acme', saga: 'order-fulfilment', json: true }),
    );
    expect(jsonLines(byTenant.lines).map((row) => row.sagaId)).toEqual([
      compensated,
      running,
      completed,
    ]);

    const byActorAndTime = await runCli(db, (io) =>
      runListCommand(io, {
        startedBy: 'alice',
        from: '2026-11-02T00:00:00Z',
        before: '2026-11-03T00:00:00Z',
        json: true,
      }),
    );
    expect(jsonLines(byActorAndTime.lines)).toEqual([
      expect.objectContaining({ sagaId: running, status: 'running', events: 5, tenant: 'acme' }),
    ]);
  });

  it("shows an actor its own tenant's sagas only", async () => {
    const run = await runCli(db, (io) => runListCommand(io, { ...asGus, json: true }));
    expect(jsonLines(run.lines).map((row) => row.sagaId)).toEqual([globexSaga]);
  });

  it('refuses a bad status, naming the option', async () => {
    const run = await runCli(db, (io) => runListCommand(io, { status: 'stuck', json: false }));
    expect(run.exitCode).toBe(2);
    expect(run.error).toContain('--status');
  });
});

describe('operator commands', () => {
  it('records a cancel with the operator as actor at the current revision', async () => {
    const run = await runCli(db, (io) =>
      runOperatorCommand(io, 'cancel', running, {
        ...asOlga,
        reason: 'customer called',
        json: true,
      }),
    );
    expect(run.error).toBe('');
    expect(JSON.parse(run.lines[0] ?? '{}')).toMatchObject({ command: 'cancel', revision: '5' });
    const last = (await eventsOf(running)).at(-1);
    expect(last?.event).toEqual({
      type: 'SagaCancelRequested',
      data: { reason: 'customer called' },
    });
    expect(last?.metadata.actor).toEqual({ id: 'olga', tenant: 'acme' });
  });

  it("refuses another tenant's operator and writes nothing", async () => {
    const before = (await eventsOf(completed)).length;
    const run = await runCli(db, (io) =>
      runOperatorCommand(io, 'undo', completed, { ...asGus, json: false }),
    );
    expect(run.exitCode).toBe(3);
    expect(run.error).toContain('actor gus (tenant globex) may not undo sagas of tenant acme');
    expect(await eventsOf(completed)).toHaveLength(before);
  });

  it('records an undo of a completed saga', async () => {
    const run = await runCli(db, (io) =>
      runOperatorCommand(io, 'undo', completed, { ...asOlga, json: false }),
    );
    expect(run.lines).toEqual([`undo of saga ${completed} recorded as event 8 by olga`]);
  });

  it('refuses a command that does not apply, saying why', async () => {
    const resume = await runCli(db, (io) =>
      runOperatorCommand(io, 'resume', globexSaga, {
        ...asGus,
        payload: '{"ok":true}',
        json: false,
      }),
    );
    expect(resume.error).toContain('no step is halted');
    const cancel = await runCli(db, (io) =>
      runOperatorCommand(io, 'cancel', compensated, { ...asOlga, json: false }),
    );
    expect(cancel.error).toContain('a compensated saga cannot be cancelled');
  });

  it('requires a named actor', async () => {
    const run = await runCli(db, (io) =>
      runOperatorCommand(io, 'cancel', globexSaga, { json: false }),
    );
    expect(run.exitCode).toBe(2);
    expect(run.error).toContain('--actor');
  });

  it('retries a running saga by queueing a job, once per revision', async () => {
    const run = await runCli(db, (io) =>
      runOperatorCommand(io, 'retry', globexSaga, { ...asGus, json: true }),
    );
    expect(run.error).toBe('');
    const sql = await db.open();
    const jobs = await sql.query(
      "SELECT args FROM rewind_jobs WHERE unique_key LIKE 'saga-retry:%'",
    );
    await sql.close();
    expect(jobs.rows).toHaveLength(1);
    expect(jobs.rows[0]?.args).toMatchObject({
      sagaId: globexSaga,
      actor: { id: 'gus' },
      cause: 'OperatorRetry',
    });
  });
});

describe('rewind audit', () => {
  it('lists every event an actor caused', async () => {
    const run = await runCli(db, (io) => runAuditCommand(io, { actor: 'olga', json: true }));
    const rows = jsonLines(run.lines);
    expect(rows.map((row) => row.type)).toEqual(['SagaCancelRequested', 'SagaUndoRequested']);
    expect(rows[0]).toMatchObject({ stream: sagaStreamName(running), revision: '5' });
  });
});

describe('export, replay and import', () => {
  const file = join(tmpdir(), `rewind-export-${process.pid}.ndjson`);

  it('exports no saga it cannot find, exiting 1 (not 3, which is for authorization)', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const run = await runCli(db, (io) =>
      runExportCommand(io, [missing], { all: false, out: undefined, json: false }),
    );
    expect(run.exitCode).toBe(1);
    expect(run.error).toContain(`saga ${missing} has no events`);
  });

  it('exports NDJSON that replays offline and imports into another store with its hash chain', async () => {
    const exported = await runCli(db, (io) =>
      runExportCommand(io, [compensated], { all: false, out: file, json: false }),
    );
    expect(exported.error).toBe('');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(11);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      revision: '0',
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    const replayed = await runCli(db, (io) => runReplayCommand(io, { file, at: '7', json: true }));
    expect(JSON.parse(replayed.lines[0] ?? '{}')).toMatchObject({
      events: 8,
      state: { status: 'compensating' },
    });

    const other = await createCliDatabase();
    try {
      const imported = await runCli(other, (io) =>
        runImportCommand(io, file, { ...asOlga, json: true }),
      );
      expect(imported.error).toBe('');
      const verified = await runCli(other, (io) => runIntegrityCommand(io, { json: true }));
      expect(verified.error).toBe('');
      const [verdict] = jsonLines(verified.lines);
      expect(verdict).toMatchObject({
        events: 11,
        intact: true,
        headHash: JSON.parse(lines[10] ?? '{}').hash,
      });
    } finally {
      await other.drop();
    }
  });

  it("refuses an --at past the end of a history, naming it and the history's length", async () => {
    const run = await runCli(db, (io) => runReplayCommand(io, { file, at: '11', json: true }));
    expect(run.exitCode).toBe(2);
    expect(run.error).toBe(
      `replay: --at 11: past the end of ${sagaStreamName(compensated)} in ${file}, ` +
        'which has 11 events (0 to 10)',
    );
    expect(run.lines).toEqual([]);
  });

  it('refuses a bad line naming file, line and field, and writes nothing', async () => {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const bad = JSON.parse(lines[3] ?? '{}');
    bad.event.data.attempt = 'two';
    const badFile = `${file}.bad`;
    writeFileSync(
      badFile,
      [...lines.slice(0, 3), JSON.stringify(bad), ...lines.slice(4)].join('\n'),
    );
    const other = await createCliDatabase();
    try {
      const run = await runCli(other, (io) =>
        runImportCommand(io, badFile, { ...asOlga, json: false }),
      );
      expect(run.error).toMatch(new RegExp(`${badFile}:4: event.*attempt`));
      const listed = await runCli(other, (io) => runListCommand(io, { json: true }));
      expect(listed.lines).toEqual([]);
    } finally {
      await other.drop();
    }
  });

  it('refuses an edited line by its hash', async () => {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const edited = JSON.parse(lines[4] ?? '{}');
    edited.event.data.output.amountCents = 1;
    const editedFile = `${file}.edited`;
    writeFileSync(
      editedFile,
      [...lines.slice(0, 4), JSON.stringify(edited), ...lines.slice(5)].join('\n'),
    );
    const run = await runCli(db, (io) =>
      runImportCommand(io, editedFile, { ...asOlga, json: false }),
    );
    expect(run.error).toContain(`${editedFile}:5: hash:`);
    expect(run.error).toContain('content does not match its hash');
  });

  it("refuses to import another tenant's sagas", async () => {
    const run = await runCli(db, (io) => runImportCommand(io, file, { ...asGus, json: false }));
    expect(run.exitCode).toBe(3);
  });
});

describe('rewind verify --integrity', () => {
  it('passes an untouched store and names an edited row', async () => {
    const clean = await runCli(db, (io) => runIntegrityCommand(io, { json: false }));
    expect(clean.error).toBe('');
    expect(clean.lines.at(-1)).toMatch(/^4 stream\(s\), \d+ event\(s\) checked, 0 tampered with$/);

    const sql = await db.open();
    await sql.query(
      `UPDATE rewind_events SET data = jsonb_set(data, '{output,amountCents}', '1')
       WHERE stream_name = $1 AND revision = 4`,
      [sagaStreamName(compensated)],
    );
    await sql.close();
    const tampered = await runCli(db, (io) => runIntegrityCommand(io, { json: false }));
    expect(tampered.exitCode).toBe(1);
    expect(tampered.lines[0]).toContain(`${sagaStreamName(compensated)} event 4`);
    expect(tampered.lines[0]).toContain('content does not match its hash');
  });
});
