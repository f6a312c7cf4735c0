import * as E from 'fp-ts/lib/Either.js';

import { createPostgresEventStore } from '../adapters/postgres/postgres-event-store.js';
import { describeDecodeErrors } from '../core/decode-failure.js';
import type { AnySagaDefinition } from '../core/definition.js';
import type { RecordedEvent } from '../core/events.js';
import { sagaStreamName } from '../core/ids.js';
import { encodeValue } from '../core/values.js';
import { forkSaga } from '../inspect/fork-saga.js';
import { applyMergePatch } from '../inspect/merge-patch.js';
import { systemClock } from '../ports/clock.js';
import { uuidGenerator } from '../ports/ids.js';
import { describeSagaRunFailure } from '../runtime/describe-failure.js';
import { describeDefinitionLookupFailure } from '../runtime/saga-registry.js';
import { describeStartSagaFailure, startSaga } from '../runtime/start-saga.js';
import {
  decodeArgument,
  decodeOptionalArgument,
  JsonArgument,
  NonEmptyArgument,
  RevisionArgument,
} from './cli-arguments.js';
import type { CommonOptions } from './register-inspect-commands.js';
import { refuseRevisionPastEnd } from './revision-range.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { withSagaAccess } from './saga-access.js';
import { importSagasModule, loadSagaDefinitions } from './saga-definitions.js';

/** Options of `rewind fork`. */
export interface ForkCommandOptions extends CommonOptions {
  readonly at: string;
  /** A JSON merge patch (RFC 7386) applied to the original input. */
  readonly input?: string;
  /** Start a real new saga instead of a dry run. */
  readonly live: boolean;
  /** Dry run: replay recorded step failures instead of stubbing those steps. */
  readonly keepFailures?: boolean;
  readonly sagas?: string;
}

function outputText(output: unknown): string {
  const encoded = encodeValue(output, 'output');
  return E.isRight(encoded) ? JSON.stringify(encoded.right) : '(unprintable)';
}

/** One event as the fork's diff shows it: type and step, and the output or failure if any. */
function signatureOf(recorded: RecordedEvent): string {
  const { event } = recorded;
  const step = 'step' in event.data ? ` ${event.data.step}` : '';
  if (event.type === 'StepCompleted')
    return `${event.type}${step} ${outputText(event.data.output)}`;
  if (event.type === 'StepFailed') return `${event.type}${step} ${event.data.failure.name}`;
  return `${event.type}${step}`;
}

function compareStreams(
  original: readonly RecordedEvent[],
  forked: readonly RecordedEvent[],
  at: bigint,
) {
  const lines: {
    mark: '=' | '~' | '+' | '-';
    revision: string;
    original?: string;
    fork?: string;
  }[] = [];
  const length = Math.max(original.length, forked.length);
  for (let i = Number(at) + 1; i < length; i++) {
    const before = original[i];
    const after = forked[i];
    const revision = String(i);
    if (before && after) {
      const a = signatureOf(before);
      const b = signatureOf(after);
      lines.push(
        a === b
          ? { mark: '=', revision, original: a }
          : { mark: '~', revision, original: a, fork: b },
      );
    } else if (before) lines.push({ mark: '-', revision, original: signatureOf(before) });
    else if (after) lines.push({ mark: '+', revision, fork: signatureOf(after) });
  }
  return lines;
}

function patchedInput(
  definition: AnySagaDefinition,
  original: unknown,
  rawPatch: string | undefined,
) {
  if (rawPatch === undefined) return E.right(undefined);
  const patch = decodeArgument(JsonArgument, 'fork: --input', rawPatch);
  if (E.isLeft(patch)) return patch;
  const encoded = encodeValue(original, 'input');
  if (E.isLeft(encoded)) return E.left(`fork: ${encoded.left.path}: ${encoded.left.reason}`);
  const decoded = definition.input.decode(applyMergePatch(encoded.right, patch.right));
  if (E.isRight(decoded)) return E.right({ input: decoded.right });
  const { path, message } = describeDecodeErrors(decoded.left);
  return E.left(`fork: --input: input.${path}: ${message}`);
}

