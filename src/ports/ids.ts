import { randomUUID } from 'node:crypto';

/** The id port: where new saga, event and correlation ids come from. */
export interface IdGenerator {
  /** A new random, globally unique id. */
  newId(): string;
}

/** Random UUIDs (version 4). */
export const uuidGenerator: IdGenerator = { newId: () => randomUUID() };
