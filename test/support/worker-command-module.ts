import * as t from 'io-ts';

import { defineSaga } from '../../src/core/definition.js';
import type { CronSchedule } from '../../src/queue/cron/cron-schedule.js';
import { defineWorker } from '../../src/queue/worker/define-worker.js';
import { whenAborted } from './deferred.js';

/**
 * What the `rewind worker` tests give the command, as a user's module would: saga definitions
 * (`--sagas`), a plain job worker and a cron schedule (`--workers`), in one module that serves as
 * both.
 */

const Input = t.type({ id: t.string });

/** One step that returns at once. */
export const quickSaga = defineSaga({
  name: 'cli-worker-quick',
  version: 1,
  input: Input,
  steps: (step) => [step('greet', { run: async ({ input }) => ({ greeted: input.id }) })],
});

/** One step that runs until its signal fires, and then gives up as a fetch would. */
export const endlessSaga = defineSaga({
  name: 'cli-worker-endless',
  version: 1,
  input: Input,
  steps: (step) => [
    step('wait', {
      run: async (_, ctx) => {
        await whenAborted(ctx.signal);
        throw new Error('aborted by its signal');
      },
    }),
  ],
});

/** The queue of {@link mailWorker}. */
export const MAIL_QUEUE = 'cli-worker-mail';

/** A plain job worker that does nothing with its args; its `perform` returns nothing at all. */
export const mailWorker = defineWorker({
  queue: MAIL_QUEUE,
  args: t.type({ to: t.string }),
  async perform() {},
});

/** A mail job for {@link mailWorker} every second. */
export const everySecond: CronSchedule = {
  name: 'cli-worker-every-second',
  expression: '* * * * * *',
  queue: MAIL_QUEUE,
  kind: mailWorker.kind,
  args: { to: 'cron@example.net' },
};
