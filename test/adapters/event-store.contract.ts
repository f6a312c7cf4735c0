import { randomUUID } from 'node:crypto';

import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { EventMetadata, NewEvent, RecordedEvent, SagaEvent } from '../../src/core/events.js';
import { EventId, SagaId, StreamName } from '../../src/core/ids.js';
import type { EventStore, ExpectedRevision } from '../../src/ports/event-store.js';

/** What the contract suite needs from one adapter under test. */
export interface EventStoreHarness {
  readonly store: EventStore;
  /**
   * Opens another store on the same database through connections of its own, as a second worker
   * process would. Absent where the backend has a single connection (PGlite); the tests that
   * need it are then skipped.
   */
  readonly openStore?: () => Promise<EventStore>;
  /**
   * Replaces the JSON at `data.<path…>` of a stored event in place, as a bad hand edit or a
   * broken migration would. Absent where stored events cannot be edited; the test that needs it
   * is then skipped.
   */
  readonly corruptEventData?: (
    streamName: StreamName,
    revision: bigint,
    path: readonly string[],
    json: unknown,
  ) => Promise<void>;
  /**
   * Whether the store can tell a retried append from a first one (`alreadyAppended`). Default:
   * true. EventStoreDB acknowledges both alike; either way nothing may be written twice.
   */
  readonly detectsRetries?: boolean;
  /** Releases everything the harness opened. */
  readonly cleanup: () => Promise<void>;
}

/** Decodes a branded id, so that tests build ids without a cast. */
function brand<Id>(codec: { is: (u: unknown) => u is Id }, value: string): Id {
  if (!codec.is(value)) throw new Error(`not a valid id: ${value}`);
  return value;
}

function newStreamName(): StreamName {
  return brand(StreamName, `saga-${randomUUID()}`);
}

const metadata: EventMetadata = {
  actor: { id: 'user-1', tenant: 'acme', roles: ['clerk'] },
  correlationId: 'correlation-1',
  causationId: null,
  occurredAt: '2026-01-01T00:00:00.000Z',
  engineVersion: 'test',
};

function newEvent(event: SagaEvent): NewEvent {
  return { eventId: brand(EventId, randomUUID()), event, metadata };
}

function stepStarted(step: string, attempt = 1): NewEvent {
  return newEvent({
    type: 'StepStarted',
    data: { step, attempt, idempotencyKey: `${step}:${attempt}` },
  });
}

function stepFailed(step: string): NewEvent {
  return newEvent({
    type: 'StepFailed',
    data: { step, attempt: 1, failure: { name: 'Error', message: 'declined' }, retryable: false },
  });
}

/** The saga input of BC-21: values that plain JSON would change the type of. */
const liveInput = {
  amount: 2n ** 63n - 1n,
  dueAt: new Date(0),
  tags: new Set(['a']),
  meta: new Map<unknown, unknown>([[1, 'x']]),
  maybe: undefined,
  negZero: -0,
};

function sagaStarted(input: unknown): NewEvent {
  return newEvent({
    type: 'SagaStarted',
    data: {
      sagaId: brand(SagaId, randomUUID()),
      saga: 'transfer',
      version: 1,
      definitionHash: 'hash',
      input,
    },
  });
}

function expectRight<Left, Right>(result: E.Either<Left, Right>): Right {
  if (E.isLeft(result)) throw new Error(`expected a Right, got ${String(result.left)}`);
  return result.right;
}

function expectLeft<Left, Right>(result: E.Either<Left, Right>): Left {
  if (E.isRight(result)) throw new Error('expected a Left, got a Right');
  return result.left;
}

/** What was appended, as the store should give it back. */
function asAppended(events: readonly RecordedEvent[]) {
  return events.map(({ eventId, event, metadata }) => ({ eventId, event, metadata }));
}

async function readStreamOrFail(store: EventStore, streamName: StreamName, from?: bigint) {
  return expectRight(await store.readStream(streamName, from));
}

/** Everything `readAll` returns from the start, page by page. */
async function readAllPages(store: EventStore, limit: number): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const after = events.at(-1)?.position ?? -1n;
    const page = expectRight(await store.readAll({ after, limit }));
    expect(page.length).toBeLessThanOrEqual(limit);
    if (page.length === 0) return events;
    events.push(...page);
  }
}

function ofStreams(events: readonly RecordedEvent[], streams: readonly StreamName[]) {
  return events.filter((event) => streams.includes(event.streamName));
}

/**
 * The event store contract: what every adapter of the port must do, run against one adapter
 * given a factory. Each suite opens one harness and keeps its tests apart by stream name; other
 * streams may hold events, so global reads are filtered to the streams a test wrote.
 */
