// Background jobs that one instance at a time runs: each has a row in `jobs` that an
// instance takes under a lease (and a watermark, for those that catch up with changes).

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::jobs;
use crate::store::to_db;

/// Takes job `name`'s lease for `owner` until `now` + `hold` (or extends it when
/// `owner` has it already); false when another instance holds it.
pub fn take_lease(
    conn: &mut DbConn,
    name: &str,
    owner: &str,
    now: DateTime<Utc>,
    hold: Duration,
) -> QueryResult<bool> {
    let at = to_db(now);
    let n = diesel::update(
        jobs::table.filter(jobs::name.eq(name)).filter(
            jobs::lease_until
                .is_null()
                .or(jobs::lease_until.lt(at))
                .or(jobs::lease_owner.eq(owner)),
        ),
    )
    .set((
        jobs::lease_owner.eq(Some(owner)),
        jobs::lease_until.eq(Some(to_db(now + hold))),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Gives job `name`'s lease up, if `owner` holds it.
pub fn release_lease(conn: &mut DbConn, name: &str, owner: &str) -> QueryResult<()> {
    diesel::update(
        jobs::table
            .filter(jobs::name.eq(name))
            .filter(jobs::lease_owner.eq(owner)),
    )
    .set(jobs::lease_until.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    Ok(())
}
