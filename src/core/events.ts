import * as t from 'io-ts';

import { type EventId, SagaId, type StreamName } from './ids.js';
import { type Json, SagaValue } from './values.js';

/**
 * The saga events and their metadata, each defined once as an io-ts codec; the TypeScript
 * types are derived from the codecs. Every read decodes; see `decodeRecordedEvent`.
 */

/** Who caused an event: a user, a service or an operator, and the tenant they act for. */
export const Actor = t.intersection(
  [t.type({ id: t.string }), t.partial({ tenant: t.string, roles: t.readonlyArray(t.string) })],
  'Actor',
);
export type Actor = t.TypeOf<typeof Actor>;

/** An actor as plain JSON (job args), without the optional fields it does not have. */
export function actorToJson(actor: Actor): Json {
  return {
    id: actor.id,
    ...(actor.tenant === undefined ? {} : { tenant: actor.tenant }),
    ...(actor.roles === undefined ? {} : { roles: actor.roles }),
  };
}

/** An error as it is kept in the history: enough to understand it without the process. */
export const RecordedFailure = t.intersection(
  [t.type({ name: t.string, message: t.string }), t.partial({ stack: t.string, cause: t.string })],
  'RecordedFailure',
);
export type RecordedFailure = t.TypeOf<typeof RecordedFailure>;

/** Who did it, on whose behalf, because of what, and when. Carried by every event. */
export const EventMetadata = t.type(
  {
    actor: Actor,
    /** Shared by every event of one business operation, across sagas and their children. */
    correlationId: t.string,
    /** The event or request that caused this event; null for a client's request. */
    causationId: t.union([t.string, t.null]),
    /** When the engine produced the event (the clock port's time). */
    occurredAt: t.string,
    engineVersion: t.string,
  },
  'EventMetadata',
);
export type EventMetadata = t.TypeOf<typeof EventMetadata>;

const StepName = t.string;
const Attempt = t.number;

function event<Type extends string, Data extends t.Mixed>(type: Type, data: Data) {
  return t.type({ type: t.literal(type), data }, type);
}

/** The saga and step that started a child saga. */
export const ParentRef = t.type({ sagaId: SagaId, step: StepName }, 'ParentRef');
export type ParentRef = t.TypeOf<typeof ParentRef>;

/**
 * Present on the terminal events of a child saga, so the projection can wake its parent.
 * Exact, so that in an intersection it passes no other field through: io-ts 2.2 merges the
 * encodings of an intersection by `!==`, and a NaN passed through unencoded would win over its
 * encoding (found by the round-trip property test).
 */
const ParentLink = t.exact(t.partial({ parent: ParentRef }));

/**
 * A client (or a parent saga's step) started the saga. The definition's name, version and
 * shape hash pin its code.
 */
export const SagaStarted = event(
  'SagaStarted',
  t.intersection([
    t.type({
      sagaId: SagaId,
      saga: t.string,
      version: t.number,
      definitionHash: t.string,
      input: SagaValue,
    }),
    ParentLink,
  ]),
);

/** A worker is about to run a step. The idempotency key is the same for every attempt. */
export const StepStarted = event(
  'StepStarted',
  t.type({ step: StepName, attempt: Attempt, idempotencyKey: t.string }),
);

/** The step returned; its output is recorded and later passed to dependents and undo. */
export const StepCompleted = event(
  'StepCompleted',
  t.type({ step: StepName, attempt: Attempt, output: SagaValue }),
);

/** The step threw, timed out, or its worker died (`StepInDoubtFailure`). */
export const StepFailed = event(
  'StepFailed',
  t.type({ step: StepName, attempt: Attempt, failure: RecordedFailure, retryable: t.boolean }),
);

/** Another attempt of the step is due at `dueAt`; the projection schedules a job for then. */
export const StepRetryScheduled = event(
  'StepRetryScheduled',
  t.type({ step: StepName, attempt: Attempt, dueAt: t.string }),
);

/** The step failed, and its `recover` turned the failure into an output: the saga goes on. */
export const StepRecovered = event(
  'StepRecovered',
  t.type({ step: StepName, attempt: Attempt, failure: RecordedFailure, output: SagaValue }),
);

/**
 * The attempt was stopped before it finished (shutdown, or a cancel) and handed back: it is not
 * a failure of the step and does not use up an attempt (BC-25).
 */
export const StepInterrupted = event(
  'StepInterrupted',
  t.type({ step: StepName, attempt: Attempt, reason: t.string }),
);

/** The step asked the saga to halt until a resume command arrives (an approval, say). */
export const SagaHalted = event(
  'SagaHalted',
  t.type({ step: StepName, attempt: Attempt, reason: t.string }),
);

/** The step started a child saga and waits for it to end. */
export const ChildSagaStarted = event(
  'ChildSagaStarted',
  t.type({ step: StepName, attempt: Attempt, childSagaId: SagaId, saga: t.string }),
);

