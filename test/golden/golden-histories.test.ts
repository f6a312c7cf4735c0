import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { defineSaga } from '../../src/core/definition.js';
import type { RecordedEvent } from '../../src/core/events.js';
import { replay } from '../../src/core/evolve.js';
import { SagaRegistry } from '../../src/runtime/saga-registry.js';
import {
  replaysIdentically,
  verifyHistory,
  verifyHistoryWith,
} from '../../src/runtime/verify-history.js';
import { goldenCompensationSaga, goldenSagas } from '../support/golden-sagas.js';
import {
  readExpectedState,
  readHistoryFixture,
  summarizeState,
} from '../support/history-fixtures.js';
import { expectLeft, expectRight } from '../support/jobs.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'histories');
const names = readdirSync(FIXTURES)
  .filter((file) => file.endsWith('.ndjson'))
  .map((file) => file.replace(/\.ndjson$/, ''));
const registry = new SagaRegistry(goldenSagas);

function renumber(events: readonly RecordedEvent[]): RecordedEvent[] {
  return events.map((recorded, index) => ({ ...recorded, revision: BigInt(index) }));
}

describe('golden histories', () => {
  it('keeps the six recorded behaviours', () => {
    for (const name of ['success', 'retry', 'compensation', 'halt-resume', 'sub-saga', 'cancel']) {
      expect(names).toContain(name);
    }
  });

  for (const name of names) {
    describe(name, () => {
      const events = readHistoryFixture(join(FIXTURES, `${name}.ndjson`));

      it('decodes and folds to the recorded final state', () => {
        const state = expectRight(replay(events));
        expect(summarizeState(state)).toEqual(
          readExpectedState(join(FIXTURES, `${name}.expected.json`)),
        );
        expect(replaysIdentically(events)).toBe(true);
      });

      it('passes verify against the registered definitions', () => {
        const verified = expectRight(verifyHistory(registry, events));
        expect(verified.decisions).toBeGreaterThan(0);
      });
    });
  }
});

describe('verify', () => {
  const compensation = readHistoryFixture(join(FIXTURES, 'compensation.ndjson'));

  it('names the first event whose decision differs: undos in the wrong order', () => {
    const types = compensation.map((recorded) => recorded.event.type);
    const first = types.indexOf('StepCompensated');
    const swapped = [...compensation];
    const [charge, reserve] = [swapped[first], swapped[first + 1]];
    if (!charge || !reserve) throw new Error('fixture lacks two undos');
    swapped[first] = reserve;
    swapped[first + 1] = charge;
    const divergence = expectLeft(verifyHistory(registry, renumber(swapped)));
    expect(divergence).toMatchObject({ revision: BigInt(first), eventType: 'StepCompensated' });
    expect(divergence.detail).toContain('expected undo charge');
  });

  it('names the first event whose decision differs: a step started before its dependency', () => {
    const edited = compensation.filter(
      (recorded, index) => !(index === 2 && recorded.event.type === 'StepCompleted'),
    );
    const divergence = expectLeft(verifyHistoryWith(goldenCompensationSaga, renumber(edited)));
    expect(divergence.revision).toBe(2n);
    expect(divergence.eventType).toBe('StepStarted');
  });

  it('reports a changed definition at revision 0', () => {
    const changed = defineSaga({
      ...goldenCompensationSaga,
      steps: (step) => [step('reserve', { run: async () => null })],
    });
    const divergence = expectLeft(verifyHistory(new SagaRegistry([changed]), compensation));
    expect(divergence.revision).toBe(0n);
    expect(divergence.detail).toContain('changed without a new version');
  });
});
