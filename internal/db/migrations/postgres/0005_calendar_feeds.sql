-- A secret per-student link to an iCalendar feed of their bookings. The hash
-- finds the student; the sealed copy lets the page show the link again.
CREATE TABLE calendar_feeds (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    token_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
