import { describe, expect, it } from 'vitest';

import {
  ClaimPacer,
  type HeldJobs,
  MAX_CLAIMS_IN_FLIGHT,
} from '../../src/queue/worker/claim-pacer.js';

const POLL_MS = 1000;

function held(overrides: Partial<HeldJobs>): HeldJobs {
  return { concurrency: 10, prefetch: 0, running: 0, buffered: 0, ...overrides };
}

describe('ClaimPacer', () => {
  it('claims for every free slot when nothing is buffered', () => {
    const pacer = new ClaimPacer();

    expect(pacer.nextLimit(held({ running: 7 }), 0)).toBe(3);
  });

  it('sends a second claim while the first is on its way, for the room the first leaves', () => {
    const pacer = new ClaimPacer();
    pacer.sent(150);

    expect(pacer.nextLimit(held({ prefetch: 400, running: 10, buffered: 250 }), 0)).toBe(0);
    // The buffer went down by 150 while the claim was on its way.
    expect(pacer.nextLimit(held({ prefetch: 400, running: 10, buffered: 100 }), 0)).toBe(150);
  });

  it('claims a quarter of the prefetch or more while jobs are buffered', () => {
    const pacer = new ClaimPacer();
    const state = { prefetch: 400, running: 10 };

    expect(pacer.nextLimit(held({ ...state, buffered: 320 }), 0)).toBe(0);
    expect(pacer.nextLimit(held({ ...state, buffered: 300 }), 0)).toBe(100);
  });

  it(`keeps at most ${MAX_CLAIMS_IN_FLIGHT} claims in flight`, () => {
    const pacer = new ClaimPacer();
    for (let i = 0; i < MAX_CLAIMS_IN_FLIGHT; i++) pacer.sent(1);

    expect(pacer.nextLimit(held({ concurrency: 100 }), 0)).toBe(0);
  });

  it('waits for news of jobs or the poll interval after a claim finds the queue empty', () => {
    const pacer = new ClaimPacer();
    pacer.sent(10);
    pacer.returned(10, 3, 100, POLL_MS);

    expect(pacer.nextLimit(held({ running: 3 }), 200)).toBe(0);
    expect(pacer.quietLeft(200)).toBe(900);
    expect(pacer.nextLimit(held({ running: 3 }), 1100)).toBe(7);
  });

  it('claims again at once when jobs are announced during the quiet spell', () => {
    const pacer = new ClaimPacer();
    pacer.sent(10);
    pacer.returned(10, 0, 100, POLL_MS);

    pacer.wake();

    expect(pacer.nextLimit(held({}), 200)).toBe(10);
  });

  it('waits the poll interval after a failed claim', () => {
    const pacer = new ClaimPacer();
    pacer.sent(10);
    pacer.returned(10, undefined, 0, POLL_MS);

    expect(pacer.isQuiet(999)).toBe(true);
    expect(pacer.nextLimit(held({}), 1000)).toBe(10);
  });
});
