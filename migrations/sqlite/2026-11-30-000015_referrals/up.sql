-- Public booking and referrals: who may book a service, the organisation's public slug, the
-- referral requests sent from the public page, and the counters that throttle the public.

ALTER TABLE services ADD COLUMN bookable_by TEXT NOT NULL DEFAULT 'staff';

-- Filled from the name at start for organisations that have none (see organisations::fill_slugs).
ALTER TABLE organisations ADD COLUMN slug TEXT;
CREATE UNIQUE INDEX organisations_slug ON organisations(slug);

CREATE TABLE referrals (
    id INTEGER PRIMARY KEY NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    referrer_name TEXT NOT NULL,
    referrer_organisation TEXT NOT NULL,
    referrer_email TEXT NOT NULL,
    referrer_phone TEXT,
    topics TEXT NOT NULL,
    message TEXT,
    status TEXT NOT NULL DEFAULT 'new',
    appointment_id INTEGER REFERENCES appointments(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX referrals_organisation_status ON referrals(organisation_id, status, created_at);
CREATE INDEX referrals_person ON referrals(person_id);

-- One row per public attempt: a keyed hash of the client address or of the phone number,
-- never the address or number itself. Rows older than a day are deleted as new ones come.
CREATE TABLE public_attempts (
    id INTEGER PRIMARY KEY NOT NULL,
    bucket TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX public_attempts_bucket ON public_attempts(bucket, created_at);

-- The referrer's receipt: an email (kind `receipt`, to the `referrer`) whose subject and text
-- are written with it. SQLite cannot change a CHECK in place: the table is rebuilt.
CREATE TABLE messages_new (
    id INTEGER PRIMARY KEY NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    appointment_id INTEGER REFERENCES appointments(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion', 'handover', 'reply', 'receipt')),
    recipient TEXT NOT NULL,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('person', 'referent', 'referrer')),
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
    channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms')),
    -- what the SMS gateway reported last: delivered or failed (NULL: nothing yet)
    delivery TEXT CHECK (delivery IN ('delivered', 'failed')),
    CONSTRAINT messages_subject CHECK (
        (kind = 'handover' AND assignment_id IS NOT NULL AND appointment_id IS NULL)
        OR (kind = 'reply' AND assignment_id IS NULL AND channel = 'sms' AND body IS NOT NULL)
        OR (kind = 'receipt' AND assignment_id IS NULL AND channel = 'email' AND recipient_kind = 'referrer')
        OR (kind NOT IN ('handover', 'reply', 'receipt') AND appointment_id IS NOT NULL AND assignment_id IS NULL)
    )
);
INSERT INTO messages_new (id, organisation_id, appointment_id, person_id, kind, recipient,
        recipient_kind, sequence, due_at, status, attempts, last_error, locked_by, locked_until,
        sent_at, subject, body, created_at, assignment_id, channel, delivery)
    SELECT id, organisation_id, appointment_id, person_id, kind, recipient, recipient_kind,
        sequence, due_at, status, attempts, last_error, locked_by, locked_until, sent_at,
        subject, body, created_at, assignment_id, channel, delivery
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_due ON messages(status, due_at);
CREATE INDEX messages_appointment ON messages(appointment_id, person_id);
CREATE INDEX messages_organisation ON messages(organisation_id, status);
CREATE INDEX messages_assignment ON messages(assignment_id);
CREATE INDEX messages_unpurged ON messages(status) WHERE recipient <> '';
