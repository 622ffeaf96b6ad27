DROP TABLE anonymous_attendees;
UPDATE session_logs SET orientation = orientation_note WHERE orientation = 'autre' AND orientation_note IS NOT NULL;
ALTER TABLE session_logs DROP COLUMN orientation_note;
ALTER TABLE session_logs DROP COLUMN location_type;
ALTER TABLE people DROP COLUMN merged_into;
ALTER TABLE people DROP COLUMN commune_insee;
ALTER TABLE people DROP COLUMN social_status;
ALTER TABLE people DROP COLUMN gender;
