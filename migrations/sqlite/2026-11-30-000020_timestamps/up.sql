-- Timestamp and date columns get TEXT affinity (issue 14, point 2).
--
-- They were declared TIMESTAMP or DATE, type names that give NUMERIC affinity: every
-- comparison of such a column with a bound value (which has none) applied numeric affinity to
-- both sides, so SQLite tried to parse each stored '2026-12-07 10:00:00' as a number
-- (sqlite3AtoF) before comparing it as text. With TEXT affinity they compare as the text they
-- are, byte by byte, which is also their time order.
--
-- SQLite cannot change a column's type with ALTER TABLE. A table rebuild would rewrite every
-- row of the largest tables; it is not needed: the stored values are already TEXT (a value of
-- this shape is never taken for a number, so NUMERIC affinity left each one as text) and
-- the indexes hold the same values in the same order. What changes is only the declared type in
-- the schema, which SQLite documents editing in place for changes that leave the stored content
-- as it is ("Making Other Kinds Of Table Schema Changes", https://sqlite.org/lang_altertable.html).
-- Every TIMESTAMP and DATE of the CREATE TABLE statements becomes TEXT; other types, defaults,
-- constraints and indexes are untouched. Diesel's schema keeps Timestamp and Date: it reads and
-- writes the same text.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(replace(sql, ' TIMESTAMP', ' TEXT'), ' DATE', ' TEXT')
 WHERE type = 'table'
   AND (instr(sql, ' TIMESTAMP') > 0 OR instr(sql, ' DATE') > 0);
-- RESET turns the writing off and makes this connection read its schema again (documented
-- with the pragma); the real schema change below bumps the schema cookie, so that every other
-- open connection (the pool's, the writer) reads it again before its next statement.
PRAGMA writable_schema = RESET;
CREATE TABLE timestamps_migration_cookie (x INTEGER);
DROP TABLE timestamps_migration_cookie;
