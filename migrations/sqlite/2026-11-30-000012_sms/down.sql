DROP TABLE short_links;
DELETE FROM messages WHERE channel = 'sms';
CREATE TABLE messages_old (
    id INTEGER PRIMARY KEY NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    appointment_id INTEGER REFERENCES appointments(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion', 'handover')),
    recipient TEXT NOT NULL,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('person', 'referent')),
    sequence INTEGER NOT NULL,
    due_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    locked_by TEXT,
    locked_until TIMESTAMP,
    sent_at TIMESTAMP,
    subject TEXT,
    body TEXT,
    created_at TIMESTAMP NOT NULL,
    assignment_id INTEGER REFERENCES assignments(id),
    CONSTRAINT messages_subject CHECK (
        (kind = 'handover' AND assignment_id IS NOT NULL AND appointment_id IS NULL)
        OR (kind <> 'handover' AND appointment_id IS NOT NULL AND assignment_id IS NULL)
    )
);
INSERT INTO messages_old (id, organisation_id, appointment_id, person_id, kind, recipient,
        recipient_kind, sequence, due_at, status, attempts, last_error, locked_by, locked_until,
        sent_at, subject, body, created_at, assignment_id)
    SELECT id, organisation_id, appointment_id, person_id, kind, recipient, recipient_kind,
        sequence, due_at, status, attempts, last_error, locked_by, locked_until, sent_at,
        subject, body, created_at, assignment_id
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_old RENAME TO messages;
CREATE INDEX messages_due ON messages(status, due_at);
CREATE INDEX messages_appointment ON messages(appointment_id, person_id);
CREATE INDEX messages_organisation ON messages(organisation_id, status);
CREATE INDEX messages_assignment ON messages(assignment_id);
CREATE INDEX messages_unpurged ON messages(status) WHERE recipient <> '';
DROP INDEX people_phone_number;
ALTER TABLE people DROP COLUMN language;
ALTER TABLE people DROP COLUMN sms_consent;
