-- Monthly roll-ups of skill_progress and domain_progress for the skills report, kept by the
-- writers with each person's refresh (the difference of their rows before and after) and
-- rebuilt with the other aggregates. `month` is the first day of the UTC month of `last_at`
-- (of first_at, progressed_at and autonomous_at in progress_months); programme_id 0 counts
-- everyone, each programme its members.
CREATE TABLE skill_months (
    month DATE NOT NULL,
    organisation_id INTEGER NOT NULL,
    programme_id INTEGER NOT NULL,
    skill_id INTEGER NOT NULL,
    people INTEGER NOT NULL,
    progressed INTEGER NOT NULL,
    autonomous INTEGER NOT NULL,
    gain INTEGER NOT NULL,
    to_autonomy INTEGER NOT NULL,
    autonomous_pairs INTEGER NOT NULL,
    PRIMARY KEY (month, organisation_id, programme_id, skill_id)
);

CREATE TABLE domain_months (
    month DATE NOT NULL,
    organisation_id INTEGER NOT NULL,
    programme_id INTEGER NOT NULL,
    domain_id INTEGER NOT NULL,
    people INTEGER NOT NULL,
    progressed INTEGER NOT NULL,
    autonomous INTEGER NOT NULL,
    gain INTEGER NOT NULL,
    skills INTEGER NOT NULL,
    assessments_to_autonomy INTEGER NOT NULL,
    autonomous_skills INTEGER NOT NULL,
    sessions_to_progress INTEGER NOT NULL,
    sessions_to_autonomy INTEGER NOT NULL,
    PRIMARY KEY (month, organisation_id, programme_id, domain_id)
);

CREATE TABLE progress_months (
    month DATE NOT NULL,
    organisation_id INTEGER NOT NULL,
    programme_id INTEGER NOT NULL,
    started INTEGER NOT NULL,
    progressed INTEGER NOT NULL,
    autonomous INTEGER NOT NULL,
    PRIMARY KEY (month, organisation_id, programme_id)
);
