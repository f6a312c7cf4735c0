-- A job has a lease expiry exactly while it executes: the premise of the lease index of 006,
-- held until now by every write that ends an execution clearing lease_expires_at, enforced from
-- here on by the database. Rows an older version may have left with a stale expiry lose it first.
UPDATE rewind_jobs SET lease_expires_at = NULL
WHERE state <> 'executing' AND lease_expires_at IS NOT NULL;
ALTER TABLE rewind_jobs ADD CONSTRAINT rewind_jobs_leased_only_while_executing
  CHECK ((state = 'executing') = (lease_expires_at IS NOT NULL));
