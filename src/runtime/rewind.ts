import { EventStoreDBClient } from '@eventstore/db-client';
import * as E from 'fp-ts/lib/Either.js';
import { jobFeeder } from '../../projections/job-feeder.js';
import { createEventStoreDbEventStore } from '../adapters/eventstoredb/eventstoredb-event-store.js';
import { createPgliteSqlClient } from '../adapters/pglite/pglite-sql-client.js';
import { migrate } from '../adapters/postgres/migrate.js';
import { createPgSqlClient } from '../adapters/postgres/pg-sql-client.js';
import { createPostgresEventStore } from '../adapters/postgres/postgres-event-store.js';
import type { AnySagaDefinition, SagaDefinition } from '../core/definition.js';
import type { RecordedEvent } from '../core/events.js';
import { type HistoryFailure, replay } from '../core/evolve.js';
import { type SagaId, sagaStreamName } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { SagaState } from '../core/state.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { EventStore, ReadFailure } from '../ports/event-store.js';
import { type IdGenerator, uuidGenerator } from '../ports/ids.js';
import { createSilentLogger } from '../ports/logger.js';
import type { SqlClient } from '../ports/sql.js';
import { startProjector } from '../projection/start-projector.js';
import { embeddedDatabaseDir, type RewindConfig } from './config.js';
import { SagaRegistry } from './saga-registry.js';
import { SagaWorker, type SagaWorkerOptions } from './saga-worker.js';
import { type StartSagaFailure, type StartSagaOptions, startSaga } from './start-saga.js';

/** Options of the {@link Rewind} constructor. */
export interface RewindOptions {
  /** The Postgres (or PGlite) database of the job queue, and of the events by default. */
  readonly sql: SqlClient;
  /** Where events are kept. Default: the Postgres event store on `sql`. */
  readonly store?: EventStore;
  /** The saga definitions this process runs, older versions included. */
  readonly sagas: readonly AnySagaDefinition[];
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  /** Default: silent. */
  readonly logger?: Logger;
}

/** A running projector: stop it and wait for it to finish its batch. */
export interface RunningProjector {
  stop(): Promise<void>;
}

/**
 * The engine, wired: start sagas, read their history, run workers and the projector. Every
 * part is also usable on its own (startSaga, advanceSaga, SagaWorker, startProjector).
 */
export class Rewind {
  readonly sql: SqlClient;
  readonly store: EventStore;
  readonly registry: SagaRegistry;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly logger: Logger;

  constructor(options: RewindOptions) {
    this.sql = options.sql;
    this.store = options.store ?? createPostgresEventStore({ sql: options.sql });
    this.registry = new SagaRegistry(options.sagas);
    this.clock = options.clock ?? systemClock;
    this.ids = options.ids ?? uuidGenerator;
    this.logger = options.logger ?? createSilentLogger();
  }

  /** Starts a saga; see {@link startSaga}. A refused input writes nothing. */
  start<Input>(
    definition: SagaDefinition<Input>,
    input: unknown,
    options: StartSagaOptions,
  ): Promise<E.Either<StartSagaFailure, { readonly sagaId: SagaId }>> {
    return startSaga(this, definition, input, options);
  }

  /** Every event of one saga, in order. */
  history(sagaId: SagaId): Promise<E.Either<ReadFailure, readonly RecordedEvent[]>> {
    return this.store.readStream(sagaStreamName(sagaId));
  }

  /** A saga's state after its first `upTo` events (default: all of them). */
  async state(
    sagaId: SagaId,
    upTo?: number,
  ): Promise<E.Either<ReadFailure | HistoryFailure, SagaState>> {
    const events = await this.history(sagaId);
    if (E.isLeft(events)) return events;
    return replay(upTo === undefined ? events.right : events.right.slice(0, upTo));
  }

  /** A worker on this engine's queue; call `start()` on it. */
  createWorker(options: Omit<SagaWorkerOptions, 'sql' | 'store' | 'registry'> = {}): SagaWorker {
    return new SagaWorker({
      sql: this.sql,
      store: this.store,
      registry: this.registry,
      clock: this.clock,
      ids: this.ids,
      logger: this.logger,
      ...options,
    });
  }

  /** Runs the job feeder: saga events become jobs until `stop()`. */
  startProjector(options: { readonly pollMs?: number } = {}): RunningProjector {
    const controller = new AbortController();
    const running = startProjector({
      store: this.store,
      sql: this.sql,
      projection: jobFeeder,
      signal: controller.signal,
      logger: this.logger,
      ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
    });
    return {
      stop: async () => {
        controller.abort();
        await running;
      },
    };
  }

  /** Closes the event store (the SQL client is the caller's to close). */
  close(): Promise<void> {
    return this.store.close();
  }
}

/** The event store a configuration names: EventStoreDB, or the Postgres store on `sql`. */
export function openEventStore(config: RewindConfig, sql: SqlClient): EventStore {
  if (config.eventstoreUrl) {
    const client = EventStoreDBClient.connectionString(config.eventstoreUrl);
    return createEventStoreDbEventStore({ client });
  }
  return createPostgresEventStore({ sql });
}

/** Opens the database a configuration names: Postgres, or the embedded PGlite in `dataDir`. */
export async function openDatabase(config: RewindConfig, logger?: Logger): Promise<SqlClient> {
  if (config.databaseUrl) {
    // The LISTEN connection's health ("notify degraded" / "restored") goes to this logger.
    return createPgSqlClient({
      connectionString: config.databaseUrl,
      ...(logger ? { logger } : {}),
    });
  }
  return createPgliteSqlClient({ dataDir: embeddedDatabaseDir(config) });
}

/**
 * Opens the database and applies pending migrations: what the embedded default does on every
 * start, and what `rewind migrate` does on Postgres.
 */
export async function openMigratedDatabase(
  config: RewindConfig,
  logger?: Logger,
): Promise<SqlClient> {
  const sql = await openDatabase(config, logger);
  await migrate(sql);
  return sql;
}