/**
 * `rewind fork <sagaId> --at <n> [--input <json merge patch>] [--live]`: a what-if. By default a
 * dry run (src/inspect/fork-saga.ts): nothing is written, and the forked stream is printed against
 * the original, event by event (`=` same, `~` different, `+` only in the fork, `-` only in the
 * original). With `--live`, a real new saga of the same definition starts with the (patched)
 * input, its SagaStarted caused by the original's event `n`; it runs every step for real.
 */
export async function runForkCommand(
  io: CommandIo,
  rawSagaId: string,
  options: ForkCommandOptions,
): Promise<CommandResult> {
  const at = decodeArgument(RevisionArgument, 'fork: --at', options.at);
  if (E.isLeft(at)) return refuse(at.left, 2);
  const sagas = decodeOptionalArgument(NonEmptyArgument, 'fork: --sagas', options.sagas);
  if (E.isLeft(sagas)) return refuse(sagas.left, 2);
  const imported = await importSagasModule('fork', sagas.right);
  if (E.isLeft(imported)) return refuse(imported.left, 2);
  const operation = options.live ? 'start' : 'read';

  return withSagaAccess(
    io,
    'fork',
    rawSagaId,
    { ...options, operation },
    async ({ sql, sagaId, actor }) => {
      const store = createPostgresEventStore({ sql });
      const original = await store.readStream(sagaStreamName(sagaId));
      if (E.isLeft(original)) return refuse(`fork: ${describeSagaRunFailure(original.left)}`);
      const started = original.right[0];
      if (started?.event.type !== 'SagaStarted') {
        return refuse(`fork: saga ${sagaId} does not start with SagaStarted`);
      }
      const pivot = original.right.find((recorded) => recorded.revision === at.right);
      if (pivot === undefined) {
        const history = `saga ${sagaId}`;
        const name = { command: 'fork', argument: '--at' };
        return refuseRevisionPastEnd(name, at.right, history, original.right.length);
      }
      const { saga, version, definitionHash, input } = started.event.data;
      const registry = loadSagaDefinitions(sql, imported.right);
      const definition = registry.resolve(saga, version, definitionHash);
      if (E.isLeft(definition))
        return refuse(`fork: ${describeDefinitionLookupFailure(definition.left)}`);
      const patched = patchedInput(definition.right, input, options.input);
      if (E.isLeft(patched)) return refuse(patched.left, 2);

      if (options.live) {
        const live = await startSaga(
          { store, clock: systemClock, ids: uuidGenerator },
          definition.right,
          patched.right?.input ?? input,
          {
            actor,
            causationId: pivot.eventId,
            correlationId: started.metadata.correlationId,
          },
        );
        if (E.isLeft(live)) return refuse(`fork: ${describeStartSagaFailure(live.left)}`);
        const result = { sagaId: live.right.sagaId, forkOf: sagaId, causationId: pivot.eventId };
        io.out(
          options.json
            ? JSON.stringify(result)
            : `started saga ${live.right.sagaId}, forked from ${sagaId} at event ${at.right} ` +
                `(causation ${pivot.eventId}); a worker runs it`,
        );
        return succeed;
      }

      const fork = forkSaga({
        definition: definition.right,
        original: original.right,
        at: at.right,
        keepFailures: options.keepFailures === true,
        ...(patched.right ?? {}),
      });
      const lines = compareStreams(original.right, fork.events, at.right);
      if (options.json) {
        io.out(
          JSON.stringify({
            sagaId,
            at: at.right.toString(),
            dryRun: true,
            status: fork.state.status,
            events: fork.events.length,
            diff: lines,
            notes: fork.notes,
          }),
        );
        return succeed;
      }
      io.out(
        `dry run: saga ${sagaId} forked after event ${at.right}` +
          `${options.input ? ' with a patched input' : ''}; nothing was written`,
      );
      for (const line of lines) {
        const text =
          line.mark === '~'
            ? `${line.original}  ->  ${line.fork}`
            : (line.original ?? line.fork ?? '');
        io.out(`${line.mark} #${line.revision} ${text}`);
      }
      for (const note of fork.notes) io.out(`note: ${note}`);
      io.out(
        `fork ends ${fork.state.status} after ${fork.events.length} event(s); ` +
          `original had ${original.right.length}`,
      );
      return succeed;
    },
  );
}