export function describeEventStoreContract(
  name: string,
  createHarness: () => Promise<EventStoreHarness>,
): void {
  describe(`${name}: event store contract`, () => {
    let harness: EventStoreHarness;
    beforeAll(async () => {
      harness = await createHarness();
    });
    afterAll(async () => {
      await harness?.store.close();
      await harness?.cleanup();
    });

    it('reads appended events back at revisions 0..n-1 with rising positions', async () => {
      const { store } = harness;
      const stream = newStreamName();
      const events = [sagaStarted({ orderId: 'o-1' }), stepStarted('reserve'), stepFailed('pay')];

      const appended = expectRight(await store.appendToStream(stream, events, 'no_stream'));
      const read = await readStreamOrFail(store, stream);

      expect(appended).toEqual({ nextExpectedRevision: 2n, alreadyAppended: false });
      expect(asAppended(read)).toStrictEqual(events);
      expect(read.map((event) => event.revision)).toStrictEqual([0n, 1n, 2n]);
      expect(read.map((event) => typeof event.position)).toStrictEqual(Array(3).fill('bigint'));
      const positions = read.map((event) => event.position);
      expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toStrictEqual(positions);
      expect(new Set(positions).size).toBe(3);
      expect(read.every((event) => event.streamName === stream)).toBe(true);
      expect(read.every((event) => event.recordedAt instanceof Date)).toBe(true);
    });

    it('reads a stream from a given revision, and an unknown stream as empty', async () => {
      const { store } = harness;
      const stream = newStreamName();
      const events = [stepStarted('a'), stepStarted('b'), stepStarted('c')];
      expectRight(await store.appendToStream(stream, events, 'no_stream'));

      const tail = await readStreamOrFail(store, stream, 1n);

      expect(asAppended(tail)).toStrictEqual(events.slice(1));
      expect(tail.map((event) => event.revision)).toStrictEqual([1n, 2n]);
      expect(await readStreamOrFail(store, newStreamName())).toStrictEqual([]);
    });

    it('keeps bigints, Dates, Maps, Sets and undefined in saga input (BC-21)', async () => {
      const { store } = harness;
      const stream = newStreamName();
      const started = sagaStarted(liveInput);
      expectRight(await store.appendToStream(stream, [started], 'no_stream'));

      const [read] = await readStreamOrFail(store, stream);

      expect(read?.event).toStrictEqual(started.event);
      if (read?.event.type !== 'SagaStarted') throw new Error('expected SagaStarted');
      const input = read.event.data.input;
      expect(input).toStrictEqual(liveInput);
      expect(input).toHaveProperty('maybe', undefined);
      expect(Object.is(Reflect.get(Object(input), 'negZero'), -0)).toBe(true);
      expect(typeof Reflect.get(Object(input), 'amount')).toBe('bigint');
    });

    it('refuses a wrong expected revision with the actual one and writes nothing', async () => {
      const { store } = harness;
      const stream = newStreamName();
      const events = [stepStarted('a'), stepStarted('b')];
      expectRight(await store.appendToStream(stream, events, 'no_stream'));
      const intruder = stepStarted('c');

      const expectations: readonly ExpectedRevision[] = ['no_stream', 0n, 5n];
      for (const expected of expectations) {
        const failure = expectLeft(await store.appendToStream(stream, [intruder], expected));
        expect(failure).toStrictEqual({
          _tag: 'VersionConflictFailure',
          streamName: stream,
          expected,
          actual: 1n,
        });
      }
      const missing = newStreamName();
      const onMissing = expectLeft(await store.appendToStream(missing, [intruder], 0n));

      expect(onMissing).toStrictEqual({
        _tag: 'VersionConflictFailure',
        streamName: missing,
        expected: 0n,
        actual: 'no_stream',
      });
      expect(asAppended(await readStreamOrFail(store, stream))).toStrictEqual(events);
      expect(await readStreamOrFail(store, missing)).toStrictEqual([]);
    });

    it('lets exactly one of ten concurrent appends at one revision win (BC-15)', async () => {
      await expectOneWinner(harness.store, () => Promise.resolve(harness.store));
    });

    it('lets exactly one of ten concurrent appends win across connections (BC-15)', async ({
      skip,
    }) => {
      const { openStore } = harness;
      if (!openStore) return skip('the backend has a single connection');
      await expectOneWinner(harness.store, openStore);
    });

    it('reports a retried append as already appended and writes once (BC-14)', async () => {
      const { store } = harness;
      const stream = newStreamName();
      const single = [stepStarted('a')];
      const batch = [stepStarted('b'), stepStarted('c'), stepStarted('d')];
      expectRight(await store.appendToStream(stream, single, 'no_stream'));
      expectRight(await store.appendToStream(stream, batch, 0n));
      expectRight(await store.appendToStream(stream, [stepStarted('e')], 3n));

      const singleRetry = await store.appendToStream(stream, single, 'no_stream');
      const batchRetry = await store.appendToStream(stream, batch, 0n);
      const reordered = await store.appendToStream(stream, [...batch].reverse(), 0n);
      const prefix = await store.appendToStream(stream, [...batch, stepStarted('f')], 0n);

      const alreadyAppended = harness.detectsRetries ?? true;
      expect(expectRight(singleRetry)).toEqual({ nextExpectedRevision: 0n, alreadyAppended });
      expect(expectRight(batchRetry)).toEqual({ nextExpectedRevision: 3n, alreadyAppended });
      expect(expectLeft(reordered)).toMatchObject({ _tag: 'VersionConflictFailure', actual: 4n });
      expect(expectLeft(prefix)).toMatchObject({ _tag: 'VersionConflictFailure', actual: 4n });
      const read = await readStreamOrFail(store, stream);
      expect(read.map((event) => event.revision)).toStrictEqual([0n, 1n, 2n, 3n, 4n]);
      expect(asAppended(read).slice(0, 4)).toStrictEqual([...single, ...batch]);
    });

    it('names the stream, revision and field of an undecodable stored event', async ({ skip }) => {
      if (!harness.corruptEventData) return skip('the backend cannot edit stored events');
      // A harness of its own: the corrupt event would break every later global read.
      const own = await createHarness();
      try {
        await expectDecodeFailure(own);
      } finally {
        await own.store.close();
        await own.cleanup();
      }
    });

    it('reads all events in position order and pages with after and limit', async () => {
      const { store } = harness;
      const streams = [newStreamName(), newStreamName()];
      const [first, second] = streams;
      if (!first || !second) throw new Error('two streams expected');
      const appended = [
        { stream: first, events: [stepStarted('a'), stepStarted('b')], expected: 'no_stream' },
        { stream: second, events: [stepStarted('c')], expected: 'no_stream' },
        { stream: first, events: [stepStarted('d'), stepStarted('e')], expected: 1n },
      ] as const;
      for (const { stream, events, expected } of appended) {
        expectRight(await store.appendToStream(stream, events, expected));
      }
      const ids = appended.flatMap(({ events }) => events.map((event) => event.eventId));

      // A store may hold events back for a while: Postgres does while an older transaction is open.
      await vi.waitFor(async () => {
        const all = ofStreams(expectRight(await store.readAll()), streams);
        expect(all.map((event) => event.eventId)).toStrictEqual(ids);
      });
      const all = expectRight(await store.readAll());
      const paged = await readAllPages(store, 2);
      const afterFirstTwo = expectRight(await store.readAll({ after: all[1]?.position, limit: 1 }));

      const positions = all.map((event) => event.position);
      expect(positions.every((position, i) => i === 0 || (positions[i - 1] ?? 0n) < position)).toBe(
        true,
      );
      expect(paged.map((event) => event.eventId)).toStrictEqual(all.map((e) => e.eventId));
      expect(afterFirstTwo.map((event) => event.eventId)).toStrictEqual([all[2]?.eventId]);
      expect(ofStreams(all, [first]).map((event) => event.revision)).toStrictEqual([
        0n,
        1n,
        2n,
        3n,
      ]);
    });
  });
}

