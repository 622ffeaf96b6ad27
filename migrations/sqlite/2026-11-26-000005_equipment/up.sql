-- Equipment: inventory, handovers (donations and loans) and an append-only history.

CREATE TABLE equipment (
    id INTEGER PRIMARY KEY NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL CHECK (kind IN ('tablet', 'laptop', 'smartphone', 'sim_card', 'hotspot', 'other')),
    model TEXT,
    serial TEXT UNIQUE,
    imei TEXT UNIQUE,
    iccid TEXT UNIQUE,
    phone_number TEXT,
    operator TEXT,
    data_allowance TEXT,
    valid_until DATE,
    programme_id INTEGER REFERENCES programmes(id),
    status TEXT NOT NULL CHECK (status IN ('in_stock', 'assigned', 'lost', 'broken', 'retired')),
    current_holder_id INTEGER REFERENCES people(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX equipment_organisation ON equipment(organisation_id, kind, status);
CREATE INDEX equipment_holder ON equipment(current_holder_id);

CREATE TABLE assignments (
    id INTEGER PRIMARY KEY NOT NULL,
    equipment_id INTEGER NOT NULL REFERENCES equipment(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    mode TEXT NOT NULL CHECK (mode IN ('donation', 'loan')),
    handed_over_on DATE NOT NULL,
    due_back_on DATE,
    acceptance TEXT NOT NULL CHECK (acceptance IN ('paper_signature', 'typed_name', 'email_confirmation')),
    accepted_by_name TEXT,
    returned_on DATE,
    return_condition TEXT,
    author_id INTEGER NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
-- One holder at a time, whatever the races.
CREATE UNIQUE INDEX assignments_one_holder ON assignments(equipment_id) WHERE returned_on IS NULL;
CREATE INDEX assignments_person ON assignments(person_id);

CREATE TABLE equipment_events (
    id INTEGER PRIMARY KEY NOT NULL,
    equipment_id INTEGER NOT NULL REFERENCES equipment(id),
    person_id INTEGER REFERENCES people(id),
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    actor_id INTEGER NOT NULL REFERENCES users(id),
    at TIMESTAMP NOT NULL
);
CREATE INDEX equipment_events_equipment ON equipment_events(equipment_id, at);
CREATE INDEX equipment_events_person ON equipment_events(person_id);

-- A session where the person used a lent device names that device.
ALTER TABLE session_logs ADD COLUMN equipment_id INTEGER REFERENCES equipment(id);
