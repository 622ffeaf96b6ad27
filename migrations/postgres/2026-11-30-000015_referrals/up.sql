-- Public booking and referrals: who may book a service, the organisation's public slug, the
-- referral requests sent from the public page, and the counters that throttle the public.

ALTER TABLE services ADD COLUMN bookable_by TEXT NOT NULL DEFAULT 'staff';

-- Filled from the name at start for organisations that have none (see organisations::fill_slugs).
ALTER TABLE organisations ADD COLUMN slug TEXT;
CREATE UNIQUE INDEX organisations_slug ON organisations(slug);

CREATE TABLE referrals (
    id SERIAL PRIMARY KEY,
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
    id SERIAL PRIMARY KEY,
    bucket TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX public_attempts_bucket ON public_attempts(bucket, created_at);

-- The referrer's receipt: an email (kind `receipt`, to the `referrer`) whose subject and text
-- are written with it.
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion', 'handover', 'reply', 'receipt'));
ALTER TABLE messages DROP CONSTRAINT messages_recipient_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_recipient_kind_check
    CHECK (recipient_kind IN ('person', 'referent', 'referrer'));
ALTER TABLE messages DROP CONSTRAINT messages_subject;
ALTER TABLE messages ADD CONSTRAINT messages_subject CHECK (
    (kind = 'handover' AND assignment_id IS NOT NULL AND appointment_id IS NULL)
    OR (kind = 'reply' AND assignment_id IS NULL AND channel = 'sms' AND body IS NOT NULL)
    OR (kind = 'receipt' AND assignment_id IS NULL AND channel = 'email' AND recipient_kind = 'referrer')
    OR (kind NOT IN ('handover', 'reply', 'receipt') AND appointment_id IS NOT NULL AND assignment_id IS NULL)
);
