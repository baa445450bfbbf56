// The domain's text enums as database columns: a case's status and priority are
// stored as their text names and read back as types, on both backends.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use crate::domain::{CaseStatus, Severity};

/// Implements text storage for an enum with `as_str` and `FromStr`.
macro_rules! text_column {
    ($t:ty) => {
        impl<DB> ToSql<Text, DB> for $t
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB> FromSql<Text, DB> for $t
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                text.parse::<$t>().map_err(|e| e.into())
            }
        }
    };
}

text_column!(CaseStatus);
text_column!(Severity);
