import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runExportCommand } from '../../src/cli/export-command.js';
import { runImportCommand } from '../../src/cli/import-command.js';
import { runListCommand } from '../../src/cli/list-command.js';
import { runReplayCommand } from '../../src/cli/replay-command.js';
import type { CommandIo, CommandResult } from '../../src/cli/run-command.js';
import type { SagaId } from '../../src/core/ids.js';
import {
  ACME_USER,
  type CliDatabase,
  createCliDatabase,
  runCli,
  seedOrderSaga,
} from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'rewind-ndjson-'));
const exported = join(dir, 'export.ndjson');
const asOlga = { actor: 'olga', tenant: 'acme', json: false };

let source: CliDatabase;
let running: SagaId;
/** The exported lines: a compensated saga (lines 1 to 11), then a running one (12 to 16). */
let lines: string[];
beforeAll(async () => {
  source = await createCliDatabase();
  const sql = await source.open();
  const compensated = await seedOrderSaga(sql, 'compensated', ACME_USER);
  running = await seedOrderSaga(sql, 'running', ACME_USER);
  await sql.close();
  const run = await runCli(source, (io) =>
    runExportCommand(io, [compensated, running], { all: false, out: exported, json: false }),
  );
  if (run.error !== '') throw new Error(run.error);
  lines = readFileSync(exported, 'utf8').trim().split('\n');
}, 60_000);
afterAll(async () => {
  await source.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** The exported lines with line `line` (from 1) changed by `edit`, written to a file. */
function withLine(name: string, line: number, edit: (row: Record<string, unknown>) => string) {
  const file = join(dir, name);
  const edited = lines.map((text, index) => (index + 1 === line ? edit(JSON.parse(text)) : text));
  writeFileSync(file, `${edited.join('\n')}\n`);
  return file;
}

/** Runs `command` on a fresh database, and lists the sagas it holds afterwards. */
async function onFreshDatabase(command: (io: CommandIo) => Promise<CommandResult>) {
  const db = await createCliDatabase();
  try {
    const run = await runCli(db, command);
    const listed = await runCli(db, (io) => runListCommand(io, { json: true }));
    return { run, stored: listed.lines.map((line) => JSON.parse(line).sagaId) };
  } finally {
    await db.drop();
  }
}

const BAD_LINES: readonly [
  string,
  string,
  number,
  (row: Record<string, unknown>) => string,
  string,
][] = [
  ['a line that is not JSON', 'not-json.ndjson', 3, () => '{"streamName": ', 'not JSON: '],
  [
    'an event that does not decode',
    'undecodable.ndjson',
    4,
    (row) => JSON.stringify({ ...row, event: { type: 'StepStarted', data: { attempt: 'two' } } }),
    'event',
  ],
  [
    'a revision out of order',
    'out-of-order.ndjson',
    14,
    (row) => JSON.stringify({ ...row, revision: '5' }),
    'revision: expected 2 in saga-',
  ],
];

describe('a bad line of an NDJSON file', () => {
  it.each(BAD_LINES)(
    'import refuses %s with exit code 2, naming file and line, and writes nothing',
    async (_what, name, line, edit, said) => {
      const file = withLine(name, line, edit);

      const { run, stored } = await onFreshDatabase((io) => runImportCommand(io, file, asOlga));

      expect(run.exitCode).toBe(2);
      expect(run.error).toContain(`import: ${file}:${line}: ${said}`);
      expect(stored).toEqual([]);
    },
  );

  it.each(BAD_LINES)(
    'replay --file refuses %s with exit code 2, naming file and line',
    async (_what, name, line, edit, said) => {
      const file = withLine(name, line, edit);

      const run = await runCli(source, (io) => runReplayCommand(io, { file, json: true }));

      expect(run.exitCode).toBe(2);
      expect(run.error).toContain(`replay: ${file}:${line}: ${said}`);
      expect(run.lines).toEqual([]);
    },
  );

  it('replay --file refuses an event that does not fit the history, naming file and line', async () => {
    // The running saga without its first StepStarted: reserve completes without having started.
    const file = join(dir, 'unfit.ndjson');
    const unfit = lines.slice(11).filter((_, index) => index !== 1);
    const renumbered = unfit.map((text, index) =>
      JSON.stringify({ ...JSON.parse(text), revision: String(index), hash: null, prevHash: null }),
    );
    writeFileSync(file, `${renumbered.join('\n')}\n`);

    const run = await runCli(source, (io) => runReplayCommand(io, { file, json: true }));

    expect(run.exitCode).toBe(2);
    expect(run.error).toMatch(
      new RegExp(`^replay: ${file}:2: saga-${running} event 1 \\(StepCompleted\\) does not fit: `),
    );
    expect(run.lines).toEqual([]);
  });

  it('import writes nothing when a later saga of the file reuses an event id of an earlier one', async () => {
    const first = JSON.parse(lines[0] ?? '{}');
    const file = withLine('reused-id.ndjson', 12, (row) =>
      JSON.stringify({ ...row, eventId: first.eventId }),
    );

    const { run, stored } = await onFreshDatabase((io) => runImportCommand(io, file, asOlga));

    expect(run.exitCode).toBe(2);
    expect(run.error).toBe(`import: ${file}:12: eventId: ${first.eventId} is on line 1 too`);
    expect(stored).toEqual([]);
  });

  it('import writes nothing when an event id of its last saga is in the store already', async () => {
    // The running saga, imported first; then the file again with that saga under a new stream
    // name (unchained, as its hashes cover the name), so only its event ids collide.
    const runningOnly = join(dir, 'running.ndjson');
    writeFileSync(runningOnly, `${lines.slice(11).join('\n')}\n`);
    const renamed = `saga-${randomUUID()}`;
    const file = join(dir, 'stored-id.ndjson');
    const moved = lines
      .slice(11)
      .map((text) =>
        JSON.stringify({ ...JSON.parse(text), streamName: renamed, hash: null, prevHash: null }),
      );
    writeFileSync(file, `${[...lines.slice(0, 11), ...moved].join('\n')}\n`);

    const { run, stored } = await onFreshDatabase(async (io) => {
      const first = await runImportCommand(io, runningOnly, asOlga);
      if (first._tag === 'Left') return first;
      return runImportCommand(io, file, asOlga);
    });

    expect(run.exitCode).toBe(1);
    expect(run.error).toContain(`import: ${file}:12: eventId: `);
    expect(run.error).toContain('is in the store already');
    expect(stored).toEqual([running]);
  });
});

describe('replay --file of a file with no events', () => {
  it.each([
    ['empty', ''],
    ['blank lines only', '\n  \n\n'],
  ])('is refused with exit code 2 (%s)', async (name, text) => {
    const file = join(dir, `${name}.ndjson`);
    writeFileSync(file, text);

    const run = await runCli(source, (io) => runReplayCommand(io, { file, json: false }));

    expect(run.exitCode).toBe(2);
    expect(run.error).toBe(`replay: ${file} holds no events`);
    expect(run.lines).toEqual([]);
  });
});
