/**
 * One worker process of the crash harness: a saga worker and a job-feeder projector on the
 * harness's schema, whose steps and ports announce crash windows on standard output
 * (`W <window> <sagaId> <step>`) and linger in them a little, so the harness can SIGKILL the
 * process right there. Prints `READY` once it runs; stops cleanly on SIGTERM.
 *
 * Environment: DATABASE_URL, CRASH_SCHEMA, CRASH_SEED (its random lingering), CRASH_LINGER_MS
 * (longest linger, default 40), CRASH_LEASE_MS (default 1500), CRASH_ROLE (`worker`, the
 * default, or `projector` for a projector alone), LOG_LEVEL (default `error`, on standard
 * error).
 */
import { createPgSqlClient } from '../../src/adapters/postgres/pg-sql-client.js';
import { createPostgresEventStore } from '../../src/adapters/postgres/postgres-event-store.js';
import { createProcessLogger } from '../../src/ports/logger.js';
import { Rewind } from '../../src/runtime/rewind.js';
import { type CrashHooks, type CrashWindow, createCrashSagas } from './crash-sagas.js';
import { createWindowedEventStore, createWindowedSqlClient } from './fault-ports.js';
import { createRandom } from './random.js';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`worker-process: ${name} is not set`);
  return value;
}

const random = createRandom(Number(process.env.CRASH_SEED ?? '1'));
const lingerMs = Number(process.env.CRASH_LINGER_MS ?? '40');
const leaseMs = Number(process.env.CRASH_LEASE_MS ?? '1500');
const role = process.env.CRASH_ROLE ?? 'worker';

const base = createPgSqlClient({
  connectionString: requireEnv('DATABASE_URL'),
  schema: requireEnv('CRASH_SCHEMA'),
  maxConnections: 12,
});

const hooks: CrashHooks = {
  sql: base,
  window: async (name: CrashWindow, sagaId: string, step: string) => {
    process.stdout.write(`W ${name} ${sagaId || '-'} ${step || '-'}\n`);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * lingerMs)));
  },
};
const sql = createWindowedSqlClient(base, hooks);
const store = createWindowedEventStore(createPostgresEventStore({ sql: base }), hooks);
// Errors go to standard error, which the harness passes through: a projection that stops
// advancing, or a saga that cannot run, says why.
const logger = createProcessLogger(process.env.LOG_LEVEL ?? 'error');
const rewind = new Rewind({ sql, store, sagas: createCrashSagas(hooks), logger });

const projector = rewind.startProjector({ pollMs: 50 });
const worker =
  role === 'worker'
    ? rewind.createWorker({ leaseMs, pollMs: 100, conflictDelayMs: 100, concurrency: 8 })
    : undefined;
worker?.start();
process.stdout.write('READY\n');

process.once('SIGTERM', () => {
  const stopping = async () => {
    await worker?.stop(2000);
    await projector.stop();
    await base.close();
  };
  stopping().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`worker-process: stop failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
