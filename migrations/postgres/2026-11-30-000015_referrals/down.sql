DELETE FROM messages WHERE kind = 'receipt';
ALTER TABLE messages DROP CONSTRAINT messages_subject;
ALTER TABLE messages ADD CONSTRAINT messages_subject CHECK (
    (kind = 'handover' AND assignment_id IS NOT NULL AND appointment_id IS NULL)
    OR (kind = 'reply' AND assignment_id IS NULL AND channel = 'sms' AND body IS NOT NULL)
    OR (kind NOT IN ('handover', 'reply') AND appointment_id IS NOT NULL AND assignment_id IS NULL)
);
ALTER TABLE messages DROP CONSTRAINT messages_recipient_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_recipient_kind_check CHECK (recipient_kind IN ('person', 'referent'));
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion', 'handover', 'reply'));
