// Quality review of resolved cases: the sample waiting for review (newest first,
// keyset pages), a supervisor's scored checklist stored once per case with its
// timeline event, and the pass rates of the reviews so far.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{cases, qa_reviews, queues, users};
use crate::db::{DbConn, write_tx};
use crate::domain::qa::Scorecard;
use crate::store::cases::{self as case_store};
use crate::store::{self};

#[derive(Debug, thiserror::Error)]
pub enum QaError {
    #[error("no such case")]
    NotFound,
    #[error("the case is not in the QA sample")]
    NotSampled,
    #[error("the case is open again")]
    Open,
    #[error("the case was reviewed already")]
    AlreadyReviewed,
    #[error("the case's resolver cannot review it")]
    OwnCase,
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

/// A stored review.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = qa_reviews)]
pub struct Review {
    pub id: i64,
    pub case_id: i64,
    pub reviewer_id: i64,
    pub resolver_id: Option<i64>,
    pub identity_verified: bool,
    pub disposition_supported: bool,
    pub communication_appropriate: bool,
    pub timeline_complete: bool,
    pub passed: bool,
    pub comment: Option<String>,
    pub reviewed_at: NaiveDateTime,
}

impl Review {
    /// The items in the checklist's order, each with whether it passed.
    pub fn items(&self) -> [(&'static str, bool); 4] {
        let v = [
            self.identity_verified,
            self.disposition_supported,
            self.communication_appropriate,
            self.timeline_complete,
        ];
        let mut out = [("", false); 4];
        for (i, name) in crate::domain::qa::ITEMS.iter().enumerate() {
            out[i] = (name, v[i]);
        }
        out
    }
}

/// Where a case stands with QA: (in the sample and waiting, reviewed at).
pub fn state(
    conn: &mut DbConn,
    case_id: i64,
) -> QueryResult<Option<(bool, Option<NaiveDateTime>)>> {
    cases::table
        .find(case_id)
        .select((cases::qa_pending, cases::qa_reviewed_at))
        .first(conn)
        .optional()
}

/// The review of a case, if it has one.
pub fn review_of(conn: &mut DbConn, case_id: i64) -> QueryResult<Option<Review>> {
    qa_reviews::table
        .filter(qa_reviews::case_id.eq(case_id))
        .select(Review::as_select())
        .first(conn)
        .optional()
}

/// Scores a sampled case, once, in one transaction: the review row, the case no
/// longer waiting, and `qa.reviewed` on its timeline. The case's resolver may not
/// review it; a case reopened since is refused until it is resolved again.
pub fn review(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    reviewer: i64,
    case_id: i64,
    card: &Scorecard,
) -> Result<Review, QaError> {
    write_tx(conn, |conn| {
        let case = case_store::find(conn, case_id)?.ok_or(QaError::NotFound)?;
        let (pending, reviewed_at) = state(conn, case_id)?.ok_or(QaError::NotFound)?;
        if reviewed_at.is_some() {
            return Err(QaError::AlreadyReviewed);
        }
        if !pending {
            return Err(QaError::NotSampled);
        }
        if case.resolved_at.is_none() {
            return Err(QaError::Open);
        }
        if case.resolved_by == Some(reviewer) {
            return Err(QaError::OwnCase);
        }
        let at = store::to_db(now);
        let taken = diesel::update(
            cases::table
                .find(case_id)
                .filter(cases::qa_reviewed_at.is_null()),
        )
        .set((
            cases::qa_pending.eq(false),
            cases::qa_reviewed_at.eq(Some(at)),
            cases::updated_at.eq(at),
        ))
        .execute(conn)?;
        if taken == 0 {
            return Err(QaError::AlreadyReviewed);
        }
        let row: Review = diesel::insert_into(qa_reviews::table)
            .values((
                qa_reviews::case_id.eq(case_id),
                qa_reviews::reviewer_id.eq(reviewer),
                qa_reviews::resolver_id.eq(case.resolved_by),
                qa_reviews::identity_verified.eq(card.identity_verified),
                qa_reviews::disposition_supported.eq(card.disposition_supported),
                qa_reviews::communication_appropriate.eq(card.communication_appropriate),
                qa_reviews::timeline_complete.eq(card.timeline_complete),
                qa_reviews::passed.eq(card.passed()),
                qa_reviews::comment.eq(card.comment.as_deref()),
                qa_reviews::reviewed_at.eq(at),
            ))
            .returning(qa_reviews::all_columns)
            .get_result(conn)
            .map_err(|e| {
                if store::is_unique_violation(&e) {
                    QaError::AlreadyReviewed
                } else {
                    QaError::Db(e)
                }
            })?;
        case_store::add_event(
            conn,
            case_id,
            at,
            Some(reviewer),
            &crate::domain::CaseEvent::QaReviewed(crate::domain::events::QaReviewed {
                passed: card.passed(),
                failed: card.failed_items().iter().map(|s| s.to_string()).collect(),
                comment: card.comment.clone(),
            }),
        )?;
        Ok(row)
    })
}

/// A sampled case waiting for review, as the list shows it.
#[derive(Debug, Clone, Queryable)]
pub struct Waiting {
    pub id: i64,
    pub rule_code: String,
    pub disposition: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
    pub queue: String,
    pub resolver: Option<String>,
}

/// Where a page of the waiting list continues: after (resolved at, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub resolved_at: NaiveDateTime,
    pub id: i64,
}

impl Cursor {
    /// `<resolved at in µs since the epoch>.<id>`.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}",
            self.resolved_at.and_utc().timestamp_micros(),
            self.id
        )
    }

    pub fn parse(s: &str) -> Option<Cursor> {
        let (micros, id) = s.split_once('.')?;
        let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
        let at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
        Some(Cursor {
            resolved_at: at.naive_utc(),
            id,
        })
    }
}

