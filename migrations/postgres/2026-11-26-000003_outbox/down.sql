DROP TABLE messages;
ALTER TABLE services DROP COLUMN what_to_bring;
ALTER TABLE participants DROP COLUMN confirmed_at;
ALTER TABLE people DROP COLUMN referent_consent;
