-- Issue 12: deals as GetCourse really reports them (Tech API and process
-- calls), and the intake's memory of each subject's last state, which makes
-- "the same state twice in a row" one event while a payment after a refund
-- stays a new one.
ALTER TABLE deals ADD COLUMN getcourse_user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE deals ADD COLUMN payed_value TEXT NOT NULL DEFAULT '';
ALTER TABLE deals ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE deals ADD COLUMN offer_ids TEXT NOT NULL DEFAULT '';
ALTER TABLE deals ADD COLUMN paid_at BIGINT;

CREATE TABLE webhook_heads (
    subject TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    seq INTEGER NOT NULL
);

-- The deal an accepted event is about, so that its processing can apply
-- earlier events of the same deal or student first, whatever worker took
-- them. The indexes hold only unprocessed events, so they stay small.
ALTER TABLE webhook_events ADD COLUMN subject TEXT;
CREATE INDEX webhook_events_unfinished_subject ON webhook_events (subject, id)
    WHERE state IN ('pending', 'retrying') AND subject IS NOT NULL;
CREATE INDEX webhook_events_unfinished_email ON webhook_events (email, id)
    WHERE state IN ('pending', 'retrying') AND email <> '';
