DROP INDEX assessments_session_log;
