-- Who was served: one row per person, local day, mediator and place where the person attended
-- an appointment that was not cancelled. The reports' breakdowns count distinct people here
-- instead of walking every participation (1.4 million in the département's demo). Kept in step
-- with activity_days by reports::maintain (the same keys, refreshed together).
CREATE TABLE served_days (
    person_id INTEGER NOT NULL,
    day DATE NOT NULL,
    mediator_id INTEGER NOT NULL,
    place_id INTEGER NOT NULL,
    organisation_id INTEGER NOT NULL,
    PRIMARY KEY (person_id, day, mediator_id, place_id)
);
CREATE INDEX served_days_organisation ON served_days(organisation_id, day, person_id);
CREATE INDEX served_days_mediator ON served_days(mediator_id, day, place_id, person_id);
CREATE INDEX served_days_place ON served_days(place_id, day, person_id);
