DROP INDEX case_events_resolved;
