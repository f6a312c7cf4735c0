import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ADMIN_ROLE, tenantPolicy } from '../../src/audit/authorization.js';
import { defineSaga } from '../../src/core/definition.js';
import type { SagaId } from '../../src/core/ids.js';
import { systemClock } from '../../src/ports/clock.js';
import type { EventStore } from '../../src/ports/event-store.js';
import { uuidGenerator } from '../../src/ports/ids.js';
import { AuthorizedRewind } from '../../src/runtime/authorized-rewind.js';
import { requestCancel } from '../../src/runtime/operator-commands.js';
import { Rewind } from '../../src/runtime/rewind.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

const saga = defineSaga({
  name: 'ticket',
  version: 1,
  input: t.type({ seat: t.string }),
  steps: (step) => [step('book', { run: async () => ({ ok: true }), compensate: async () => {} })],
});

let db: TestDatabase;
let rewind: Rewind;
let acmeSaga: SagaId;
const alice = { id: 'alice', tenant: 'acme' };
const gus = { id: 'gus', tenant: 'globex' };

beforeAll(async () => {
  db = await createTestDatabase();
  rewind = new Rewind({ sql: db.sql, sagas: [saga] });
  const started = await new AuthorizedRewind(rewind, alice).start(saga, { seat: '12A' });
  if (E.isLeft(started)) throw new Error(started.left._tag);
  acmeSaga = started.right.sagaId;
});
afterAll(async () => {
  await db.drop();
});

describe('AuthorizedRewind', () => {
  it("reads its own tenant's saga", async () => {
    const history = await new AuthorizedRewind(rewind, { id: 'olga', tenant: 'acme' }).history(
      acmeSaga,
    );
    expect(E.isRight(history) && history.right.map((e) => e.event.type)).toEqual(['SagaStarted']);
  });

  it("neither reads nor steers another tenant's saga, and writes nothing", async () => {
    const asGus = new AuthorizedRewind(rewind, gus);
    const history = await asGus.history(acmeSaga);
    expect(E.isLeft(history) && history.left).toMatchObject({
      _tag: 'AuthorizationFailure',
      operation: 'read',
      reason: 'actor gus (tenant globex) may not read sagas of tenant acme',
    });
    const state = await asGus.state(acmeSaga);
    expect(E.isLeft(state) && state.left._tag).toBe('AuthorizationFailure');
    for (const refused of [
      await asGus.cancel(acmeSaga, 'mine now'),
      await asGus.undo(acmeSaga, 'mine now'),
      await asGus.resume(acmeSaga, null),
    ]) {
      expect(E.isLeft(refused) && refused.left._tag).toBe('AuthorizationFailure');
    }
    const events = await rewind.history(acmeSaga);
    expect(E.isRight(events) && events.right).toHaveLength(1);
  });

  it('lets an admin act for any tenant', async () => {
    const admin = new AuthorizedRewind(rewind, { id: 'root', roles: [ADMIN_ROLE] });
    expect(E.isRight(await admin.history(acmeSaga))).toBe(true);
  });

  it('refuses to start a saga for another tenant under a custom policy', async () => {
    const onlyAcme = new AuthorizedRewind(rewind, gus, (request) =>
      request.operation === 'start' && request.actor.tenant !== 'acme'
        ? E.left({
            _tag: 'AuthorizationFailure',
            operation: 'start',
            actorId: request.actor.id,
            sagaId: request.target.sagaId,
            reason: 'only acme books seats',
          })
        : tenantPolicy(request),
    );
    const started = await onlyAcme.start(saga, { seat: '1C' });
    expect(E.isLeft(started) && started.left._tag).toBe('AuthorizationFailure');
  });
});

describe('operator commands', () => {
  it('tries again at the new revision when a worker appended meanwhile', async () => {
    let conflicts = 1;
    const racing: EventStore = {
      ...rewind.store,
      appendToStream: async (stream, events, expected) => {
        if (conflicts-- > 0) {
          return E.left({
            _tag: 'VersionConflictFailure',
            streamName: stream,
            expected,
            actual: 1n,
          });
        }
        return rewind.store.appendToStream(stream, events, expected);
      },
    };
    const deps = { store: racing, clock: systemClock, ids: uuidGenerator };
    const cancelled = await requestCancel(deps, acmeSaga, {
      actor: alice,
      reason: 'changed plans',
    });
    expect(E.isRight(cancelled) && cancelled.right).toMatchObject({ revision: 1n, tries: 2 });
    const again = await requestCancel(deps, acmeSaga, { actor: alice, reason: 'twice' });
    expect(E.isLeft(again) && again.left).toMatchObject({
      _tag: 'CommandNotApplicableFailure',
      reason: 'a cancel was requested already',
    });
  });
});
