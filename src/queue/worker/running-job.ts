import type { Logger } from '../../core/logger.js';
import type { LeasedJob } from '../job.js';
import type { JobContext } from './define-worker.js';

/** Why a running job's signal was aborted. */
export type AbortReason = 'lost' | 'cancelled' | 'shutdown';

/** A job whose handler a worker has started, until its state is written. */
export interface RunningJob {
  readonly job: LeasedJob;
  /** Made when the handler first reads its signal: most never do, and one per job costs. */
  controller: AbortController | undefined;
  reason: AbortReason | undefined;
  handlerReturned: boolean;
  done: Promise<void>;
  /**
   * When the last claim or renewal of its lease was requested: the sweep aborts the handler
   * before the lease can run out without a renewal (a stalled heartbeat, BC-03).
   */
  renewedAt: number;
}

/**
 * Aborts the job's signal for `reason`, which becomes the signal's `reason`, unless it was
 * aborted already or its handler returned.
 */
export function abortRunningJob(entry: RunningJob, reason: AbortReason): void {
  if (entry.reason !== undefined || entry.handlerReturned) return;
  entry.reason = reason;
  entry.controller?.abort(reason);
}

/** The handler's context; its signal and logger are made only once the handler reads them. */
export function createContext(entry: RunningJob, parent: Logger): JobContext {
  let logger: Logger | undefined;
  return {
    job: entry.job,
    get signal() {
      return signalOf(entry);
    },
    get logger() {
      logger ??= parent.child({
        jobId: entry.job.id.toString(),
        kind: entry.job.kind,
        attempt: entry.job.attempt,
      });
      return logger;
    },
  };
}

function signalOf(entry: RunningJob): AbortSignal {
  if (entry.controller === undefined) {
    entry.controller = new AbortController();
    // An abort that came before the handler first asked for its signal still reaches it.
    if (entry.reason !== undefined) entry.controller.abort(entry.reason);
  }
  return entry.controller.signal;
}
