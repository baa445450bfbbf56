// The labels feed: for every closing of a case (its `case.resolved` event), one row
// per alert of the case, in the order the closings were made.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::db::DbConn;
use crate::db::schema::{alerts, case_events, customers};

/// One closing of a case, as its timeline has it.
#[derive(Debug, Clone)]
pub struct Closing {
    pub event_id: i64,
    pub case_id: i64,
    pub at: NaiveDateTime,
    pub data: String,
}

/// One alert of a closed case.
#[derive(Debug, Clone)]
pub struct ClosedAlert {
    pub id: i64,
    pub case_id: i64,
    pub external_id: String,
    pub rule: String,
    pub customer_external_id: String,
    pub transaction_ref: Option<String>,
}

/// Closings from the event `from` on (itself included), oldest first, at most
/// `limit`. The kind is SQL text so the partial index on closings serves it.
pub fn closings(conn: &mut DbConn, from: i64, limit: i64) -> QueryResult<Vec<Closing>> {
    let rows: Vec<(i64, i64, NaiveDateTime, String)> = case_events::table
        .filter(crate::db::fixed::fixed::<Bool>("kind = 'case.resolved'"))
        .filter(case_events::id.ge(from))
        .order(case_events::id.asc())
        .select((
            case_events::id,
            case_events::case_id,
            case_events::at,
            case_events::data,
        ))
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(event_id, case_id, at, data)| Closing {
            event_id,
            case_id,
            at,
            data,
        })
        .collect())
}

/// The alerts of `case_ids`, by case and then in the order they came.
pub fn alerts_of(conn: &mut DbConn, case_ids: &[i64]) -> QueryResult<Vec<ClosedAlert>> {
    if case_ids.is_empty() {
        return Ok(Vec::new());
    }
    type Row = (i64, Option<i64>, String, String, String, Option<String>);
    let rows: Vec<Row> = alerts::table
        .inner_join(customers::table)
        .filter(alerts::case_id.eq_any(case_ids))
        .order((alerts::case_id.asc(), alerts::id.asc()))
        .select((
            alerts::id,
            alerts::case_id,
            alerts::external_id,
            alerts::rule_code,
            customers::external_id,
            alerts::transaction_ref,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, case_id, external_id, rule, customer, tx)| {
            Some(ClosedAlert {
                id,
                case_id: case_id?,
                external_id,
                rule,
                customer_external_id: customer,
                transaction_ref: tx,
            })
        })
        .collect())
}
