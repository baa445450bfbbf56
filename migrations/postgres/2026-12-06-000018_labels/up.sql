-- The labels feed pages through the closings in the order they were made.
CREATE INDEX case_events_resolved ON case_events (id) WHERE kind = 'case.resolved';
