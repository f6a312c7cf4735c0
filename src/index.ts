/**
 * Rewind's public API. Every export is listed by name: an API change is a diff of this file.
 */

export {
  createEventStoreDbEventStore,
  type EventStoreDbEventStoreOptions,
} from './adapters/eventstoredb/eventstoredb-event-store.js';
export {
  createPgliteSqlClient,
  type PgliteSqlClientOptions,
} from './adapters/pglite/pglite-sql-client.js';
export { type Migration, migrate, readMigrations } from './adapters/postgres/migrate.js';
export { createPgSqlClient, type PgSqlClientOptions } from './adapters/postgres/pg-sql-client.js';
export { createPostgresEventStore } from './adapters/postgres/postgres-event-store.js';
export {
  ADMIN_ROLE,
  type AuthorizationFailure,
  type AuthorizationPolicy,
  type AuthorizationRequest,
  allPolicies,
  type EngineOperation,
  type SagaOwnership,
  tenantPolicy,
} from './audit/authorization.js';
export {
  checkStreamIntegrity,
  type IntegrityFinding,
  type StreamIntegrity,
  verifyChain,
} from './audit/integrity.js';
export {
  type CompensationPlan,
  type PlannedCompensation,
  planCompensation,
} from './core/compensation-plan.js';
export { type Decision, decide, type StepRun } from './core/decide.js';
export {
  type AnySagaDefinition,
  type CompensationContext,
  defineSaga,
  type SagaDefinition,
  type SagaSpec,
  type StepArgs,
  type StepContext,
  type StepDefinition,
  type StepResults,
  type StepSpec,
} from './core/definition.js';
export {
  Actor,
  EventMetadata,
  type NewEvent,
  type RecordedEvent,
  RecordedFailure,
  SagaEvent,
  type SagaEventType,
} from './core/events.js';
export { evolve, type HistoryFailure, replay } from './core/evolve.js';
export { EventId, SagaId, StreamName, sagaStreamName } from './core/ids.js';
export type { Logger } from './core/logger.js';
export type { RetryPolicy } from './core/retry.js';
export {
  initialSagaState,
  isTerminal,
  type SagaState,
  type SagaStatus,
  type StepState,
} from './core/state.js';
export { decodeValue, encodeValue, type Json, SagaValue } from './core/values.js';
export { diffValues, type ValueChange } from './inspect/diff-values.js';
export { type ForkOptions, type ForkResult, forkSaga } from './inspect/fork-saga.js';
export { loadStateAt, type StateAt, type TimeTravelFailure } from './inspect/state-at.js';
export { type Clock, systemClock } from './ports/clock.js';
export type {
  AppendFailure,
  AppendResult,
  EventDecodeFailure,
  EventStore,
  ExpectedRevision,
  ReadFailure,
  VersionConflictFailure,
} from './ports/event-store.js';
export { type IdGenerator, uuidGenerator } from './ports/ids.js';
export type { SqlClient, SqlExecutor, SqlResult, SqlRow } from './ports/sql.js';
export { AuthorizedRewind } from './runtime/authorized-rewind.js';
export { RewindConfig, readConfigFromEnv } from './runtime/config.js';
export {
  type OperatorCommandFailure,
  type OperatorCommandResult,
  requestCancel,
  requestResume,
  requestRetry,
  requestUndo,
} from './runtime/operator-commands.js';
export {
  openDatabase,
  openEventStore,
  openMigratedDatabase,
  Rewind,
  type RewindOptions,
  type RunningProjector,
} from './runtime/rewind.js';
export type { SagaNotification } from './runtime/saga-notification.js';
export { SagaRegistry } from './runtime/saga-registry.js';
export {
  advanceSaga,
  type SagaRunFailure,
  type SagaRunOutcome,
} from './runtime/saga-runner.js';
export { SagaWorker, type SagaWorkerOptions } from './runtime/saga-worker.js';
export {
  describeStartSagaFailure,
  type StartSagaFailure,
  type StartSagaOptions,
  startSaga,
} from './runtime/start-saga.js';
export { createServeApp, type ServeAppOptions } from './serve/serve-app.js';
