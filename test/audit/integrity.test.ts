import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createPostgresEventStore } from '../../src/adapters/postgres/postgres-event-store.js';
import { checkStreamIntegrity, describeIntegrityFinding } from '../../src/audit/integrity.js';
import type { SagaEvent } from '../../src/core/events.js';
import type { StreamName } from '../../src/core/ids.js';
import type { EventStore } from '../../src/ports/event-store.js';
import { createNewEvent, createSagaStream } from '../support/new-events.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;
let store: EventStore;
beforeAll(async () => {
  db = await createTestDatabase();
  store = createPostgresEventStore({ sql: db.sql });
});
afterAll(async () => {
  await db.drop();
});

const STEPS: SagaEvent[] = [
  { type: 'StepStarted', data: { step: 'reserve', attempt: 1, idempotencyKey: 'k-reserve' } },
  { type: 'StepCompleted', data: { step: 'reserve', attempt: 1, output: { id: 'r-1', n: 2 } } },
  { type: 'StepStarted', data: { step: 'charge', attempt: 1, idempotencyKey: 'k-charge' } },
  { type: 'StepCompleted', data: { step: 'charge', attempt: 1, output: { cents: 1200 } } },
];

let streamName: StreamName;
beforeEach(async () => {
  const created = createSagaStream();
  streamName = created.streamName;
  const started: SagaEvent = {
    type: 'SagaStarted',
    data: {
      sagaId: created.sagaId,
      saga: 'order',
      version: 1,
      definitionHash: 'h',
      input: { a: 1 },
    },
  };
  // Two appends, so that the chain crosses a batch boundary.
  const first = await store.appendToStream(streamName, [createNewEvent(started)], 'no_stream');
  if (E.isLeft(first)) throw new Error('append failed');
  const rest = await store.appendToStream(streamName, STEPS.map(createNewEvent), 0n);
  if (E.isLeft(rest)) throw new Error('append failed');
});

async function findings() {
  const verdict = await checkStreamIntegrity(db.sql, streamName);
  return verdict.findings.map((finding) => describeIntegrityFinding(streamName, finding));
}

describe('hash chain integrity', () => {
  it('finds nothing wrong with a stream written by the store', async () => {
    const verdict = await checkStreamIntegrity(db.sql, streamName);
    expect(verdict.events).toBe(5);
    expect(verdict.findings).toEqual([]);
    expect(verdict.headHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names an event whose data was edited in place', async () => {
    await db.sql.query(
      `UPDATE rewind_events SET data = jsonb_set(data, '{output,cents}', '1') WHERE stream_name = $1 AND revision = 4`,
      [streamName],
    );
    expect(await findings()).toEqual([
      `${streamName} event 4: content does not match its hash: edited, or moved here`.replace(
        'event 4:',
        `event 4 (${await eventIdAt(4)}):`,
      ),
    ]);
  });

  it('names an edited actor in the metadata', async () => {
    await db.sql.query(
      `UPDATE rewind_events SET metadata = jsonb_set(metadata, '{actor,id}', '"mallory"') WHERE stream_name = $1 AND revision = 1`,
      [streamName],
    );
    const verdict = await checkStreamIntegrity(db.sql, streamName);
    expect(verdict.findings.map((f) => [f._tag, f.revision])).toEqual([['EventEditedFinding', 1n]]);
  });

  it('names the gap where an event was removed', async () => {
    await db.sql.query('DELETE FROM rewind_events WHERE stream_name = $1 AND revision = 2', [
      streamName,
    ]);
    const verdict = await checkStreamIntegrity(db.sql, streamName);
    expect(verdict.findings.map((f) => [f._tag, f.revision])).toEqual([
      ['EventMissingFinding', 2n],
    ]);
  });

  it('names a removal hidden by renumbering the later events', async () => {
    await db.sql.query('DELETE FROM rewind_events WHERE stream_name = $1 AND revision = 2', [
      streamName,
    ]);
    // Through a free range, as the unique key on revisions is checked row by row.
    for (const shift of ['revision + 999', 'revision - 1000']) {
      await db.sql.query(
        `UPDATE rewind_events SET revision = ${shift} WHERE stream_name = $1 AND revision > 2`,
        [streamName],
      );
    }
    // The revision is hashed, so each renumbered event no longer fits its hash.
    const verdict = await checkStreamIntegrity(db.sql, streamName);
    expect(verdict.findings.map((f) => [f._tag, f.revision])).toEqual([
      ['EventEditedFinding', 2n],
      ['EventEditedFinding', 3n],
    ]);
  });

  it('names both events of a reordered pair', async () => {
    for (const [from, to] of [
      [1, 100],
      [2, 1],
      [100, 2],
    ]) {
      await db.sql.query(
        'UPDATE rewind_events SET revision = $3 WHERE stream_name = $1 AND revision = $2',
        [streamName, from, to],
      );
    }
    const verdict = await checkStreamIntegrity(db.sql, streamName);
    expect(verdict.findings.map((f) => [f._tag, f.revision])).toEqual([
      ['EventEditedFinding', 1n],
      ['EventEditedFinding', 2n],
      ['ChainBrokenFinding', 3n],
    ]);
  });
});

async function eventIdAt(revision: number): Promise<string> {
  const result = await db.sql.query(
    'SELECT event_id FROM rewind_events WHERE stream_name = $1 AND revision = $2',
    [streamName, revision],
  );
  return String(result.rows[0]?.event_id);
}
