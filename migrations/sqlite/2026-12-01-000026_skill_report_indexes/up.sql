-- The skills report sums the monthly roll-ups of one programme (0: every programme) over
-- every month and organisation in scope, grouped by skill or domain. Keyed by programme, then
-- the group, with every summed column in the index: the rows are read in group order from the
-- index alone, without a sort (département demo, admin, all time: skill_months 73 -> 24 ms,
-- domain_months 38 -> 9 ms on SQLite).
CREATE INDEX skill_months_programme ON skill_months(programme_id, skill_id, month, organisation_id,
    people, progressed, autonomous, gain, to_autonomy, autonomous_pairs);
CREATE INDEX domain_months_programme ON domain_months(programme_id, domain_id, month, organisation_id,
    people, progressed, autonomous, gain, skills, assessments_to_autonomy, autonomous_skills,
    sessions_to_progress, sessions_to_autonomy);
