-- Issue 16: tariffs. A rule matches a GetCourse offer (by id, code or the
-- position's title) and says what a paid purchase of it gives: access, a
-- booking limit, hours of server time, days of access. Each paid deal
-- keeps what it gave when it was applied, so changing a rule changes deals
-- from then on, until an admin recomputes.
CREATE TABLE offer_rules (
    id INTEGER PRIMARY KEY,
    match_kind TEXT NOT NULL,
    match_value TEXT NOT NULL,
    grants_access INTEGER NOT NULL DEFAULT 1,
    booking_limit INTEGER NOT NULL DEFAULT 0,
    hours INTEGER NOT NULL DEFAULT 0,
    access_days INTEGER NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (match_kind, match_value)
);

ALTER TABLE deals ADD COLUMN grant_limit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deals ADD COLUMN grant_hours INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deals ADD COLUMN grant_until BIGINT;
ALTER TABLE deals ADD COLUMN grant_note TEXT NOT NULL DEFAULT '';
