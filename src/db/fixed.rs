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

/// A whole statement of fixed text with bound values that, unlike
/// `diesel::sql_query`, may be prepared once per connection and reused (cached under
/// its text). Each `?` in the text is where the next bound value goes; the backend
/// writes its own placeholder there (`$1`, `$2`, … on PostgreSQL). For the set-based
/// statements (`UPDATE … FROM UNNEST($1::bigint[], …)`) that the query builder cannot
/// write: planning them again for every batch cost intake a fifteenth of the
/// database's processor time.
pub struct Statement<'a, DB: Backend> {
    sql: &'static str,
    binds: Vec<Box<dyn QueryFragment<DB> + Send + 'a>>,
}

/// A statement of `sql`, fixed text of this code base; see [`Statement`].
pub fn statement<'a, DB: Backend>(sql: &'static str) -> Statement<'a, DB> {
    Statement {
        sql,
        binds: Vec::new(),
    }
}

impl<'a, DB: Backend> Statement<'a, DB> {
    /// Binds the next `?` to `value` as SQL type `ST`.
    pub fn bind<ST, V>(mut self, value: V) -> Self
    where
        ST: diesel::sql_types::SqlType + TypedExpressionType,
        V: diesel::expression::AsExpression<ST>,
        V::Expression: QueryFragment<DB> + Send + 'a,
    {
        self.binds.push(Box::new(value.as_expression()));
        self
    }
}

impl<DB: Backend> QueryFragment<DB> for Statement<'_, DB> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut parts = self.sql.split('?');
        out.push_sql(parts.next().unwrap_or_default());
        let mut binds = self.binds.iter();
        for part in parts {
            let bind = binds.next().ok_or_else(|| {
                diesel::result::Error::QueryBuilderError(
                    format!("a statement has more places than values: {}", self.sql).into(),
                )
            })?;
            bind.walk_ast(out.reborrow())?;
            out.push_sql(part);
        }
        if binds.next().is_some() {
            return Err(diesel::result::Error::QueryBuilderError(
                format!("a statement has more values than places: {}", self.sql).into(),
            ));
        }
        Ok(())
    }
}

/// Cached under its SQL text (and its values' types), as a [`Fixed`] piece is.
impl<DB: Backend> QueryId for Statement<'_, DB> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB: Backend, Conn> diesel::RunQueryDsl<Conn> for Statement<'_, DB> {}

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

    #[test]
    fn a_statement_puts_each_value_in_its_place_and_stays_cacheable() {
        use diesel::sql_types::{BigInt, Text};
        let q = statement::<Sqlite>("UPDATE cases SET rule_code = ? WHERE id = ?")
            .bind::<Text, _>("card")
            .bind::<BigInt, _>(7_i64);
        let sql = diesel::debug_query::<Sqlite, _>(&q).to_string();
        assert!(
            sql.starts_with("UPDATE cases SET rule_code = ? WHERE id = ?"),
            "{sql}"
        );
        assert!(sql.contains("\"card\", 7"), "{sql}");
        assert!(is_cacheable(&q));
        let pg = statement::<diesel::pg::Pg>("SELECT ?::bigint[], ?")
            .bind::<diesel::sql_types::Array<BigInt>, _>(vec![1_i64, 2])
            .bind::<Text, _>("x");
        let sql = diesel::debug_query::<diesel::pg::Pg, _>(&pg).to_string();
        assert!(sql.starts_with("SELECT $1::bigint[], $2"), "{sql}");
        assert!(pg.is_safe_to_cache_prepared(&diesel::pg::Pg).unwrap());
    }

    #[test]
    fn a_statement_with_a_value_too_few_or_too_many_is_refused() {
        use diesel::sql_types::BigInt;
        let few = statement::<Sqlite>("SELECT ?, ?").bind::<BigInt, _>(1_i64);
        let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
        let err = diesel::RunQueryDsl::execute(few, &mut conn).unwrap_err();
        assert!(err.to_string().contains("more places than values"), "{err}");
        let many = statement::<Sqlite>("SELECT ?")
            .bind::<BigInt, _>(1_i64)
            .bind::<BigInt, _>(2_i64);
        let err = diesel::RunQueryDsl::execute(many, &mut conn).unwrap_err();
        assert!(err.to_string().contains("more values than places"), "{err}");
    }

    fn is_cacheable<Q: QueryFragment<Sqlite>>(q: &Q) -> bool {
        q.is_safe_to_cache_prepared(&Sqlite).unwrap()
    }
}
