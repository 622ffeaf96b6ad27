-- Privacy: the periodic job that anonymises inactive people and purges old message texts.

-- One row per periodic job: whoever updates it first holds it (several instances, one run).
CREATE TABLE job_runs (
    name TEXT PRIMARY KEY NOT NULL,
    locked_by TEXT,
    locked_until TIMESTAMP,
    last_run_at TIMESTAMP
);
INSERT INTO job_runs (name) VALUES ('privacy');

-- The messages still holding an address: a purged message leaves this index.
CREATE INDEX messages_unpurged ON messages(status) WHERE recipient <> '';
-- People not yet anonymised, by last edit: the retention job's candidates.
CREATE INDEX people_retention ON people(updated_at) WHERE anonymised_at IS NULL;
