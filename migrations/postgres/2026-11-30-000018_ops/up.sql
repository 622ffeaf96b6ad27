-- A webhook can be paused from its page: no new deliveries are written for it, and those
-- already waiting are held until it is resumed.
ALTER TABLE webhooks ADD COLUMN disabled_at TIMESTAMP;
