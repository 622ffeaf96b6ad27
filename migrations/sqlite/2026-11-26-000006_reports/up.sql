-- Reports stay fast on a département's data (3,000,000 assessments, 1,000,000 appointments)
-- through two aggregates kept up to date by the code that changes their sources, in the same
-- transaction (src/reports/maintain.rs), and rebuilt from scratch when missing.

-- One row per person and skill: where they started, where they are, when they progressed.
CREATE TABLE skill_progress (
    person_id INTEGER NOT NULL REFERENCES people(id),
    skill_id INTEGER NOT NULL REFERENCES skills(id),
    domain_id INTEGER NOT NULL REFERENCES skill_domains(id),
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    first_level INTEGER NOT NULL,
    first_at TIMESTAMP NOT NULL,
    last_level INTEGER NOT NULL,
    last_at TIMESTAMP NOT NULL,
    -- the first assessment above the first level, and the first at the top of the scale
    progressed_at TIMESTAMP,
    autonomous_at TIMESTAMP,
    assessments INTEGER NOT NULL,
    -- how many assessments of the skill it took to become autonomous
    autonomous_after INTEGER,
    -- sessions the person attended until the first progress, and until autonomy
    sessions_to_progress INTEGER,
    sessions_to_autonomy INTEGER,
    last_place_id INTEGER REFERENCES places(id),
    last_author_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (person_id, skill_id)
);
CREATE INDEX skill_progress_organisation ON skill_progress(organisation_id, last_at);
CREATE INDEX skill_progress_last ON skill_progress(last_at);
-- Covering indexes: the department-wide report reads these instead of the table.
CREATE INDEX skill_progress_domains ON skill_progress(person_id, domain_id, last_level, first_level, autonomous_after, sessions_to_progress, sessions_to_autonomy, last_at, organisation_id);
CREATE INDEX skill_progress_skills ON skill_progress(skill_id, last_level, first_level, autonomous_after, last_at, organisation_id);
CREATE INDEX skill_progress_progressed ON skill_progress(progressed_at);
CREATE INDEX skill_progress_autonomous ON skill_progress(autonomous_at);
CREATE INDEX skill_progress_first ON skill_progress(first_at);

-- One row per person and domain, from their skills in it: progressed when any progressed,
-- autonomous when every one assessed is at the top; dated by the latest assessment.
CREATE TABLE domain_progress (
    person_id INTEGER NOT NULL REFERENCES people(id),
    domain_id INTEGER NOT NULL REFERENCES skill_domains(id),
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    last_at TIMESTAMP NOT NULL,
    last_place_id INTEGER REFERENCES places(id),
    last_author_id INTEGER NOT NULL REFERENCES users(id),
    skills INTEGER NOT NULL,
    progressed INTEGER NOT NULL,
    autonomous INTEGER NOT NULL,
    gain INTEGER NOT NULL,
    autonomous_skills INTEGER NOT NULL,
    assessments_to_autonomy INTEGER NOT NULL,
    sessions_to_progress INTEGER,
    sessions_to_autonomy INTEGER NOT NULL,
    PRIMARY KEY (person_id, domain_id)
);
CREATE INDEX domain_progress_organisation ON domain_progress(organisation_id, last_at);
CREATE INDEX domain_progress_domains ON domain_progress(domain_id, progressed, autonomous, gain, skills, autonomous_skills, assessments_to_autonomy, sessions_to_progress, sessions_to_autonomy, last_at, organisation_id);

-- Activity per local day, mediator and place; programme_id 0 counts everyone, and each
-- programme has its own rows counting only its people.
CREATE TABLE activity_days (
    day DATE NOT NULL,
    mediator_id INTEGER NOT NULL REFERENCES users(id),
    place_id INTEGER NOT NULL REFERENCES places(id),
    programme_id INTEGER NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    appointments INTEGER NOT NULL,
    workshops INTEGER NOT NULL,
    cancelled_appointments INTEGER NOT NULL,
    booked INTEGER NOT NULL,
    attended INTEGER NOT NULL,
    no_show INTEGER NOT NULL,
    excused INTEGER NOT NULL,
    cancelled INTEGER NOT NULL,
    minutes INTEGER NOT NULL,
    PRIMARY KEY (day, mediator_id, place_id, programme_id)
);
CREATE INDEX activity_days_programme ON activity_days(programme_id, day);
CREATE INDEX activity_days_organisation ON activity_days(organisation_id, programme_id, day);

-- The same, month by month (month = its first day): a long period reads whole months here and
-- only the days at either end from activity_days. Recomputed from activity_days.
CREATE TABLE activity_months (
    month DATE NOT NULL,
    mediator_id INTEGER NOT NULL REFERENCES users(id),
    place_id INTEGER NOT NULL REFERENCES places(id),
    programme_id INTEGER NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    appointments INTEGER NOT NULL,
    workshops INTEGER NOT NULL,
    cancelled_appointments INTEGER NOT NULL,
    booked INTEGER NOT NULL,
    attended INTEGER NOT NULL,
    no_show INTEGER NOT NULL,
    excused INTEGER NOT NULL,
    cancelled INTEGER NOT NULL,
    minutes INTEGER NOT NULL,
    PRIMARY KEY (month, mediator_id, place_id, programme_id)
);
CREATE INDEX activity_months_programme ON activity_months(programme_id, month);

-- Sessions per thématique, on the same key.
CREATE TABLE topic_days (
    day DATE NOT NULL,
    mediator_id INTEGER NOT NULL REFERENCES users(id),
    place_id INTEGER NOT NULL REFERENCES places(id),
    programme_id INTEGER NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    topic TEXT NOT NULL,
    sessions INTEGER NOT NULL,
    PRIMARY KEY (day, mediator_id, place_id, programme_id, topic)
);
CREATE INDEX topic_days_programme ON topic_days(programme_id, day);
CREATE INDEX topic_days_organisation ON topic_days(organisation_id, programme_id, day);

-- Thématiques month by month per organisation (a place or mediator filter reads topic_days).
CREATE TABLE topic_months (
    month DATE NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    programme_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    sessions INTEGER NOT NULL,
    PRIMARY KEY (month, organisation_id, programme_id, topic)
);
CREATE INDEX topic_months_programme ON topic_months(programme_id, month, organisation_id, topic, sessions);
CREATE INDEX topic_days_month ON topic_days(organisation_id, day);

-- Appointments changed since the activity rows were last computed: booking only notes them
-- here (one cheap insert on the hot path); reports bring those rows up to date first.
CREATE TABLE activity_dirty (
    id INTEGER PRIMARY KEY NOT NULL,
    mediator_id INTEGER NOT NULL,
    place_id INTEGER NOT NULL,
    starts_at TIMESTAMP NOT NULL
);

-- Exports and reports walk these.
CREATE INDEX participants_appointment ON participants(appointment_id, status);
CREATE INDEX appointments_starts ON appointments(starts_at);
CREATE INDEX assessments_assessed ON assessments(assessed_at);
CREATE INDEX assignments_equipment ON assignments(equipment_id, handed_over_on);
