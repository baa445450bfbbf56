// Timestamps read without a format string on SQLite.
//
// SQLite keeps a timestamp as text (`2026-12-07 05:11:53.123456`, as diesel writes
// it); diesel reads it back with chrono's `parse_from_str`, which interprets the
// format string anew for every value. A list page reads three timestamps for each of
// its 51 rows, and that parsing was a twentieth of the page's processor time. `Ts`
// reads the one form the desk writes with a fixed parser and hands anything else
// (another form, a number) to diesel's own reader; on PostgreSQL, whose timestamps
// arrive in binary, it is diesel's reader.
//
// Use it where a query reads many rows: `#[diesel(deserialize_as = Ts)]` on a
// `NaiveDateTime` field, `#[diesel(deserialize_as = OptTs)]` on an
// `Option<NaiveDateTime>` one.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow, FromStaticSqlRow, Queryable};
use diesel::pg::Pg;
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::{Sqlite, SqliteType};

/// A timestamp column's value; see the module's comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct Ts(pub NaiveDateTime);

impl From<Ts> for NaiveDateTime {
    fn from(t: Ts) -> Self {
        t.0
    }
}

/// A nullable timestamp column's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptTs(pub Option<NaiveDateTime>);

impl From<OptTs> for Option<NaiveDateTime> {
    fn from(t: OptTs) -> Self {
        t.0
    }
}

impl<DB> Queryable<Nullable<Timestamp>, DB> for OptTs
where
    DB: Backend,
    Option<Ts>: FromStaticSqlRow<Nullable<Timestamp>, DB>,
{
    type Row = Option<Ts>;

    fn build(row: Option<Ts>) -> deserialize::Result<Self> {
        Ok(OptTs(row.map(|t| t.0)))
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of 1 to 9 digits, the form diesel
/// writes; `None` for anything else, or a date or time that does not exist.
pub fn parse(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let number = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(
        number(&b[0..4])? as i32,
        number(&b[5..7])?,
        number(&b[8..10])?,
    )?;
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(digits)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    date.and_hms_nano_opt(
        number(&b[11..13])?,
        number(&b[14..16])?,
        number(&b[17..19])?,
        nanos,
    )
}

impl FromSql<Timestamp, Sqlite> for Ts {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if value.value_type() == Some(SqliteType::Text)
            && let Some(t) = parse(value.read_text())
        {
            return Ok(Ts(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Ts)
    }
}

impl FromSql<Timestamp, Pg> for Ts {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Ts)
    }
}

impl FromSql<Timestamp, crate::db::MultiBackend> for Ts {
    fn from_sql(
        value: <crate::db::MultiBackend as Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_diesel_writes_as_chrono_does() {
        for s in [
            "2026-12-07 05:11:53",
            "2026-12-07 05:11:53.5",
            "2026-12-07 05:11:53.123456",
            "2026-12-07 05:11:53.123456789",
            "2024-02-29 23:59:59.000001",
            "1970-01-01 00:00:00",
        ] {
            let chrono = NaiveDateTime::parse_from_str(s, "%F %T%.f").unwrap();
            assert_eq!(parse(s), Some(chrono), "{s}");
            // And as diesel writes it back.
            let written = chrono.format("%F %T%.f").to_string();
            assert_eq!(parse(&written), Some(chrono), "{written}");
        }
    }

    #[test]
    fn leaves_other_forms_to_diesel() {
        for s in [
            "2026-12-07T05:11:53",
            "2026-12-07 05:11:53Z",
            "2026-12-07 05:11:53+08:00",
            "2026-12-07 05:11",
            "2026-13-07 05:11:53",
            "2026-02-30 05:11:53",
            "2026-12-07 25:11:53",
            "2026-12-07 05:11:53.",
            "2026-12-07 05:11:53.1234567890",
            "2026-1a-07 05:11:53",
            "",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }
}
