-- SQLite only (TEXT affinity for its timestamp columns); PostgreSQL's timestamp type compares
-- natively. Same version name on both backends.
SELECT 1;
