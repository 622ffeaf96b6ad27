ALTER TABLE services DROP COLUMN self_reschedule;
