DROP TABLE short_links;
DELETE FROM messages WHERE channel = 'sms';
ALTER TABLE messages DROP CONSTRAINT messages_subject;
ALTER TABLE messages ADD CONSTRAINT messages_subject CHECK (
    (kind = 'handover' AND assignment_id IS NOT NULL AND appointment_id IS NULL)
    OR (kind <> 'handover' AND appointment_id IS NOT NULL AND assignment_id IS NULL)
);
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion', 'handover'));
ALTER TABLE messages DROP COLUMN delivery;
ALTER TABLE messages DROP COLUMN channel;
DROP INDEX people_phone_number;
ALTER TABLE people DROP COLUMN language;
ALTER TABLE people DROP COLUMN sms_consent;
