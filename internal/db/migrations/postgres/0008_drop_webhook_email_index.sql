-- The webhook log's email filter is a substring match (LIKE '%x%'), which no
-- index serves; the index only cost every webhook insert an update.
DROP INDEX webhook_events_email;
