-- Handovers accepted by email: the outbox also carries the confirmation link of a handover, so
-- a message names either an appointment or an assignment; an acceptance made from that link has
-- no staff member behind it.

-- When the person accepted the handover; NULL while an email confirmation is awaited.
ALTER TABLE assignments ADD COLUMN accepted_at TIMESTAMP;
UPDATE assignments SET accepted_at = created_at WHERE acceptance <> 'email_confirmation';

-- SQLite cannot change a CHECK or a NOT NULL in place: both tables are rebuilt, with their
-- indexes (no table references them, no trigger is defined on them).
CREATE TABLE messages_new (
    id INTEGER PRIMARY KEY NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    appointment_id INTEGER REFERENCES appointments(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion', 'handover')),
    recipient TEXT NOT NULL,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('person', 'referent')),
    -- the appointment's SEQUENCE when the message was written (for the ICS); 0 for a handover
    sequence INTEGER NOT NULL,
    due_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    locked_by TEXT,
    locked_until TIMESTAMP,
    sent_at TIMESTAMP,
    subject TEXT,
    -- the plain-text body as sent, purged after 30 days
    body TEXT,
    created_at TIMESTAMP NOT NULL,
    -- the handover a `handover` message asks the person to accept
    assignment_id INTEGER REFERENCES assignments(id),
    CONSTRAINT messages_subject CHECK (
        (kind = 'handover' AND assignment_id IS NOT NULL AND appointment_id IS NULL)
        OR (kind <> 'handover' AND appointment_id IS NOT NULL AND assignment_id IS NULL)
    )
);
INSERT INTO messages_new (id, organisation_id, appointment_id, person_id, kind, recipient,
        recipient_kind, sequence, due_at, status, attempts, last_error, locked_by, locked_until,
        sent_at, subject, body, created_at, assignment_id)
    SELECT id, organisation_id, appointment_id, person_id, kind, recipient, recipient_kind,
        sequence, due_at, status, attempts, last_error, locked_by, locked_until, sent_at,
        subject, body, created_at, NULL
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_due ON messages(status, due_at);
CREATE INDEX messages_appointment ON messages(appointment_id, person_id);
CREATE INDEX messages_organisation ON messages(organisation_id, status);
CREATE INDEX messages_assignment ON messages(assignment_id);

CREATE TABLE equipment_events_new (
    id INTEGER PRIMARY KEY NOT NULL,
    equipment_id INTEGER NOT NULL REFERENCES equipment(id),
    person_id INTEGER REFERENCES people(id),
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    -- NULL when the person did it themselves (a handover accepted from the email's link)
    actor_id INTEGER REFERENCES users(id),
    at TIMESTAMP NOT NULL
);
INSERT INTO equipment_events_new (id, equipment_id, person_id, action, status, note, actor_id, at)
    SELECT id, equipment_id, person_id, action, status, note, actor_id, at FROM equipment_events;
DROP TABLE equipment_events;
ALTER TABLE equipment_events_new RENAME TO equipment_events;
CREATE INDEX equipment_events_equipment ON equipment_events(equipment_id, at);
CREATE INDEX equipment_events_person ON equipment_events(person_id);
