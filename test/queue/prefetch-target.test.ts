import { describe, expect, it } from 'vitest';

import { MAX_AUTO_PREFETCH, PrefetchTarget } from '../../src/queue/worker/prefetch-target.js';

describe('PrefetchTarget', () => {
  it('holds nothing beyond the free slots until it has seen a claim and a run', () => {
    const target = new PrefetchTarget(10, undefined);
    expect(target.jobs).toBe(0);

    target.recordClaim(5);
    expect(target.jobs).toBe(0);
  });

  it('holds what the slots finish in two claim round trips', () => {
    const target = new PrefetchTarget(10, undefined);
    target.recordClaim(4);
    target.recordRun(1);

    // 10 slots, each finishing 4 jobs of 1 ms during a 4 ms claim, for two claims.
    expect(target.jobs).toBe(80);
  });

  it('holds none when handlers outlast a claim round trip, leaving the jobs to other workers', () => {
    const target = new PrefetchTarget(10, undefined);
    target.recordClaim(5);
    target.recordRun(200);

    expect(target.jobs).toBe(0);
  });

  it('follows the jobs as they get slower', () => {
    const target = new PrefetchTarget(10, undefined);
    target.recordClaim(5);
    target.recordRun(0.01);
    expect(target.jobs).toBe(MAX_AUTO_PREFETCH);

    for (let i = 0; i < 50; i++) target.recordRun(500);

    expect(target.jobs).toBe(0);
  });

  it('never holds more than its maximum, however short the jobs', () => {
    const target = new PrefetchTarget(100, undefined);
    target.recordClaim(50);
    target.recordRun(0);

    expect(target.jobs).toBe(MAX_AUTO_PREFETCH);
  });

  it('keeps a fixed prefetch whatever it measures', () => {
    const target = new PrefetchTarget(10, 7);
    target.recordClaim(5);
    target.recordRun(0.01);

    expect(target.jobs).toBe(7);
  });
});
