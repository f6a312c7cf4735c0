import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runForkCommand } from '../../src/cli/fork-command.js';
import { runPlanCommand } from '../../src/cli/plan-command.js';
import type { CommandIo, CommandResult } from '../../src/cli/run-command.js';
import { runVerifyCommand } from '../../src/cli/verify-command.js';
import type { SagaId } from '../../src/core/ids.js';
import {
  ACME_OPERATOR,
  ACME_USER,
  type CliDatabase,
  createCliDatabase,
  runCli,
  seedOrderSaga,
} from '../support/cli.js';
import { runRewind } from './rewind-process.js';

const GOOD_MODULE = join(import.meta.dirname, '..', 'support', 'golden-sagas.ts');

const dir = mkdtempSync(join(tmpdir(), 'rewind-sagas-module-'));
const missing = join(dir, 'missing.mjs');
const throwing = join(dir, 'throwing.mjs');
const empty = join(dir, 'empty.mjs');
writeFileSync(throwing, 'throw new Error("the module broke while loading");\n');
writeFileSync(empty, 'export const answer = 42;\n');

let db: CliDatabase;
let sagaId: SagaId;
beforeAll(async () => {
  db = await createCliDatabase();
  const sql = await db.open();
  sagaId = await seedOrderSaga(sql, 'running', ACME_USER);
  await sql.close();
}, 60_000);
afterAll(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const asAcme = { actor: ACME_OPERATOR.id, tenant: 'acme', json: false };

/** Each command that takes `--sagas`, given the module `sagas`. */
const COMMANDS: readonly [string, (sagas: string) => (io: CommandIo) => Promise<CommandResult>][] =
  [
    ['plan', (sagas) => (io) => runPlanCommand(io, sagaId, { ...asAcme, sagas })],
    [
      'fork',
      (sagas) => (io) => runForkCommand(io, sagaId, { ...asAcme, at: '2', live: false, sagas }),
    ],
    ['verify', (sagas) => (io) => runVerifyCommand(io, { json: false, sagas })],
  ];

/** Each bad module, and what the refusal says after `<command>: --sagas <file>`. */
const BAD_MODULES: readonly [string, string, string][] = [
  ['a missing file', missing, ': no such file'],
  ['a file that throws on import', throwing, ': the module broke while loading'],
  ['a module exporting no saga definitions', empty, ' exports no saga definitions'],
];

const CASES = COMMANDS.flatMap(([name, command]) =>
  BAD_MODULES.map(
    ([what, file, said]) => [name, what, command(file), `${name}: --sagas ${file}${said}`] as const,
  ),
);

describe('a --sagas module that cannot be used', () => {
  it.each(CASES)(
    '%s refuses %s with exit code 2, naming the file',
    async (_n, _w, command, said) => {
      const run = await runCli(db, command);

      expect(run.exitCode).toBe(2);
      expect(run.error).toBe(said);
      expect(run.lines).toEqual([]);
    },
  );

  it('is refused by the real command with exit code 2 and no stack trace (was exit 70)', () => {
    const { dataDir, databaseUrl } = db.config;
    const env: Record<string, string> = databaseUrl ? { DATABASE_URL: databaseUrl } : {};
    const result = runRewind(dataDir, ['plan', sagaId, '--sagas', throwing], env);

    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `rewind: plan: --sagas ${throwing}: the module broke while loading\n`,
    );
  });
});

describe('a --sagas module that loads', () => {
  it('adds its definitions to the built-in ones for plan and fork', async () => {
    const planned = await runCli(db, (io) =>
      runPlanCommand(io, sagaId, { ...asAcme, sagas: GOOD_MODULE }),
    );
    const forked = await runCli(db, (io) =>
      runForkCommand(io, sagaId, { ...asAcme, at: '2', live: false, sagas: GOOD_MODULE }),
    );

    expect(planned.error).toBe('');
    expect(planned.lines[0]).toContain('(order-fulfilment v1) is running');
    expect(forked.error).toBe('');
    expect(forked.lines[0]).toContain(`dry run: saga ${sagaId} forked after event 2`);
  });
});
