DROP INDEX saved_views_shared;
DROP TABLE saved_views;
