-- What `booksmeta import-legacy` brought over from the PHP version: one row
-- per imported legacy row, so a second run adds nothing.
CREATE TABLE legacy_map (
    kind TEXT NOT NULL,
    legacy_id TEXT NOT NULL,
    new_id BIGINT NOT NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (kind, legacy_id)
);
