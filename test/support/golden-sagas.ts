import * as t from 'io-ts';

import { type AnySagaDefinition, defineSaga } from '../../src/core/definition.js';

/**
 * The small sagas whose recorded histories are kept under test/fixtures/histories/ as golden
 * fixtures: one per behaviour (success, retry, compensation, halt and resume, child saga,
 * cancel). Their steps do nothing outside the saga, so replaying needs no shop. Changing their
 * shape changes their hash and makes the fixtures diverge: add a new version instead.
 */

const Input = t.type({ id: t.string });

/** Three steps in a row, each with an undo; all succeed. */
export const goldenSuccessSaga = defineSaga({
  name: 'golden-success',
  version: 1,
  input: Input,
  steps: (step) => {
    const reserve = step('reserve', {
      run: async ({ input }) => ({ reservation: `r-${input.id}` }),
      compensate: async () => {},
    });
    const charge = step('charge', {
      after: [reserve],
      run: async ({ input }) => ({ payment: `p-${input.id}`, cents: 1250 }),
      compensate: async () => {},
    });
    const ship = step('ship', {
      after: [charge],
      run: async ({ input }) => ({ parcel: `s-${input.id}` }),
    });
    return [reserve, charge, ship];
  },
});

/** Counts the calls of the retry saga's flaky step, so it fails twice and then succeeds. */
const flakyCalls = new Map<string, number>();

/** A step that fails twice with a transient error, then succeeds on its third attempt. */
export const goldenRetrySaga = defineSaga({
  name: 'golden-retry',
  version: 1,
  input: Input,
  steps: (step) => [
    step('call', {
      retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 20 },
      run: async ({ input }) => {
        const calls = (flakyCalls.get(input.id) ?? 0) + 1;
        flakyCalls.set(input.id, calls);
        if (calls < 3) throw new Error('connection reset');
        return { calls };
      },
    }),
  ],
});

/** The last step is declined for good: the two before it are undone, newest first. */
export const goldenCompensationSaga = defineSaga({
  name: 'golden-compensation',
  version: 1,
  input: Input,
  steps: (step) => {
    const reserve = step('reserve', {
      run: async ({ input }) => ({ reservation: `r-${input.id}` }),
      compensate: async () => {},
    });
    const charge = step('charge', {
      after: [reserve],
      run: async ({ input }) => ({ payment: `p-${input.id}` }),
      compensate: async () => {},
    });
    const ship = step('ship', {
      after: [charge],
      run: async () => {
        throw Object.assign(new Error('country not served'), { retryable: false });
      },
    });
    return [reserve, charge, ship];
  },
});

/** A step halts for an approval; the resume payload becomes its output and the saga goes on. */
export const goldenHaltSaga = defineSaga({
  name: 'golden-halt',
  version: 1,
  input: Input,
  steps: (step) => {
    const prepare = step('prepare', { run: async ({ input }) => ({ draft: `d-${input.id}` }) });
    const approve = step('approve', {
      after: [prepare],
      run: async (_args, ctx) => ctx.halt('waiting for approval'),
    });
    const publish = step('publish', {
      after: [approve],
      run: async ({ results }) => ({ published: results.get(approve) }),
    });
    return [prepare, approve, publish];
  },
});

/** The child saga of {@link goldenParentSaga}. */
export const goldenChildSaga = defineSaga({
  name: 'golden-child',
  version: 1,
  input: t.type({ parentId: t.string }),
  steps: (step) => [step('pack', { run: async ({ input }) => ({ box: `b-${input.parentId}` }) })],
});

/** Starts a child saga in its middle step and waits for it to end. */
export const goldenParentSaga = defineSaga({
  name: 'golden-parent',
  version: 1,
  input: Input,
  steps: (step) => {
    const order = step('order', { run: async ({ input }) => ({ order: `o-${input.id}` }) });
    const pack = step.child('pack', {
      after: [order],
      saga: goldenChildSaga,
      input: ({ input }) => ({ parentId: input.id }),
    });
    const notify = step('notify', {
      after: [pack],
      run: async ({ results }) => ({ packed: results.get(pack) }),
    });
    return [order, pack, notify];
  },
});

/** A step halts; an operator cancels instead of resuming, and the first step is undone. */
export const goldenCancelSaga = defineSaga({
  name: 'golden-cancel',
  version: 1,
  input: Input,
  steps: (step) => {
    const hold = step('hold', {
      run: async ({ input }) => ({ hold: `h-${input.id}` }),
      compensate: async () => {},
    });
    const wait = step('wait', {
      after: [hold],
      run: async (_args, ctx) => ctx.halt('waiting for the customer'),
    });
    return [hold, wait];
  },
});

/** Every golden saga, for a registry. */
export const goldenSagas: readonly AnySagaDefinition[] = [
  goldenSuccessSaga,
  goldenRetrySaga,
  goldenCompensationSaga,
  goldenHaltSaga,
  goldenChildSaga,
  goldenParentSaga,
  goldenCancelSaga,
];
