-- The person page lists a person's messages, latest first.
CREATE INDEX messages_person ON messages(person_id, due_at);
