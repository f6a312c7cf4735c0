import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runVerifyCommand } from '../../src/cli/verify-command.js';
import type { AnySagaDefinition } from '../../src/core/definition.js';
import { TERMINAL_EVENT_TYPES } from '../../src/core/events.js';
import { type SagaId, sagaStreamName } from '../../src/core/ids.js';
import { createSilentLogger } from '../../src/ports/logger.js';
import { openMigratedDatabase, Rewind } from '../../src/runtime/rewind.js';
import { TEST_ACTOR } from '../support/engine.js';
import { goldenCompensationSaga, goldenSagas, goldenSuccessSaga } from '../support/golden-sagas.js';
import { expectRight } from '../support/jobs.js';
import { createNewEvent } from '../support/new-events.js';

// The embedded database is one process's at a time: the sagas run, then the command opens it.
const dataDir = mkdtempSync(join(tmpdir(), 'rewind-verify-'));
const SAGAS_MODULE = join(import.meta.dirname, '..', 'support', 'golden-sagas.ts');
let success: SagaId;
let broken: SagaId;

async function runToEnd(rewind: Rewind, saga: AnySagaDefinition, id: string): Promise<SagaId> {
  const sagaId = expectRight(await rewind.start(saga, { id }, { actor: TEST_ACTOR })).sagaId;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const events = expectRight(await rewind.history(sagaId));
    if (events.some((recorded) => TERMINAL_EVENT_TYPES.has(recorded.event.type))) return sagaId;
    if (Date.now() > deadline) throw new Error(`saga ${id} did not end`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  const sql = await openMigratedDatabase({ dataDir });
  const rewind = new Rewind({ sql, sagas: goldenSagas });
  const projector = rewind.startProjector({ pollMs: 10 });
  const worker = rewind.createWorker({ pollMs: 10 });
  worker.start();
  try {
    success = await runToEnd(rewind, goldenSuccessSaga, 'a');
    broken = await runToEnd(rewind, goldenCompensationSaga, 'b');
  } finally {
    await worker.stop();
    await projector.stop();
  }
  // A history edited behind the engine's back: a second undo of a step already undone.
  const history = expectRight(await rewind.history(broken));
  const last = history.at(-1);
  if (!last) throw new Error('no history');
  const extra = createNewEvent({ type: 'StepCompensated', data: { step: 'reserve' } });
  expectRight(await rewind.store.appendToStream(sagaStreamName(broken), [extra], last.revision));
  await sql.close();
}, 30_000);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function verify(options: { saga?: string; sagas?: string }) {
  const lines: string[] = [];
  const io = {
    config: { dataDir },
    out: (line: string) => lines.push(line),
    logger: createSilentLogger(),
  };
  const result = await runVerifyCommand(io, { json: true, ...options });
  return { result, records: lines.map((line): unknown => JSON.parse(line)) };
}

describe('rewind verify', () => {
  it('reports a history that matches its definition', async () => {
    const { result, records } = await verify({ saga: success, sagas: SAGAS_MODULE });
    expect(E.isRight(result)).toBe(true);
    expect(records).toEqual([
      expect.objectContaining({ sagaId: success, saga: 'golden-success', matches: true }),
    ]);
  });

  it('names the first diverging event and exits 1', async () => {
    const { result, records } = await verify({ sagas: SAGAS_MODULE });
    expect(result).toEqual(E.left(expect.objectContaining({ exitCode: 1 })));
    expect(records).toContainEqual(
      expect.objectContaining({ sagaId: broken, matches: false, eventType: 'StepCompensated' }),
    );
    expect(records).toContainEqual(expect.objectContaining({ sagaId: success, matches: true }));
  });

  it('reports a saga whose definition it does not know', async () => {
    const { records } = await verify({ saga: success });
    expect(records).toEqual([
      expect.objectContaining({ matches: false, revision: '0', eventType: 'SagaStarted' }),
    ]);
  });

  it('refuses a --sagas module that cannot be loaded, naming it, with exit code 2', async () => {
    const { result } = await verify({ sagas: join(dataDir, 'missing.ts') });
    expect(result).toEqual(
      E.left({ exitCode: 2, message: expect.stringContaining('verify: --sagas') }),
    );
  });
});
