// Fixed SQL text inside a diesel query that keeps the statement cacheable.
//
// `diesel::dsl::sql` marks every statement that uses it as "not to be cached", so
// such a statement is parsed and planned again on every run: for a list page that
// was a tenth of its processor time. A `Fixed` piece is text written in this code
// base, never input, so the statement it is part of may be prepared once per
// connection and reused; its cache key is the statement's SQL text.
//
// Two uses: a column the schema cannot name (`cases.priority_rank`, the `cases`
// table being at diesel's limit of 32 columns), and a condition that must be
// written into the statement rather than bound, so that SQLite (built with
// `SQLITE_ENABLE_QPSG`, whose plans never look at bound values) uses the partial
// index whose condition it is, e.g. `case_events.kind = 'sla.breached'`.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping,
    is_aggregate,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::QueryResult;

/// A piece of fixed SQL of type `ST`; see the module's comment.
#[derive(Debug)]
pub struct Fixed<ST> {
    sql: &'static str,
    _type: PhantomData<ST>,
}

impl<ST> Clone for Fixed<ST> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<ST> Copy for Fixed<ST> {}

/// `sql` written into the statement as it is: only ever text of this code base
/// (`'static`), never a value that came in.
pub const fn fixed<ST>(sql: &'static str) -> Fixed<ST> {
    Fixed {
        sql,
        _type: PhantomData,
    }
}

impl<ST: TypedExpressionType> Expression for Fixed<ST> {
    type SqlType = ST;
}

impl<ST, DB: Backend> QueryFragment<DB> for Fixed<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

/// Not a static id: two pieces of one type differ by their text, so a statement
/// holding one is cached under its SQL text, never under its type alone.
impl<ST> QueryId for Fixed<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, QS> AppearsOnTable<QS> for Fixed<ST> where Self: Expression {}

impl<ST, QS> SelectableExpression<QS> for Fixed<ST> where Self: AppearsOnTable<QS> {}

impl<ST, GB> ValidGrouping<GB> for Fixed<ST> {
    type IsAggregate = is_aggregate::Never;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::cases;
    use diesel::prelude::*;
    use diesel::sqlite::Sqlite;

    #[test]
    fn fixed_text_is_written_as_it_is_and_the_statement_stays_cacheable() {
        let q = cases::table
            .select(cases::id)
            .filter(fixed::<diesel::sql_types::Bool>("cases.priority_rank = 0"))
            .into_boxed::<Sqlite>();
        let sql = diesel::debug_query::<Sqlite, _>(&q).to_string();
        assert!(sql.contains("WHERE cases.priority_rank = 0"), "{sql}");
        // A statement with `diesel::dsl::sql` in it is not cacheable; with `fixed` it is.
        assert!(is_cacheable(&q));
        let literal = cases::table
            .select(cases::id)
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 1"))
            .into_boxed::<Sqlite>();
        assert!(!is_cacheable(&literal));
    }

    fn is_cacheable<Q: QueryFragment<Sqlite>>(q: &Q) -> bool {
        q.is_safe_to_cache_prepared(&Sqlite).unwrap()
    }
}