/** Ten appends race at `no_stream`, each through a store from `openStore`. */
async function expectOneWinner(store: EventStore, openStore: () => Promise<EventStore>) {
  const stream = newStreamName();
  const stores = await Promise.all(Array.from({ length: 10 }, () => openStore()));
  const batches = stores.map((_, i) => [stepStarted(`reserve-${i}`), stepStarted(`pay-${i}`)]);

  const results = await Promise.all(
    stores.map((racer, i) => racer.appendToStream(stream, batches[i] ?? [], 'no_stream')),
  );

  const winners = results.flatMap((result, i) => (E.isRight(result) ? [batches[i]] : []));
  const failures = results.flatMap((result) => (E.isLeft(result) ? [result.left] : []));
  expect(winners).toHaveLength(1);
  expect(failures).toHaveLength(9);
  for (const failure of failures) {
    expect(failure).toStrictEqual({
      _tag: 'VersionConflictFailure',
      streamName: stream,
      expected: 'no_stream',
      actual: 1n,
    });
  }
  const read = await readStreamOrFail(store, stream);
  expect(asAppended(read)).toStrictEqual(winners[0]);
  expect(read.map((event) => event.revision)).toStrictEqual([0n, 1n]);
}

async function expectDecodeFailure({ store, corruptEventData }: EventStoreHarness) {
  if (!corruptEventData) throw new Error('the harness cannot edit stored events');
  const broken = newStreamName();
  const healthy = newStreamName();
  expectRight(await store.appendToStream(broken, [stepStarted('a'), stepFailed('b')], 'no_stream'));
  expectRight(await store.appendToStream(healthy, [stepStarted('c')], 'no_stream'));

  await corruptEventData(broken, 1n, ['failure', 'message'], 42);

  expect(expectLeft(await store.readStream(broken))).toStrictEqual({
    _tag: 'EventDecodeFailure',
    streamName: broken,
    revision: 1n,
    path: 'data.failure.message',
    message: 'expected string, got 42',
  });
  // A store may hold events back for a while: Postgres does while an older transaction is open.
  await vi.waitFor(async () => {
    expect(expectLeft(await store.readAll())).toMatchObject({ streamName: broken, revision: 1n });
  });
  expect(await readStreamOrFail(store, healthy)).toHaveLength(1);
}
