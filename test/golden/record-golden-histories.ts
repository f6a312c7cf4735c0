/**
 * Records the golden histories under test/fixtures/histories/ from runs of the golden sagas on
 * an in-memory PGlite: `npx tsx test/golden/record-golden-histories.ts`. Run it only to add a
 * fixture; the ones recorded by released versions must stay as they are.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as E from 'fp-ts/lib/Either.js';

import { createPgliteSqlClient } from '../../src/adapters/pglite/pglite-sql-client.js';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import type { AnySagaDefinition } from '../../src/core/definition.js';
import type { RecordedEvent, SagaEvent } from '../../src/core/events.js';
import { replay } from '../../src/core/evolve.js';
import { childSagaIdOf, EventId, type SagaId, sagaStreamName } from '../../src/core/ids.js';
import { Rewind } from '../../src/runtime/rewind.js';
import { TEST_ACTOR } from '../support/engine.js';
import {
  goldenCancelSaga,
  goldenCompensationSaga,
  goldenHaltSaga,
  goldenParentSaga,
  goldenRetrySaga,
  goldenSagas,
  goldenSuccessSaga,
} from '../support/golden-sagas.js';
import { encodeHistoryFixture, writeExpectedState } from '../support/history-fixtures.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'histories');

async function readHistory(rewind: Rewind, sagaId: SagaId): Promise<readonly RecordedEvent[]> {
  const history = await rewind.history(sagaId);
  if (E.isLeft(history)) throw new Error(`history of ${sagaId} does not decode`);
  return history.right;
}

async function waitFor(
  rewind: Rewind,
  sagaId: SagaId,
  done: (events: readonly RecordedEvent[]) => boolean,
): Promise<readonly RecordedEvent[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const events = await readHistory(rewind, sagaId);
    if (done(events)) return events;
    if (Date.now() > deadline) throw new Error(`saga ${sagaId} did not get there in time`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const ended = (events: readonly RecordedEvent[]) =>
  events.some((recorded) =>
    ['SagaCompleted', 'SagaCompensated', 'SagaFailed'].includes(recorded.event.type),
  );
const halted = (events: readonly RecordedEvent[]) =>
  events.some((recorded) => recorded.event.type === 'SagaHalted');

async function start(rewind: Rewind, saga: AnySagaDefinition, id: string): Promise<SagaId> {
  const started = await rewind.start(saga, { id }, { actor: TEST_ACTOR, sagaId: `golden-${id}` });
  if (E.isLeft(started)) throw new Error(started.left._tag);
  return started.right.sagaId;
}

/** Appends an operator's command to a saga at its current revision. */
async function command(rewind: Rewind, sagaId: SagaId, event: SagaEvent): Promise<void> {
  const events = await readHistory(rewind, sagaId);
  const last = events.at(-1);
  if (!last) throw new Error(`saga ${sagaId} has no events`);
  const eventId = EventId.decode(rewind.ids.newId());
  if (E.isLeft(eventId)) throw new Error('bad event id');
  const metadata = {
    actor: { id: 'operator-1', tenant: 'acme', roles: ['ops'] },
    correlationId: last.metadata.correlationId,
    causationId: last.eventId,
    occurredAt: rewind.clock.now().toISOString(),
    engineVersion: last.metadata.engineVersion,
  };
  const appended = await rewind.store.appendToStream(
    sagaStreamName(sagaId),
    [{ eventId: eventId.right, event, metadata }],
    last.revision,
  );
  if (E.isLeft(appended)) throw new Error(`command on ${sagaId} conflicted`);
}

function save(name: string, events: readonly RecordedEvent[]): void {
  writeFileSync(join(FIXTURES, `${name}.ndjson`), encodeHistoryFixture(events));
  const state = replay(events);
  if (E.isLeft(state)) throw new Error(`${name} does not fold: ${state.left.detail}`);
  writeExpectedState(join(FIXTURES, `${name}.expected.json`), state.right);
  process.stdout.write(`${name}: ${events.length} events, ${state.right.status}\n`);
}

async function recordAll(rewind: Rewind): Promise<void> {
  save('success', await waitFor(rewind, await start(rewind, goldenSuccessSaga, 'success'), ended));
  save('retry', await waitFor(rewind, await start(rewind, goldenRetrySaga, 'retry'), ended));
  const compensation = await start(rewind, goldenCompensationSaga, 'compensation');
  save('compensation', await waitFor(rewind, compensation, ended));

  const halt = await start(rewind, goldenHaltSaga, 'halt');
  await waitFor(rewind, halt, halted);
  await command(rewind, halt, {
    type: 'SagaResumeRequested',
    data: { payload: { approved: true, by: 'operator-1' } },
  });
  save('halt-resume', await waitFor(rewind, halt, ended));

  const parent = await start(rewind, goldenParentSaga, 'parent');
  save('sub-saga', await waitFor(rewind, parent, ended));
  save('sub-saga-child', await readHistory(rewind, childSagaIdOf(parent, 'pack')));

  const cancel = await start(rewind, goldenCancelSaga, 'cancel');
  await waitFor(rewind, cancel, halted);
  await command(rewind, cancel, {
    type: 'SagaCancelRequested',
    data: { reason: 'the customer withdrew the order' },
  });
  save('cancel', await waitFor(rewind, cancel, ended));
}

const sql = await createPgliteSqlClient();
await migrate(sql);
const rewind = new Rewind({ sql, sagas: goldenSagas });
const projector = rewind.startProjector({ pollMs: 10 });
const worker = rewind.createWorker({ pollMs: 10, conflictDelayMs: 10 });
worker.start();
try {
  await recordAll(rewind);
} finally {
  await worker.stop();
  await projector.stop();
  await sql.close();
}
