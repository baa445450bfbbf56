-- The knowledge base: articles on fraud patterns in English and Simplified Chinese,
-- linked to rules, each edit kept as a version, and who has read which version.
CREATE TABLE articles (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- draft | published | retired
    status         TEXT NOT NULL,
    title_en       TEXT NOT NULL,
    title_zh       TEXT NOT NULL,
    body_en        TEXT NOT NULL,
    body_zh        TEXT NOT NULL,
    -- Both titles, both bodies and the rule codes, lower-cased with runs of white
    -- space made one space: what a search matches substrings in.
    search_text    TEXT NOT NULL,
    -- The current version's number (1 when written).
    version        INTEGER NOT NULL,
    -- The version a reader must have read for the article not to be new to them:
    -- the first published one, or a later edit whose editor chose to notify.
    notify_version INTEGER NOT NULL,
    -- The resolved case the article was written from ("what we learned").
    source_case_id BIGINT REFERENCES cases (id),
    author_id      BIGINT NOT NULL REFERENCES users (id),
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    updated_by     BIGINT NOT NULL REFERENCES users (id),
    -- First published.
    published_at   TIMESTAMP,
    -- Since when it is new to readers: its publication, or an edit that notified.
    notified_at    TIMESTAMP,
    retired_at     TIMESTAMP
);
-- The sign-in banner: the published articles new since a week ago.
CREATE INDEX articles_new ON articles (status, notified_at);
-- The list, most recently changed first (a search reads it in that order and
-- stops at a page's worth).
CREATE INDEX articles_updated ON articles (updated_at, id);
-- The case page: a rule's published articles, newest first.
CREATE INDEX articles_published ON articles (status, published_at);
-- The case page: the articles written from a case.
CREATE INDEX articles_source_case ON articles (source_case_id);

CREATE TABLE article_rules (
    article_id BIGINT NOT NULL REFERENCES articles (id),
    rule_code  TEXT NOT NULL,
    PRIMARY KEY (article_id, rule_code)
);
-- The case page and the list's filter: a rule's articles.
CREATE INDEX article_rules_rule ON article_rules (rule_code, article_id);

-- Every version of every article, the first included: who wrote it and when.
CREATE TABLE article_versions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id BIGINT NOT NULL REFERENCES articles (id),
    version    INTEGER NOT NULL,
    title_en   TEXT NOT NULL,
    title_zh   TEXT NOT NULL,
    body_en    TEXT NOT NULL,
    body_zh    TEXT NOT NULL,
    -- The rule codes, comma-separated, in order.
    rules      TEXT NOT NULL,
    -- The editor asked for the article to be new again to its readers.
    notify     BOOLEAN NOT NULL DEFAULT 0,
    edited_by  BIGINT NOT NULL REFERENCES users (id),
    edited_at  TIMESTAMP NOT NULL,
    UNIQUE (article_id, version)
);

-- One row per reader and article: the newest version they have opened, and when.
CREATE TABLE article_reads (
    user_id    BIGINT NOT NULL REFERENCES users (id),
    article_id BIGINT NOT NULL REFERENCES articles (id),
    version    INTEGER NOT NULL,
    read_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, article_id)
);
-- The supervisor's report: an article's readers.
CREATE INDEX article_reads_article ON article_reads (article_id, user_id);
