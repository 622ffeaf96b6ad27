DROP TABLE public_attempts;
DROP TABLE referrals;
DROP INDEX organisations_slug;
ALTER TABLE organisations DROP COLUMN slug;
ALTER TABLE services DROP COLUMN bookable_by;
