-- Acceptances by email made without a staff member and the handover messages have no place in
-- the previous schema: they are dropped.
DELETE FROM equipment_events WHERE actor_id IS NULL;
CREATE TABLE equipment_events_old (
    id INTEGER PRIMARY KEY NOT NULL,
    equipment_id INTEGER NOT NULL REFERENCES equipment(id),
    person_id INTEGER REFERENCES people(id),
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    actor_id INTEGER NOT NULL REFERENCES users(id),
    at TIMESTAMP NOT NULL
);
INSERT INTO equipment_events_old (id, equipment_id, person_id, action, status, note, actor_id, at)
    SELECT id, equipment_id, person_id, action, status, note, actor_id, at FROM equipment_events;
DROP TABLE equipment_events;
ALTER TABLE equipment_events_old RENAME TO equipment_events;
CREATE INDEX equipment_events_equipment ON equipment_events(equipment_id, at);
CREATE INDEX equipment_events_person ON equipment_events(person_id);

DELETE FROM messages WHERE kind = 'handover';
CREATE TABLE messages_old (
    id INTEGER PRIMARY KEY NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion')),
    recipient TEXT NOT NULL,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('person', 'referent')),
    -- the appointment's SEQUENCE when the message was written (for the ICS)
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
    created_at TIMESTAMP NOT NULL
);
INSERT INTO messages_old (id, organisation_id, appointment_id, person_id, kind, recipient,
        recipient_kind, sequence, due_at, status, attempts, last_error, locked_by, locked_until,
        sent_at, subject, body, created_at)
    SELECT id, organisation_id, appointment_id, person_id, kind, recipient, recipient_kind,
        sequence, due_at, status, attempts, last_error, locked_by, locked_until, sent_at,
        subject, body, created_at
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_old RENAME TO messages;
CREATE INDEX messages_due ON messages(status, due_at);
CREATE INDEX messages_appointment ON messages(appointment_id, person_id);
CREATE INDEX messages_organisation ON messages(organisation_id, status);

ALTER TABLE assignments DROP COLUMN accepted_at;
