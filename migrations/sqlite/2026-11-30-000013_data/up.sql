-- Funder fields (issue 19): a person's gender, social status and commune (INSEE code); where a
-- session took place and where the person was sent, per participant; people who came to a
-- workshop without a record, per appointment.
ALTER TABLE people ADD COLUMN gender TEXT;
ALTER TABLE people ADD COLUMN social_status TEXT;
ALTER TABLE people ADD COLUMN commune_insee TEXT;
-- A person merged into another keeps an empty row pointing at the kept one.
ALTER TABLE people ADD COLUMN merged_into INTEGER REFERENCES people(id);

ALTER TABLE session_logs ADD COLUMN location_type TEXT;
ALTER TABLE session_logs ADD COLUMN orientation_note TEXT;
-- `orientation` becomes one of the Coop's codes: a free text written before moves to the note.
UPDATE session_logs SET orientation_note = orientation, orientation = 'autre'
 WHERE orientation IS NOT NULL AND orientation NOT IN ('administration', 'mediation_numerique',
   'operateur_ou_organisme_en_charge', 'aide_sociale', 'insertion_professionnelle',
   'aide_aux_demarches_administratives', 'autre');

CREATE TABLE anonymous_attendees (
    appointment_id INTEGER PRIMARY KEY NOT NULL REFERENCES appointments(id),
    attendees INTEGER NOT NULL CHECK (attendees >= 0)
);
