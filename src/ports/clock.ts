/** The clock port: the only place where Rewind reads the time, so tests can move it by hand. */
export interface Clock {
  /** The current time. */
  now(): Date;
}

/** The clock of the machine. */
export const systemClock: Clock = { now: () => new Date() };
