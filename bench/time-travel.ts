/**
 * Time travel on a long saga: the state at any event of a 100,000-event stream, with snapshots
 * (src/inspect/state-at.ts) and, for comparison, by folding the stream from its start.
 *
 *   npx tsx bench/time-travel.ts            # embedded PGlite, in memory
 *   DATABASE_URL=postgres://… npx tsx bench/time-travel.ts
 *
 * The saga: one step retried over and over (StepStarted, StepFailed, StepRetryScheduled), so the
 * state stays small while the stream grows; the goal is under 100 ms per look once snapshotted.
 */
import { performance } from 'node:perf_hooks';

import * as E from 'fp-ts/lib/Either.js';

import { createPgliteSqlClient } from '../src/adapters/pglite/pglite-sql-client.js';
import { migrate } from '../src/adapters/postgres/migrate.js';
import { createPgSqlClient } from '../src/adapters/postgres/pg-sql-client.js';
import { createPostgresEventStore } from '../src/adapters/postgres/postgres-event-store.js';
import { DELETE_SNAPSHOTS } from '../src/adapters/postgres/sql/snapshots.js';
import type { NewEvent, SagaEvent } from '../src/core/events.js';
import { replay } from '../src/core/evolve.js';
import { EventId, SagaId, sagaStreamName } from '../src/core/ids.js';
import { loadStateAt } from '../src/inspect/state-at.js';
import type { SqlClient } from '../src/ports/sql.js';

const EVENTS = Number(process.env.EVENTS ?? 100_000);
const BATCH = 1000;
const LOOKS = 25;

function cycleEvent(revision: number): SagaEvent {
  const attempt = Math.floor((revision - 1) / 3) + 1;
  switch ((revision - 1) % 3) {
    case 0:
      return { type: 'StepStarted', data: { step: 'poll', attempt, idempotencyKey: 'k' } };
    case 1: {
      const failure = { name: 'NotReadyFailure', message: `try ${attempt}` };
      return { type: 'StepFailed', data: { step: 'poll', attempt, failure, retryable: true } };
    }
    default: {
      const dueAt = new Date(Date.UTC(2026, 0, 1) + revision * 1000).toISOString();
      return { type: 'StepRetryScheduled', data: { step: 'poll', attempt: attempt + 1, dueAt } };
    }
  }
}

function eventAt(sagaId: SagaId, revision: number): NewEvent {
  const eventId = `${sagaId}-${revision}`;
  if (!EventId.is(eventId)) throw new Error('empty id');
  const event: SagaEvent =
    revision === 0
      ? {
          type: 'SagaStarted',
          data: { sagaId, saga: 'long', version: 1, definitionHash: 'h', input: { n: EVENTS } },
        }
      : cycleEvent(revision);
  const occurredAt = new Date(Date.UTC(2026, 0, 1) + revision * 1000).toISOString();
  const actor = { id: 'bench', tenant: 'bench' };
  const metadata = {
    actor,
    correlationId: sagaId,
    causationId: null,
    occurredAt,
    engineVersion: 'bench',
  };
  return { eventId, event, metadata };
}

async function seed(sql: SqlClient, sagaId: SagaId): Promise<void> {
  const store = createPostgresEventStore({ sql });
  for (let first = 0; first < EVENTS; first += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, EVENTS - first) }, (_, i) =>
      eventAt(sagaId, first + i),
    );
    const expected = first === 0 ? 'no_stream' : BigInt(first - 1);
    const appended = await store.appendToStream(sagaStreamName(sagaId), batch, expected);
    if (E.isLeft(appended)) throw new Error('append failed');
  }
}

async function time<Result>(work: () => Promise<Result>): Promise<[number, Result]> {
  const started = performance.now();
  const result = await work();
  return [performance.now() - started, result];
}

function summarize(label: string, timings: number[]): void {
  const sorted = [...timings].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  console.log(
    `${label.padEnd(34)} median ${at(0.5).toFixed(1)} ms  p95 ${at(0.95).toFixed(1)} ms  max ${at(1).toFixed(1)} ms`,
  );
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  const sql = url ? createPgSqlClient({ connectionString: url }) : await createPgliteSqlClient();
  await migrate(sql);
  const sagaId = `bench-${Date.now()}`;
  if (!SagaId.is(sagaId)) throw new Error('empty id');
  console.log(
    `time travel on one saga of ${EVENTS} events, ${url ? 'Postgres' : 'PGlite (memory)'}`,
  );

  const [seedMs] = await time(() => seed(sql, sagaId));
  console.log(`seeded in ${(seedMs / 1000).toFixed(1)} s`);

  // Spread over the stream, and each one just below a snapshot: the worst case, folding 999 events.
  const targets = Array.from({ length: LOOKS }, (_, i) => {
    const base = Math.floor((i / LOOKS) * (EVENTS - 2000)) + 1000;
    return BigInt(base - (base % 1000) + 998);
  });
  const [coldMs, cold] = await time(() => loadStateAt(sql, sagaId));
  if (E.isLeft(cold)) throw new Error(cold.left._tag);
  console.log(`first look (folds it all, writes snapshots) ${coldMs.toFixed(0)} ms`);

  const warm: number[] = [];
  for (const target of targets) {
    const [ms, loaded] = await time(() => loadStateAt(sql, sagaId, target));
    if (E.isLeft(loaded)) throw new Error(loaded.left._tag);
    warm.push(ms);
  }
  summarize('state at an event, snapshotted', warm);

  const store = createPostgresEventStore({ sql });
  const full: number[] = [];
  for (const target of targets.slice(0, 5)) {
    const [ms] = await time(async () => {
      const events = await store.readStream(sagaStreamName(sagaId));
      if (E.isLeft(events)) throw new Error(events.left._tag);
      return replay(events.right.slice(0, Number(target) + 1));
    });
    full.push(ms);
  }
  summarize('state at an event, no snapshots', full);

  await sql.query(DELETE_SNAPSHOTS, [sagaStreamName(sagaId)]);
  await sql.query('DELETE FROM rewind_events WHERE stream_name = $1', [sagaStreamName(sagaId)]);
  await sql.close();
}

await main();
