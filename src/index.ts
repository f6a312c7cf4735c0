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
export type {
  ListenOptions,
  SqlClient,
  SqlExecutor,
  SqlNotificationHandler,
  SqlResult,
  SqlRow,
} from './ports/sql.js';
export { type BatchWriteResult, completeJobs, extendLeases } from './queue/batch-writes.js';
export { type ClaimJobsOptions, claimJobs } from './queue/claim-jobs.js';
export { claimJobsWithGlobalLimit, type GlobalLimitClaimOptions } from './queue/claim-limited.js';
export type { ClaimedJobs } from './queue/claimed-jobs.js';
export {
  type CronSchedule,
  cronJobKey,
  type InvalidCronScheduleFailure,
  registerCronSchedules,
} from './queue/cron/cron-schedule.js';
export {
  CronScheduler,
  type CronSchedulerOptions,
  type CronTick,
} from './queue/cron/cron-scheduler.js';
export {
  completeJob,
  type FailJobOptions,
  failJob,
  type JobFailure,
  type SnoozeUntil,
  snoozeJob,
} from './queue/finish-job.js';
export { type DuplicateJob, type InsertJobsResult, insertJobs } from './queue/insert-jobs.js';
export { Job, type JobError, JobId, JobState, LeasedJob, type NewJob } from './queue/job.js';
export { JobPruner, type JobPrunerOptions } from './queue/job-pruner.js';
export type { JobDecodeFailure } from './queue/job-row.js';
export { extendLease, type JobLease, type LeaseLostFailure } from './queue/lease.js';
export {
  countJobs,
  findStrandedJobs,
  type PruneJobsOptions,
  pruneJobs,
  QueueDepth,
  StrandedJob,
} from './queue/maintain-jobs.js';
export { cancelJobs, discardJobs, type EndJobsOptions, retryJobs } from './queue/operate-jobs.js';
export {
  assertEnqueued,
  type DrainedRun,
  type DrainQueueOptions,
  drainQueue,
  type EnqueuedQuery,
  listEnqueued,
} from './queue/testing.js';
export { type UniqueJobKey, type UniqueJobOptions, uniqueJob } from './queue/unique-job.js';
export {
  defineWorker,
  dispatchJobs,
  type JobContext,
  type JobHandler,
  type WorkerDefinition,
  type WorkerSpec,
} from './queue/worker/define-worker.js';
export {
  type JobEventListener,
  type JobEventMap,
  JobEvents,
  type JobRunEnd,
} from './queue/worker/job-events.js';
export {
  type JobCancelled,
  type JobDiscarded,
  type JobDone,
  type JobFailed,
  type JobResult,
  type JobSnoozed,
  jobDone,
} from './queue/worker/job-result.js';
export { JobWorker, type JobWorkerOptions } from './queue/worker/job-worker.js';
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
export type { SagaRunFailure, SagaRunOutcome } from './runtime/saga-run-outcome.js';
export { advanceSaga } from './runtime/saga-runner.js';
export { SagaWorker, type SagaWorkerOptions } from './runtime/saga-worker.js';
export {
  describeStartSagaFailure,
  type StartSagaFailure,
  type StartSagaOptions,
  startSaga,
} from './runtime/start-saga.js';
export {
  type HistoryDivergence,
  type HistoryVerification,
  verifyHistory,
  verifyHistoryWith,
} from './runtime/verify-history.js';
export { createServeApp, type ServeAppOptions } from './serve/serve-app.js';
