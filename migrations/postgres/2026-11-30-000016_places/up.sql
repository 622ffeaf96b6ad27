-- The national standard of places of médiation numérique (issue 19): a place's SIRET, the
-- services it offers and how to reach it (lists of the standard's labels, `|`-separated), its
-- kind (the standard's typologie codes), a short presentation, and its own opening hours as an
-- OpenStreetMap `opening_hours` string (else they come from the mediators' hours there).
ALTER TABLE places ADD COLUMN siret TEXT;
ALTER TABLE places ADD COLUMN services TEXT NOT NULL DEFAULT '';
ALTER TABLE places ADD COLUMN modalites_acces TEXT NOT NULL DEFAULT '';
ALTER TABLE places ADD COLUMN typologie TEXT;
ALTER TABLE places ADD COLUMN presentation_resume TEXT;
ALTER TABLE places ADD COLUMN opening_hours TEXT;
