DROP INDEX people_retention;
DROP INDEX messages_unpurged;
DROP TABLE job_runs;
