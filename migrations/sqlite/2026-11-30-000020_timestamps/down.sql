-- The declared types go back to TIMESTAMP and DATE is not needed to run the previous version
-- (the stored text is the same under either affinity); nothing to undo.
SELECT 1;
