import * as E from 'fp-ts/lib/Either.js';

import { createPgSqlClient } from '../../src/adapters/postgres/pg-sql-client.js';
import type { EventStore } from '../../src/ports/event-store.js';
import type { SqlExecutor } from '../../src/ports/sql.js';
import { Rewind } from '../../src/runtime/rewind.js';
import { type CrashCheck, checkCrashRun, type StartedCrashSaga } from './check-crash-run.js';
import { PASSIVE_CRASH_HOOKS } from './crash-harness.js';
import { type CrashCommand, readCommands } from './crash-operator.js';
import { CrashInput, createCrashSagas } from './crash-sagas.js';

/**
 * Checks the kept schema of a crash run again, with the checker as it is now: the sagas the
 * harness started are read from their SagaStarted events, the operator's commands from
 * `crash_commands` (none in a schema from before the operator).
 */

/** The sagas a run started (not the children their parents started), in start order. */
async function readStartedSagas(store: EventStore): Promise<StartedCrashSaga[]> {
  const started: StartedCrashSaga[] = [];
  let after = -1n;
  for (;;) {
    const page = await store.readAll({ after, limit: 1000 });
    if (E.isLeft(page)) throw new Error(`recheck: readAll: ${page.left.streamName}`);
    for (const { event } of page.right) {
      if (event.type !== 'SagaStarted' || event.data.parent !== undefined) continue;
      const input = CrashInput.decode(event.data.input);
      if (E.isLeft(input)) throw new Error(`recheck: saga ${event.data.sagaId}: input`);
      started.push({ sagaId: event.data.sagaId, saga: event.data.saga, input: input.right });
    }
    const last = page.right.at(-1);
    if (!last) return started;
    after = last.position;
  }
}

async function readCommandsIfAny(sql: SqlExecutor): Promise<CrashCommand[]> {
  const table = await sql.query("SELECT to_regclass('crash_commands') IS NOT NULL AS found");
  return table.rows[0]?.found === true ? readCommands(sql) : [];
}

/** Checks schema `schema` of a finished crash run again; see the module comment. */
export async function recheckCrashRun(databaseUrl: string, schema: string): Promise<CrashCheck> {
  const sql = createPgSqlClient({ connectionString: databaseUrl, schema });
  try {
    const rewind = new Rewind({ sql, sagas: createCrashSagas(PASSIVE_CRASH_HOOKS) });
    const sagas = await readStartedSagas(rewind.store);
    const commands = await readCommandsIfAny(sql);
    return await checkCrashRun(rewind.store, sql, rewind.registry, sagas, commands);
  } finally {
    await sql.close();
  }
}
