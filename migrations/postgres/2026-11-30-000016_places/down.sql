ALTER TABLE places DROP COLUMN opening_hours;
ALTER TABLE places DROP COLUMN presentation_resume;
ALTER TABLE places DROP COLUMN typologie;
ALTER TABLE places DROP COLUMN modalites_acces;
ALTER TABLE places DROP COLUMN services;
ALTER TABLE places DROP COLUMN siret;
