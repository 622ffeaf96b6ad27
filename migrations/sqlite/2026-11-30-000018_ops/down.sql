ALTER TABLE webhooks DROP COLUMN disabled_at;
