-- Who was ever served, with their first and last day: one row per person with a row in
-- served_days, kept in step with it by rollups::activity. The reports' breakdowns count the
-- people of a period here (served on their first or last day in it, or, for those served
-- before and after it, on some day between) instead of probing served_days once per person
-- (100,000 people in the département's demo).
CREATE TABLE served_people (
    person_id INTEGER PRIMARY KEY NOT NULL,
    first_day DATE NOT NULL,
    last_day DATE NOT NULL
);
INSERT INTO served_people (person_id, first_day, last_day)
    SELECT person_id, MIN(day), MAX(day) FROM served_days GROUP BY person_id;
-- The breakdowns group the people served by these columns: read from the index alone.
CREATE INDEX people_breakdown ON people(gender, social_status, commune_insee, birth_year, id);
