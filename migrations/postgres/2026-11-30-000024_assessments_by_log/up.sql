-- A session log's assessments: the logs export reads them 10,000 logs at a time, and editing
-- or merging a log updates them (each was a scan of every assessment).
CREATE INDEX assessments_session_log ON assessments(session_log_id);
