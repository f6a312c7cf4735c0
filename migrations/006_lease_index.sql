-- The lease index is keyed on the lease itself, not on the state.
--
-- Every write that ends an execution clears lease_expires_at, so the rows with a lease are the
-- executing ones, as before. But with `state = 'executing'` as its predicate, the index matched
-- every write of a lease holder, which names that state in its fence: while the statistics said
-- few jobs were executing (a backlog inserted and analysed, then claimed by many workers), the
-- planner answered a completion by id by walking every live lease of every queue instead of
-- looking the job up by primary key, a cost that grows with the jobs executing anywhere. A write
-- by id does not name `lease_expires_at IS NOT NULL`, so it goes through the primary key; the
-- rescue in the claim, `lease_expires_at <= now()`, implies the predicate and still walks this
-- index.
DROP INDEX rewind_jobs_leases;
CREATE INDEX rewind_jobs_leases ON rewind_jobs (queue, lease_expires_at)
  WHERE lease_expires_at IS NOT NULL;
