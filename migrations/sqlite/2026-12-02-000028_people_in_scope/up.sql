-- The skills report counts the people in scope: not merged into another, of an organisation,
-- created before the period's end. Keyed in that order, the count reads this index alone
-- (département demo, admin, all time: 12 -> 3 ms on SQLite) instead of every row of people.
CREATE INDEX people_in_scope ON people(merged_into, organisation_id, created_at);
