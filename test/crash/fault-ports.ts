import * as E from 'fp-ts/lib/Either.js';

import { type SagaEventType, TERMINAL_EVENT_TYPES } from '../../src/core/events.js';
import { sagaIdOfStream } from '../../src/core/ids.js';
import type { EventStore } from '../../src/ports/event-store.js';
import type { SqlClient, SqlExecutor } from '../../src/ports/sql.js';
import type { CrashHooks, CrashWindow } from './crash-sagas.js';

/**
 * Fault injection through the ports: an event store and a SQL client that open a crash window
 * at the moments the harness kills workers in, and otherwise behave as the real ones.
 */

/** The window after an append (the runner may write a result and the next decision together). */
function windowAfterAppend(types: readonly SagaEventType[]): CrashWindow {
  if (types.some((type) => TERMINAL_EVENT_TYPES.has(type))) return 'append:terminal';
  if (types.includes('StepCompleted')) return 'append:StepCompleted';
  return 'append:other';
}

/**
 * The store, opening a window after every append that went through: after StepCompleted (the
 * job is not done yet), after a terminal event (the job is not completed yet), after others.
 */
export function createWindowedEventStore(store: EventStore, hooks: CrashHooks): EventStore {
  return {
    appendToStream: async (streamName, events, expected) => {
      const appended = await store.appendToStream(streamName, events, expected);
      if (E.isRight(appended)) {
        const types = events.map(({ event }) => event.type);
        const window = windowAfterAppend(types);
        await hooks.window(window, sagaIdOfStream(streamName) ?? '', types.join(','));
      }
      return appended;
    },
    readStream: (streamName, fromRevision) => store.readStream(streamName, fromRevision),
    readAll: (options) => store.readAll(options),
    close: () => store.close(),
  };
}

const JOB_INSERT = /INSERT INTO rewind_jobs/i;

function windowedExecutor(tx: SqlExecutor, hooks: CrashHooks): SqlExecutor {
  return {
    query: async (text, params) => {
      const result = await tx.query(text, params);
      // Jobs written, checkpoint not committed yet: the projection's transaction is open.
      if (JOB_INSERT.test(text)) await hooks.window('projection:tx', '', '');
      return result;
    },
    exec: (script) => tx.exec(script),
  };
}

/** The SQL client, opening a window inside every transaction that inserts jobs. */
export function createWindowedSqlClient(sql: SqlClient, hooks: CrashHooks): SqlClient {
  return {
    driver: sql.driver,
    query: (text, params) => sql.query(text, params),
    exec: (script) => sql.exec(script),
    transaction: (work) => sql.transaction((tx) => work(windowedExecutor(tx, hooks))),
    listen: (channel, handler) => sql.listen(channel, handler),
    close: () => sql.close(),
  };
}
