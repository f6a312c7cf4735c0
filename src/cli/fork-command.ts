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
import type { EventStore } from '../ports/event-store.js';
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
import { type SagaAccess, withSagaAccess } from './saga-access.js';
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

/** The options of `rewind fork`, `--at` decoded. */
type DecodedForkOptions = Omit<ForkCommandOptions, 'at'> & { readonly at: bigint };

/** What a fork starts from: the original stream, its event `--at`, the definition, the input. */
interface ForkSource {
  readonly store: EventStore;
  readonly original: readonly RecordedEvent[];
  /** The original's input, and its correlation id, which the live fork carries on. */
  readonly input: unknown;
  readonly correlationId: RecordedEvent['metadata']['correlationId'];
  readonly pivot: RecordedEvent;
  readonly definition: AnySagaDefinition;
  /** The patched input, when `--input` is given. */
  readonly patched: { readonly input: unknown } | undefined;
}

/** Reads the original saga and resolves what the fork needs, or refuses. */
async function loadForkSource(
  { sql, sagaId }: SagaAccess,
  at: bigint,
  sagas: readonly AnySagaDefinition[],
  rawPatch: string | undefined,
): Promise<E.Either<CommandResult, ForkSource>> {
  const store = createPostgresEventStore({ sql });
  const original = await store.readStream(sagaStreamName(sagaId));
  if (E.isLeft(original)) return E.left(refuse(`fork: ${describeSagaRunFailure(original.left)}`));
  const started = original.right[0];
  if (started?.event.type !== 'SagaStarted') {
    return E.left(refuse(`fork: saga ${sagaId} does not start with SagaStarted`));
  }
  const pivot = original.right.find((recorded) => recorded.revision === at);
  if (pivot === undefined) {
    const name = { command: 'fork', argument: '--at' };
    return E.left(refuseRevisionPastEnd(name, at, `saga ${sagaId}`, original.right.length));
  }

  const { saga, version, definitionHash, input } = started.event.data;
  const registry = loadSagaDefinitions(sql, sagas);
  const definition = registry.resolve(saga, version, definitionHash);
  if (E.isLeft(definition)) {
    return E.left(refuse(`fork: ${describeDefinitionLookupFailure(definition.left)}`));
  }
  const patched = patchedInput(definition.right, input, rawPatch);
  if (E.isLeft(patched)) return E.left(refuse(patched.left, 2));
  return E.right({
    store,
    original: original.right,
    input,
    correlationId: started.metadata.correlationId,
    pivot,
    definition: definition.right,
    patched: patched.right,
  });
}

/** `--live`: starts the new saga, caused by the original's event `--at`, and says which. */
async function startLiveFork(
  io: CommandIo,
  { sagaId, actor }: SagaAccess,
  source: ForkSource,
  options: DecodedForkOptions,
): Promise<CommandResult> {
  const { store, definition, pivot, correlationId } = source;
  const live = await startSaga(
    { store, clock: systemClock, ids: uuidGenerator },
    definition,
    source.patched?.input ?? source.input,
    { actor, causationId: pivot.eventId, correlationId },
  );
  if (E.isLeft(live)) return refuse(`fork: ${describeStartSagaFailure(live.left)}`);
  const result = { sagaId: live.right.sagaId, forkOf: sagaId, causationId: pivot.eventId };
  io.out(
    options.json
      ? JSON.stringify(result)
      : `started saga ${live.right.sagaId}, forked from ${sagaId} at event ${options.at} ` +
          `(causation ${pivot.eventId}); a worker runs it`,
  );
  return succeed;
}

/** The dry run: forks in memory and prints the forked stream against the original. */
function printDryRun(
  io: CommandIo,
  { sagaId }: SagaAccess,
  source: ForkSource,
  options: DecodedForkOptions,
): CommandResult {
  const { at } = options;
  const fork = forkSaga({
    definition: source.definition,
    original: source.original,
    at,
    keepFailures: options.keepFailures === true,
    ...(source.patched ?? {}),
  });
  const lines = compareStreams(source.original, fork.events, at);
  const { status } = fork.state;
  if (options.json) {
    const diff = { diff: lines, notes: fork.notes };
    const summary = { sagaId, at: at.toString(), dryRun: true, status, events: fork.events.length };
    io.out(JSON.stringify({ ...summary, ...diff }));
    return succeed;
  }
  const patched = options.input ? ' with a patched input' : '';
  io.out(`dry run: saga ${sagaId} forked after event ${at}${patched}; nothing was written`);
  for (const line of lines) {
    const text =
      line.mark === '~' ? `${line.original}  ->  ${line.fork}` : (line.original ?? line.fork ?? '');
    io.out(`${line.mark} #${line.revision} ${text}`);
  }
  for (const note of fork.notes) io.out(`note: ${note}`);
  const ends = `fork ends ${status} after ${fork.events.length} event(s)`;
  io.out(`${ends}; original had ${source.original.length}`);
  return succeed;
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

  return withSagaAccess(io, 'fork', rawSagaId, { ...options, operation }, async (access) => {
    const source = await loadForkSource(access, at.right, imported.right, options.input);
    if (E.isLeft(source)) return source.left;
    const decoded = { ...options, at: at.right };
    return options.live
      ? startLiveFork(io, access, source.right, decoded)
      : printDryRun(io, access, source.right, decoded);
  });
}