/** A branch not taken: the step will not run and is never compensated. */
export const StepSkipped = event('StepSkipped', t.type({ step: StepName, reason: t.string }));

/** The saga will roll back: `step` failed for good with `failure`, or an operator cancelled. */
export const CompensationStarted = event(
  'CompensationStarted',
  t.type({ step: t.union([StepName, t.null]), failure: RecordedFailure }),
);

/** One step's effect was undone. */
export const StepCompensated = event('StepCompensated', t.type({ step: StepName }));

/** A try of a step's undo failed; the next try is due at `dueAt` (the undo's retry policy). */
export const StepCompensationRetryScheduled = event(
  'StepCompensationRetryScheduled',
  t.type({ step: StepName, attempt: Attempt, failure: RecordedFailure, dueAt: t.string }),
);

/** A step's undo failed for good; the saga will end SagaFailed and needs an operator. */
export const StepCompensationFailed = event(
  'StepCompensationFailed',
  t.type({ step: StepName, failure: RecordedFailure }),
);

/** Terminal: every step took effect. */
export const SagaCompleted = event('SagaCompleted', ParentLink);

/** Terminal: the saga was rolled back; every completed step was undone. */
export const SagaCompensated = event('SagaCompensated', ParentLink);

/** Terminal: stuck, an undo failed for good. The original failure is kept beside it. */
export const SagaFailed = event(
  'SagaFailed',
  t.intersection([
    t.type({ failure: RecordedFailure, cause: t.union([RecordedFailure, t.null]) }),
    ParentLink,
  ]),
);

/** An operator asked to cancel the saga. */
export const SagaCancelRequested = event('SagaCancelRequested', t.type({ reason: t.string }));

/** An operator asked to resume a halted saga; the payload becomes the halted step's output. */
export const SagaResumeRequested = event('SagaResumeRequested', t.type({ payload: SagaValue }));

/** An operator (or a parent's rollback) asked to undo a completed saga: every step compensated. */
export const SagaUndoRequested = event('SagaUndoRequested', t.type({ reason: t.string }));

/**
 * An operator fixed what made an undo fail for good and asks the stuck (SagaFailed) saga to try
 * its rollback again: the failed undos run anew, then the rest of the rollback.
 */
export const SagaRetryRequested = event('SagaRetryRequested', t.type({ reason: t.string }));

/** Any saga event, as `{ type, data }`. */
export const SagaEvent = t.union(
  [
    SagaStarted,
    StepStarted,
    StepCompleted,
    StepFailed,
    StepRetryScheduled,
    StepRecovered,
    StepInterrupted,
    SagaHalted,
    ChildSagaStarted,
    StepSkipped,
    CompensationStarted,
    StepCompensated,
    StepCompensationRetryScheduled,
    StepCompensationFailed,
    SagaCompleted,
    SagaCompensated,
    SagaFailed,
    SagaCancelRequested,
    SagaResumeRequested,
    SagaUndoRequested,
    SagaRetryRequested,
  ],
  'SagaEvent',
);
export type SagaEvent = t.TypeOf<typeof SagaEvent>;
export type SagaEventType = SagaEvent['type'];

/** The event of a given type. */
export type SagaEventOf<Type extends SagaEventType> = Extract<SagaEvent, { type: Type }>;

/** The events that end a saga. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<SagaEventType> = new Set([
  'SagaCompleted',
  'SagaCompensated',
  'SagaFailed',
]);

/** An event about to be appended: an id (for idempotent retries), the event and its metadata. */
export interface NewEvent {
  readonly eventId: EventId;
  readonly event: SagaEvent;
  readonly metadata: EventMetadata;
}

/** A bigint as the drivers return it: a bigint, an integral number or a decimal string. */
export const BigIntFromStored = new t.Type<bigint, string, unknown>(
  'BigIntFromStored',
  (u): u is bigint => typeof u === 'bigint',
  (u, context) => {
    if (typeof u === 'bigint') return t.success(u);
    if (typeof u === 'number' && Number.isSafeInteger(u)) return t.success(BigInt(u));
    if (typeof u === 'string' && /^-?\d+$/.test(u)) return t.success(BigInt(u));
    return t.failure(u, context, 'expected an integer');
  },
  (value) => value.toString(),
);

/** An event at its place in its stream: what folding a saga's state needs. */
export interface StreamEvent extends NewEvent {
  /** Its number in its stream, from 0. */
  readonly revision: bigint;
}

/** An event as read back from a store. Revisions and positions are bigints end to end. */
export interface RecordedEvent extends StreamEvent {
  readonly streamName: StreamName;
  /** Its number in its stream, from 0. */
  readonly revision: bigint;
  /** Its place in the store's global order, increasing but not necessarily contiguous. */
  readonly position: bigint;
  /** When the store wrote it. */
  readonly recordedAt: Date;
}
