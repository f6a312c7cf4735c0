/**
 * Saga throughput on real Postgres: N five-step sagas of no-op steps, run by one worker process
 * with the projector beside it. Prints sagas/s, events/s and Postgres commits per saga (from
 * pg_stat_database.xact_commit of a database of its own, so nothing else is counted).
 *
 *   npx tsx bench/sagas.ts [--sagas 2000] [--concurrency 32]
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is where the
 * benchmark database `rewind_bench` is created, dropped first if it exists.
 */
import { parseArgs } from 'node:util';

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import pg from 'pg';

import { migrate } from '../src/adapters/postgres/migrate.js';
import { createPgSqlClient } from '../src/adapters/postgres/pg-sql-client.js';
import { defineSaga } from '../src/core/definition.js';
import type { SagaId } from '../src/core/ids.js';
import { Rewind } from '../src/runtime/rewind.js';

const { values } = parseArgs({
  options: {
    sagas: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
  },
});
const SAGAS = Number(values.sagas);
const CONCURRENCY = Number(values.concurrency);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASE = 'rewind_bench';

async function withAdmin<Result>(work: (client: pg.Client) => Promise<Result>): Promise<Result> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function commits(): Promise<number> {
  return withAdmin(async (client) => {
    // Statistics are sent by backends asynchronously; ask for a fresh snapshot.
    await client.query('SELECT pg_stat_clear_snapshot()');
    const result = await client.query(
      'SELECT xact_commit::text AS commits FROM pg_stat_database WHERE datname = $1',
      [DATABASE],
    );
    return Number(result.rows[0]?.commits ?? 0);
  });
}

const fiveSteps = defineSaga({
  name: 'bench',
  version: 1,
  input: t.type({ n: t.number }),
  steps: (step) => {
    const a = step('a', { run: async () => 1 });
    const b = step('b', { after: [a], run: async () => 2 });
    const c = step('c', { after: [b], run: async () => 3 });
    const d = step('d', { after: [c], run: async () => 4 });
    const e = step('e', { after: [d], run: async () => 5 });
    return [a, b, c, d, e];
  },
});

async function main(): Promise<void> {
  await withAdmin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${DATABASE}`);
    const fsync = await client.query('SHOW fsync');
    const synchronous = await client.query('SHOW synchronous_commit');
    console.log(
      `postgres: fsync=${fsync.rows[0]?.fsync} synchronous_commit=${synchronous.rows[0]?.synchronous_commit}`,
    );
  });
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DATABASE}`;
  const sql = createPgSqlClient({ connectionString: url.toString(), maxConnections: 20 });
  await migrate(sql);

  let finished = 0;
  let done: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    done = resolve;
  });
  const rewind = new Rewind({ sql, sagas: [fiveSteps] });
  const projector = rewind.startProjector({ pollMs: 50 });
  const worker = rewind.createWorker({
    concurrency: CONCURRENCY,
    pollMs: 50,
    notify: (n) => {
      if (n.type === 'saga:finished' && ++finished === SAGAS) done();
    },
  });

  const before = await commits();
  const begin = performance.now();
  worker.start();
  const ids: SagaId[] = [];
  for (let i = 0; i < SAGAS; i++) {
    const started = await rewind.start(fiveSteps, { n: i }, { actor: { id: 'bench' } });
    if (E.isLeft(started)) throw new Error(started.left._tag);
    ids.push(started.right.sagaId);
  }
  await allDone;
  const seconds = (performance.now() - begin) / 1000;
  await worker.stop();
  await projector.stop();
  const after = await commits();

  const events = await sql.query('SELECT count(*)::int AS n FROM rewind_events');
  const eventCount = Number(events.rows[0]?.n ?? 0);
  console.log(
    `sagas:              ${SAGAS} (5 no-op steps each, worker concurrency ${CONCURRENCY})`,
  );
  console.log(`time:               ${seconds.toFixed(2)} s`);
  console.log(`sagas/s:            ${(SAGAS / seconds).toFixed(1)}`);
  console.log(
    `events/s:           ${(eventCount / seconds).toFixed(1)} (${eventCount / SAGAS} events per saga)`,
  );
  console.log(
    `commits per saga:   ${((after - before) / SAGAS).toFixed(1)} (pg_stat_database.xact_commit)`,
  );
  await sql.close();
  await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`));
}

await main();
