import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../src/adapters/postgres/migrate.js';
import { createPgSqlClient } from '../../src/adapters/postgres/pg-sql-client.js';
import { EventMetadata, SagaEvent } from '../../src/core/events.js';
import { SagaId } from '../../src/core/ids.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { Rewind } from '../../src/runtime/rewind.js';
import { PASSIVE_CRASH_HOOKS, runAdmin, WORKER_PROCESS } from './crash-harness.js';
import { CRASH_SAGA, createCrashSagas } from './crash-sagas.js';
import { createRandom } from './random.js';

const databaseUrl = process.env.DATABASE_URL ?? '';
const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 1_000_000));
const schema = `rewind_projector_${randomBytes(4).toString('hex')}`;
let sql: SqlClient;

/** A projector process (no worker) that lingers inside its transaction; SIGKILLed there. */
class ProjectorProcess {
  child: ChildProcess | undefined;
  kills = 0;
  readonly #random = createRandom(seed);

  constructor(private readonly maxKills: number) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_PROCESS], {
      env: {
        ...process.env,
        CRASH_SCHEMA: schema,
        CRASH_ROLE: 'projector',
        CRASH_SEED: String(seed + this.kills),
        CRASH_LINGER_MS: '60',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      if (!child.stdout) return resolve();
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line === 'READY') resolve();
        if (line.startsWith('W projection:tx')) this.#maybeKill(child);
      });
    });
  }

  #maybeKill(child: ChildProcess): void {
    if (this.kills >= this.maxKills || child !== this.child || this.#random() > 0.4) return;
    this.kills += 1;
    child.kill('SIGKILL');
    setTimeout(() => {
      this.start().catch(() => {});
    }, 100);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

const CountRow = t.type({ n: t.number });
async function count(statement: string, params: unknown[] = []): Promise<number> {
  const decoded = CountRow.decode((await sql.query(statement, params)).rows[0]);
  if (E.isLeft(decoded)) throw new Error('count did not decode');
  return decoded.right.n;
}

/**
 * Appends a SagaStarted in a transaction of its own that stays open while other appends commit
 * after it: its position is lower, its commit later. The store itself serialises appends, so
 * only a writer beside it can commit out of position order.
 */
async function appendOutOfOrder(rewind: Rewind, holdMs: number): Promise<boolean> {
  const sagaId = SagaId.decode(`slow-${randomUUID()}`);
  if (E.isLeft(sagaId)) throw new Error('bad saga id');
  const definition = rewind.registry.find(CRASH_SAGA, 1);
  if (!definition) throw new Error('no crash saga');
  const encoded = SagaEvent.encode({
    type: 'SagaStarted',
    data: {
      sagaId: sagaId.right,
      saga: CRASH_SAGA,
      version: 1,
      definitionHash: definition.hash,
      input: { n: -1, failAt: null, flakyAt: null },
    },
  });
  const metadata = EventMetadata.encode({
    actor: { id: 'slow-writer' },
    correlationId: sagaId.right,
    causationId: null,
    occurredAt: new Date().toISOString(),
    engineVersion: 'test',
  });
  const client = new pg.Client({
    connectionString: databaseUrl,
    options: `-c search_path=${schema}`,
  });
  await client.connect();
  try {
    await client.query('BEGIN');
    const inserted = await client.query(
      `INSERT INTO rewind_events (stream_name, revision, event_id, type, data, metadata)
       VALUES ($1, 0, $2, 'SagaStarted', $3::jsonb, $4::jsonb) RETURNING position::int AS n`,
      [
        `saga-${sagaId.right}`,
        randomUUID(),
        JSON.stringify(encoded.data),
        JSON.stringify(metadata),
      ],
    );
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    const own = CountRow.decode(inserted.rows[0]);
    const committedAbove = await count('SELECT max(position)::int AS n FROM rewind_events');
    await client.query('COMMIT');
    return E.isRight(own) && committedAbove > own.right.n;
  } finally {
    await client.end();
  }
}

describe.skipIf(!databaseUrl)('a projector killed inside its transaction', () => {
  beforeAll(async () => {
    await runAdmin(databaseUrl, `CREATE SCHEMA ${schema}`);
    sql = createPgSqlClient({ connectionString: databaseUrl, schema });
    await migrate(sql);
  });
  afterAll(async () => {
    await sql?.close();
    await runAdmin(databaseUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  it(`skips no event and inserts no job twice across restarts (seed ${seed})`, async () => {
    const rewind = new Rewind({ sql, sagas: createCrashSagas(PASSIVE_CRASH_HOOKS) });
    const definition = rewind.registry.find(CRASH_SAGA, 1);
    if (!definition) throw new Error('no crash saga');
    const projector = new ProjectorProcess(6);
    await projector.start();
    try {
      const writers = Array.from({ length: 12 }, async (_, writer) => {
        for (let i = 0; i < 25; i++) {
          const input = { n: writer * 100 + i, failAt: null, flakyAt: null };
          const started = await rewind.start(definition, input, { actor: { id: 'writer' } });
          if (E.isLeft(started)) throw new Error(started.left._tag);
        }
      });
      const slow = [300, 900, 1500].map(async (delay) => {
        await new Promise((resolve) => setTimeout(resolve, delay));
        return appendOutOfOrder(rewind, 800);
      });
      await Promise.all(writers);
      const overtaken = await Promise.all(slow);
      // Later appends committed above each slow event's position while it was still open.
      expect(overtaken).toContain(true);

      const total = 12 * 25 + slow.length;
      const deadline = Date.now() + 60_000;
      while ((await count('SELECT count(*)::int AS n FROM rewind_jobs')) < total) {
        if (Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Anything left unprojected or projected twice would show here.
      await new Promise((resolve) => setTimeout(resolve, 500));

      expect(projector.kills).toBeGreaterThan(0);
      expect(await count('SELECT count(*)::int AS n FROM rewind_jobs')).toBe(total);
      const missing = await count(
        `SELECT count(*)::int AS n FROM rewind_events AS e WHERE e.type = 'SagaStarted'
         AND NOT EXISTS (SELECT 1 FROM rewind_jobs AS j
           WHERE j.args->>'sagaId' = e.data->>'sagaId')`,
      );
      expect(missing).toBe(0);
      const doubled = await count(
        `SELECT count(*)::int AS n FROM (SELECT args->>'sagaId' FROM rewind_jobs
         GROUP BY args->>'sagaId' HAVING count(*) > 1) AS twice`,
      );
      expect(doubled).toBe(0);
    } finally {
      await projector.stop();
    }
  }, 90_000);
});
