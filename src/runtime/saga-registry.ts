import * as E from 'fp-ts/lib/Either.js';

import type { AnySagaDefinition } from '../core/definition.js';

/** Why no definition could be used for a saga's recorded history. */
export type DefinitionLookupFailure =
  | {
      readonly _tag: 'DefinitionMissingFailure';
      readonly saga: string;
      readonly version: number;
      /** Versions of that saga that are registered. */
      readonly registered: readonly number[];
    }
  | {
      readonly _tag: 'DefinitionChangedFailure';
      readonly saga: string;
      readonly version: number;
      readonly recordedHash: string;
      readonly registeredHash: string;
    };

/**
 * The saga definitions a process knows, by name and version. A saga resumes with the version
 * it was started with; register older versions beside newer ones while sagas of them run.
 */
export class SagaRegistry {
  readonly #byKey = new Map<string, AnySagaDefinition>();

  constructor(definitions: readonly AnySagaDefinition[] = []) {
    for (const definition of definitions) this.register(definition);
  }

  /** Adds a definition; a second one of the same name and version is a programming error. */
  register(definition: AnySagaDefinition): void {
    const key = `${definition.name}@${definition.version}`;
    const existing = this.#byKey.get(key);
    if (existing && existing !== definition) throw new Error(`saga ${key} is registered twice`);
    this.#byKey.set(key, definition);
  }

  /** The definition that recorded history names, checked against the recorded shape hash. */
  /** The definition of a name and version, if registered. */
  find(saga: string, version: number): AnySagaDefinition | undefined {
    return this.#byKey.get(`${saga}@${version}`);
  }

  resolve(
    saga: string,
    version: number,
    recordedHash: string,
  ): E.Either<DefinitionLookupFailure, AnySagaDefinition> {
    const definition = this.#byKey.get(`${saga}@${version}`);
    if (!definition) {
      const registered = [...this.#byKey.values()]
        .filter((candidate) => candidate.name === saga)
        .map((candidate) => candidate.version);
      return E.left({ _tag: 'DefinitionMissingFailure', saga, version, registered });
    }
    if (definition.hash !== recordedHash) {
      return E.left({
        _tag: 'DefinitionChangedFailure',
        saga,
        version,
        recordedHash,
        registeredHash: definition.hash,
      });
    }
    return E.right(definition);
  }

  /** Every registered definition. */
  all(): readonly AnySagaDefinition[] {
    return [...this.#byKey.values()];
  }
}

/** A sentence for a lookup failure, naming saga, version and what is missing. */
export function describeDefinitionLookupFailure(failure: DefinitionLookupFailure): string {
  switch (failure._tag) {
    case 'DefinitionMissingFailure': {
      const known = failure.registered.length > 0 ? failure.registered.join(', ') : 'none';
      const what = `saga ${failure.saga} version ${failure.version}`;
      return `${what} is not registered (registered: ${known})`;
    }
    case 'DefinitionChangedFailure':
      return (
        `saga ${failure.saga} version ${failure.version} was started with definition hash ` +
        `${failure.recordedHash}, but the registered one has ${failure.registeredHash}: ` +
        'its steps ' +
        'changed without a new version'
      );
  }
}
