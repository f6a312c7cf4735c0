import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as E from 'fp-ts/lib/Either.js';
import pg from 'pg';

import { createOrderSaga } from '../../examples/order-fulfilment/saga.js';
import { Shop } from '../../examples/order-fulfilment/shop.js';
import { createPostgresEventStore } from '../../src/adapters/postgres/postgres-event-store.js';
import type { CommandIo, CommandResult } from '../../src/cli/run-command.js';
import type { Actor, SagaEvent } from '../../src/core/events.js';
import { EventId, SagaId, sagaStreamName } from '../../src/core/ids.js';
import { createSilentLogger } from '../../src/ports/logger.js';
import type { SqlClient } from '../../src/ports/sql.js';
import type { RewindConfig } from '../../src/runtime/config.js';
import { openMigratedDatabase } from '../../src/runtime/rewind.js';

/**
 * A database for CLI commands, which open it themselves from a configuration: a PGlite folder of
 * its own, or a schema of its own on the Postgres of `DATABASE_URL` (through the URL's
 * `options`, so every connection the command opens lands in it).
 */
export interface CliDatabase {
  readonly config: RewindConfig;
  /** Opens the database as a command would; close it yourself. */
  readonly open: () => Promise<SqlClient>;
  readonly drop: () => Promise<void>;
}

/** Creates a fresh database for CLI tests. */
export async function createCliDatabase(): Promise<CliDatabase> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const dataDir = mkdtempSync(join(tmpdir(), 'rewind-cli-'));
    const config = { dataDir };
    return {
      config,
      open: () => openMigratedDatabase(config),
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const schema = `rewind_cli_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const separator = url.includes('?') ? '&' : '?';
  const config = {
    dataDir: '.rewind',
    databaseUrl: `${url}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
  };
  return {
    config,
    open: () => openMigratedDatabase(config),
    drop: async () => {
      const cleanup = new pg.Client({ connectionString: url });
      await cleanup.connect();
      await cleanup.query(`DROP SCHEMA ${schema} CASCADE`);
      await cleanup.end();
    },
  };
}

/** What a command printed and returned. */
export interface CliRun {
  readonly result: CommandResult;
  readonly lines: string[];
  /** The refusal's message, or '' on success. */
  readonly error: string;
  readonly exitCode: number;
}

/** Runs a command function with output captured. */
export async function runCli(
  db: CliDatabase,
  command: (io: CommandIo) => Promise<CommandResult>,
): Promise<CliRun> {
  const lines: string[] = [];
  const io: CommandIo = {
    config: db.config,
    out: (line) => lines.push(line),
    logger: createSilentLogger(),
  };
  const result = await command(io);
  return {
    result,
    lines,
    error: E.isLeft(result) ? result.left.message : '',
    exitCode: E.isLeft(result) ? result.left.exitCode : 0,
  };
}

/** The actors of the CLI tests: two of tenant acme, one of globex. */
export const ACME_USER: Actor = { id: 'alice', tenant: 'acme' };
export const ACME_OPERATOR: Actor = { id: 'olga', tenant: 'acme', roles: ['ops'] };
export const GLOBEX_USER: Actor = { id: 'gus', tenant: 'globex' };

/** The input of a valid order. */
export const ORDER = {
  orderId: 'ord-1',
  customerEmail: 'ada@example.net',
  sku: 'MUG-ENAMEL',
  quantity: 2,
  amountCents: 2400,
  cardToken: 'tok_visa_0000000001',
  country: 'FR',
};

const RESERVATION = { reservationId: 7, sku: 'MUG-ENAMEL', quantity: 2, orderId: 'ord-1' };
const PAYMENT = { paymentId: 9, amountCents: 2400, orderId: 'ord-1' };
const SHIP_REFUSED = { name: 'ShipmentRefusedError', message: 'the carrier does not ship to HM' };

/** The shapes of order-saga histories the tests seed. */
export type SeededStory = 'compensated' | 'running' | 'completed';

function storyEvents(story: SeededStory, sagaId: SagaId, hash: string): SagaEvent[] {
  const started: SagaEvent = {
    type: 'SagaStarted',
    data: { sagaId, saga: 'order-fulfilment', version: 1, definitionHash: hash, input: ORDER },
  };
  const reserveAndCharge: SagaEvent[] = [
    {
      type: 'StepStarted',
      data: { step: 'reserve', attempt: 1, idempotencyKey: `${sagaId}:reserve` },
    },
    { type: 'StepCompleted', data: { step: 'reserve', attempt: 1, output: RESERVATION } },
    {
      type: 'StepStarted',
      data: { step: 'charge', attempt: 1, idempotencyKey: `${sagaId}:charge` },
    },
    { type: 'StepCompleted', data: { step: 'charge', attempt: 1, output: PAYMENT } },
  ];
  const shipStarted: SagaEvent = {
    type: 'StepStarted',
    data: { step: 'ship', attempt: 1, idempotencyKey: `${sagaId}:ship` },
  };
  switch (story) {
    case 'running':
      return [started, ...reserveAndCharge];
    case 'completed':
      return [
        started,
        ...reserveAndCharge,
        shipStarted,
        { type: 'StepCompleted', data: { step: 'ship', attempt: 1, output: { shipmentId: 3 } } },
        { type: 'SagaCompleted', data: {} },
      ];
    case 'compensated':
      return [
        started,
        ...reserveAndCharge,
        shipStarted,
        {
          type: 'StepFailed',
          data: { step: 'ship', attempt: 1, failure: SHIP_REFUSED, retryable: false },
        },
        { type: 'CompensationStarted', data: { step: 'ship', failure: SHIP_REFUSED } },
        { type: 'StepCompensated', data: { step: 'charge' } },
        { type: 'StepCompensated', data: { step: 'reserve' } },
        { type: 'SagaCompensated', data: {} },
      ];
  }
}

function newEventId(): EventId {
  const id = randomUUID();
  if (!EventId.is(id)) throw new Error('uuid is empty');
  return id;
}

/**
 * Appends an order-fulfilment saga's history to the store as a worker would have written it,
 * one event per append, started by `actor` at `startedAt`, one second between events.
 */
export async function seedOrderSaga(
  sql: SqlClient,
  story: SeededStory,
  actor: Actor,
  startedAt = '2026-11-01T10:00:00.000Z',
): Promise<SagaId> {
  const sagaId = randomUUID();
  if (!SagaId.is(sagaId)) throw new Error('uuid is empty');
  const { hash } = createOrderSaga(new Shop(sql));
  const store = createPostgresEventStore({ sql });
  const events = storyEvents(story, sagaId, hash);
  for (const [index, event] of events.entries()) {
    const metadata = {
      actor,
      correlationId: sagaId,
      causationId: null,
      occurredAt: new Date(Date.parse(startedAt) + index * 1000).toISOString(),
      engineVersion: 'test',
    };
    const expected = index === 0 ? 'no_stream' : BigInt(index - 1);
    const appended = await store.appendToStream(
      sagaStreamName(sagaId),
      [{ eventId: newEventId(), event, metadata }],
      expected,
    );
    if (E.isLeft(appended)) throw new Error('seed append failed');
  }
  return sagaId;
}