/// One page of the sampled cases waiting for review, the newest resolved first
/// (through the partial index `cases_qa_pending`), and the cursor of the next.
pub fn waiting(
    conn: &mut DbConn,
    after: Option<Cursor>,
    limit: i64,
) -> QueryResult<(Vec<Waiting>, Option<Cursor>)> {
    let mut q = cases::table
        .inner_join(queues::table)
        .left_join(users::table.on(users::id.nullable().eq(cases::resolved_by)))
        .filter(cases::qa_pending)
        .filter(cases::resolved_at.is_not_null())
        .select((
            cases::id,
            cases::rule_code,
            cases::disposition,
            cases::resolved_at,
            queues::name,
            users::email.nullable(),
        ))
        .into_boxed();
    if let Some(c) = after {
        q = q.filter(
            cases::resolved_at
                .lt(c.resolved_at)
                .or(cases::resolved_at.eq(c.resolved_at).and(cases::id.lt(c.id))),
        );
    }
    let mut rows: Vec<Waiting> = q
        .order((cases::resolved_at.desc(), cases::id.desc()))
        .limit(limit + 1)
        .load(conn)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().and_then(|r| {
            r.resolved_at.map(|at| Cursor {
                resolved_at: at,
                id: r.id,
            })
        })
    } else {
        None
    };
    Ok((rows, next))
}

/// How many sampled cases wait for review.
pub fn waiting_count(conn: &mut DbConn) -> QueryResult<i64> {
    cases::table
        .filter(cases::qa_pending)
        .filter(cases::resolved_at.is_not_null())
        .count()
        .get_result(conn)
}

/// The reviews so far: how many, how many passed, and per checklist item how many
/// passed (in the checklist's order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rates {
    pub reviews: i64,
    pub passed: i64,
    pub items: [i64; 4],
}

impl Rates {
    /// A share in whole per cent, or None before the first review.
    pub fn percent(&self, n: i64) -> Option<i64> {
        (self.reviews > 0).then(|| (n * 100 + self.reviews / 2) / self.reviews)
    }
}

pub fn rates(conn: &mut DbConn) -> QueryResult<Rates> {
    let reviews = qa_reviews::table.count().get_result(conn)?;
    let passed = qa_reviews::table
        .filter(qa_reviews::passed.eq(true))
        .count()
        .get_result(conn)?;
    let items = [
        qa_reviews::table
            .filter(qa_reviews::identity_verified.eq(true))
            .count()
            .get_result(conn)?,
        qa_reviews::table
            .filter(qa_reviews::disposition_supported.eq(true))
            .count()
            .get_result(conn)?,
        qa_reviews::table
            .filter(qa_reviews::communication_appropriate.eq(true))
            .count()
            .get_result(conn)?,
        qa_reviews::table
            .filter(qa_reviews::timeline_complete.eq(true))
            .count()
            .get_result(conn)?,
    ];
    Ok(Rates {
        reviews,
        passed,
        items,
    })
}

/// The latest reviews, newest first, with the reviewer's e-mail.
pub fn recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<(Review, String)>> {
    qa_reviews::table
        .inner_join(users::table.on(users::id.eq(qa_reviews::reviewer_id)))
        .order((qa_reviews::reviewed_at.desc(), qa_reviews::id.desc()))
        .limit(limit)
        .select((Review::as_select(), users::email))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            resolved_at: DateTime::<Utc>::from_timestamp_micros(1_795_000_000_123_456)
                .unwrap()
                .naive_utc(),
            id: 42,
        };
        assert_eq!(Cursor::parse(&c.encode()), Some(c));
        for bad in ["", "1", "x.2", "1.0", "1.-2", "1.2.3"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn rates_round_to_whole_percent() {
        let r = Rates {
            reviews: 3,
            passed: 2,
            items: [3, 2, 1, 0],
        };
        assert_eq!(r.percent(r.passed), Some(67));
        assert_eq!(r.percent(0), Some(0));
        assert_eq!(Rates::default().percent(0), None);
    }
}
