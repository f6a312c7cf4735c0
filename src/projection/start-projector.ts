import * as E from 'fp-ts/lib/Either.js';

import type { Logger } from '../core/logger.js';
import { createSilentLogger } from '../ports/logger.js';
import { NotificationWakeup, sleep } from '../queue/wakeup.js';
import {
  DEFAULT_BATCH_SIZE,
  type RunProjectionOptions,
  runProjectionOnce,
} from './run-projection-once.js';

/** The channel that event appends may notify, to wake projectors before their next poll. */
export const EVENTS_CHANNEL = 'rewind_events';

/** Default {@link ProjectorOptions.pollMs}. */
export const DEFAULT_POLL_MS = 1000;

/** Options of {@link startProjector}. */
export interface ProjectorOptions extends RunProjectionOptions {
  /** Stops the projector. */
  readonly signal: AbortSignal;
  /** Time between polls when caught up, and before retrying after an error. Default: 1000. */
  readonly pollMs?: number;
  /** Listened to for early wake-ups; `null` to poll only. Default: {@link EVENTS_CHANNEL}. */
  readonly wakeChannel?: string | null;
  /** Default: silent. */
  readonly logger?: Logger;
}

type Next = 'again' | 'idle';

async function runBatch(options: ProjectorOptions, logger: Logger): Promise<Next> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  try {
    const result = await runProjectionOnce(options);
    if (E.isRight(result)) {
      const { processed, inserted, position } = result.right;
      if (processed > 0) {
        logger.debug({ processed, inserted, position: position.toString() }, 'batch projected');
      }
      return processed >= batchSize ? 'again' : 'idle';
    }
    const failure = result.left;
    switch (failure._tag) {
      case 'CheckpointConflictFailure':
        logger.debug(
          { actual: failure.actual.toString() },
          'checkpoint moved by another projector',
        );
        return 'again';
      case 'EventDecodeFailure':
        // The projection cannot pass this event until someone repairs it.
        logger.error(
          { ...failure, revision: failure.revision.toString() },
          'projection stopped at an undecodable event',
        );
        return 'idle';
    }
  } catch (err) {
    logger.error({ err }, 'projection batch failed');
    return 'idle';
  }
}

async function listenForWakeups(
  options: ProjectorOptions,
  logger: Logger,
): Promise<NotificationWakeup | undefined> {
  const channel = options.wakeChannel === undefined ? EVENTS_CHANNEL : options.wakeChannel;
  if (channel === null) return undefined;
  try {
    return await NotificationWakeup.listen(options.sql, channel);
  } catch (err) {
    logger.warn({ err, channel }, 'projector polls only: listen failed');
    return undefined;
  }
}

/**
 * Runs a projection until `signal` aborts: a batch at a time, at once again while batches come
 * back full, else after a notification on `wakeChannel` or `pollMs`. Errors are logged and the
 * batch retried after `pollMs`; an undecodable event holds the projection there (logged at
 * `error`). Several projectors of one projection may run at once, on one database or several
 * processes: they take turns on the checkpoint and never insert a job twice.
 *
 * The returned promise resolves once the projector has stopped: the batch in flight finished
 * and the listener closed. It never rejects.
 *
 * @example
 * const controller = new AbortController();
 * const { signal } = controller;
 * const projector = startProjector({ store, sql, projection: jobFeeder, signal });
 * // on shutdown:
 * controller.abort();
 * await projector;
 */
export async function startProjector(options: ProjectorOptions): Promise<void> {
  const { signal } = options;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const logger = (options.logger ?? createSilentLogger()).child({
    projection: options.projection.name,
  });
  const wakeup = await listenForWakeups(options, logger);
  logger.info('projector started');

  try {
    while (!signal.aborted) {
      const next = await runBatch(options, logger);
      if (next === 'again' || signal.aborted) continue;
      logger.trace({ pollMs }, 'projector waiting');
      if (wakeup) await wakeup.wait({ timeoutMs: pollMs, signal });
      else await sleep(pollMs, signal);
    }
  } finally {
    await wakeup?.close().catch((err: unknown) => logger.warn({ err }, 'unlisten failed'));
    logger.info('projector stopped');
  }
}
