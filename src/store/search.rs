// Search: the customers a value names (by customer id, e-mail, phone, device id or
// IP address) and the cases behind them or behind a transaction reference, only as
// far as the searcher may see them. Every step reads an index: the customers'
// external id and lower-cased e-mail, the identifiers' digest, the alerts'
// transaction reference, the cases' customer.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use crate::db::DbConn;
use crate::db::schema::{alerts, cases, customer_identifiers, customers, queues, users};
use crate::domain::search::Terms;
use crate::store::cases::Customer;
use crate::store::identifiers::{self, IdentifierKey};
use crate::store::worklist::Scope;

diesel::define_sql_function!(fn lower(x: Nullable<Text>) -> Nullable<Text>);

/// Customers a search lists at most.
pub const MAX_CUSTOMERS: usize = 50;
/// Cases a search lists at most.
pub const MAX_CASES: usize = 50;
/// Customers one identifier may name before the rest are left out of the cases.
const MAX_NAMED: i64 = 1_000;

/// How a customer or a case was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    CustomerId,
    Email,
    Phone,
    DeviceId,
    Ip,
    Transaction,
}

impl Key {
    /// The key's name, as the page's labels and the audit trail use it.
    pub fn as_str(self) -> &'static str {
        match self {
            Key::CustomerId => "customer_id",
            Key::Email => "email",
            Key::Phone => "phone",
            Key::DeviceId => "device_id",
            Key::Ip => "ip",
            Key::Transaction => "transaction_ref",
        }
    }

    fn of_identifier(kind: &str) -> Key {
        match kind {
            "phone" => Key::Phone,
            "ip" => Key::Ip,
            _ => Key::DeviceId,
        }
    }
}

/// A customer found, with what found them and how many of their cases the searcher
/// may see.
#[derive(Debug, Clone)]
pub struct CustomerHit {
    pub id: i64,
    pub external_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub keys: Vec<Key>,
    pub cases: i64,
    /// Their newest case the searcher may see.
    pub latest_case: i64,
}

/// A case found.
#[derive(Debug, Clone, Queryable)]
pub struct CaseHit {
    pub id: i64,
    pub customer_id: i64,
    pub status: crate::domain::CaseStatus,
    pub priority: crate::domain::Priority,
    pub rule_code: String,
    pub opened_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub disposition: Option<String>,
    pub queue: String,
    pub assignee: Option<String>,
    pub customer_name: Option<String>,
    pub external_id: String,
}

/// What a search found: customers and cases, each list cut at its maximum (`more`
/// says whether there was more).
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub customers: Vec<CustomerHit>,
    pub more_customers: bool,
    pub cases: Vec<CaseHit>,
    pub more_cases: bool,
    /// The keys that found something the searcher may see.
    pub keys: Vec<Key>,
}

/// Narrows a boxed query over `cases` to what `scope` may see: every case for
/// supervisors and admins; an agent's own and those of the agent's queues.
macro_rules! visible {
    ($q:expr, $scope:expr) => {{
        let scope: &Scope = $scope;
        let q = $q;
        if scope.everything {
            q
        } else {
            q.filter(
                cases::queue_id
                    .eq_any(scope.queue_ids.clone())
                    .or(cases::assignee_id.eq(scope.user_id)),
            )
        }
    }};
}

/// The customers `terms` name and the keys that named each.
fn named_customers(
    conn: &mut DbConn,
    key: &IdentifierKey,
    terms: &Terms,
) -> QueryResult<BTreeMap<i64, Vec<Key>>> {
    let mut named: BTreeMap<i64, Vec<Key>> = BTreeMap::new();
    let mut add = |id: i64, k: Key| {
        let keys = named.entry(id).or_default();
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    let by_id: Option<i64> = customers::table
        .filter(customers::external_id.eq(&terms.text))
        .select(customers::id)
        .first(conn)
        .optional()?;
    if let Some(id) = by_id {
        add(id, Key::CustomerId);
    }
    if let Some(email) = &terms.email {
        let ids: Vec<i64> = customers::table
            .filter(lower(customers::email).eq(email))
            .select(customers::id)
            .limit(MAX_NAMED)
            .load(conn)?;
        for id in ids {
            add(id, Key::Email);
        }
    }
    let mut digests: Vec<String> = ["device_id", "ip"]
        .iter()
        .filter_map(|kind| identifiers::digest(key, kind, &terms.text))
        .collect();
    digests.extend(
        terms
            .phones
            .iter()
            .filter_map(|p| identifiers::digest(key, "phone", p)),
    );
    if !digests.is_empty() {
        let rows: Vec<(i64, String)> = customer_identifiers::table
            .filter(customer_identifiers::value_hash.eq_any(&digests))
            .select((
                customer_identifiers::customer_id,
                customer_identifiers::kind,
            ))
            .limit(MAX_NAMED)
            .load(conn)?;
        for (id, kind) in rows {
            add(id, Key::of_identifier(&kind));
        }
    }
    Ok(named)
}

/// Searches for `terms` as `scope` may see: the customers they name who have a case
/// the searcher may see, and those cases with the ones of a transaction reference,
/// newest first. Nothing the searcher may not see is read into the answer, counts
/// included.
pub fn search(
    conn: &mut DbConn,
    key: &IdentifierKey,
    scope: &Scope,
    terms: &Terms,
) -> QueryResult<Found> {
    let named = named_customers(conn, key, terms)?;
    let by_transaction: Vec<i64> = alerts::table
        .filter(alerts::transaction_ref.eq(&terms.text))
        .filter(alerts::case_id.is_not_null())
        .select(alerts::case_id.assume_not_null())
        .limit(MAX_NAMED)
        .load(conn)?;
    let ids: Vec<i64> = named.keys().copied().collect();
    let mut found = Found::default();
    if ids.is_empty() && by_transaction.is_empty() {
        return Ok(found);
    }

    // The cases: of the named customers, or of the transaction. Their ids first,
    // each set read on its own index (one statement with both conditions and the
    // order by id would let the planner walk every case by id instead), then the
    // newest of them in full.
    let of_customers: Vec<(i64, i64)> = if ids.is_empty() {
        Vec::new()
    } else {
        let q = cases::table
            .filter(cases::customer_id.eq_any(ids.clone()))
            .select((cases::id, cases::customer_id))
            .into_boxed();
        visible!(q, scope).load(conn)?
    };
    let mut case_ids: Vec<i64> = of_customers.iter().map(|c| c.0).collect();
    if !by_transaction.is_empty() {
        let q = cases::table
            .filter(cases::id.eq_any(by_transaction.clone()))
            .select(cases::id)
            .into_boxed();
        let of_transaction: Vec<i64> = visible!(q, scope).load(conn)?;
        if !of_transaction.is_empty() {
            found.keys.push(Key::Transaction);
        }
        case_ids.extend(of_transaction);
    }
    case_ids.sort_unstable_by(|a, b| b.cmp(a));
    case_ids.dedup();
    found.more_cases = case_ids.len() > MAX_CASES;
    case_ids.truncate(MAX_CASES);
    found.cases = cases::table
        .inner_join(queues::table)
        .inner_join(customers::table)
        .left_join(users::table.on(users::id.nullable().eq(cases::assignee_id)))
        .select((
            cases::id,
            cases::customer_id,
            cases::status,
            cases::priority,
            cases::rule_code,
            cases::opened_at,
            cases::resolved_at,
            cases::disposition,
            queues::name,
            users::name.nullable(),
            customers::name,
            customers::external_id,
        ))
        .filter(cases::id.eq_any(&case_ids))
        .order(cases::id.desc())
        .load(conn)?;

    // The customers, with how many of their cases the searcher may see (those
    // with none are not listed), the one with the newest case first.
    if !of_customers.is_empty() {
        let mut per: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for (case_id, customer_id) in &of_customers {
            let e = per.entry(*customer_id).or_insert((0, 0));
            e.0 += 1;
            e.1 = e.1.max(*case_id);
        }
        let mut counts: Vec<(i64, i64, i64)> = per
            .into_iter()
            .map(|(c, (n, latest))| (c, n, latest))
            .collect();
        counts.sort_unstable_by_key(|c| std::cmp::Reverse(c.2));
        found.more_customers = counts.len() > MAX_CUSTOMERS;
        counts.truncate(MAX_CUSTOMERS);
        let shown: Vec<i64> = counts.iter().map(|c| c.0).collect();
        let people: Vec<Customer> = customers::table
            .filter(customers::id.eq_any(&shown))
            .select(Customer::as_select())
            .load(conn)?;
        for (id, cases, latest) in counts {
            let Some(person) = people.iter().find(|p| p.id == id).cloned() else {
                continue;
            };
            let keys = named.get(&id).cloned().unwrap_or_default();
            for k in &keys {
                if !found.keys.contains(k) {
                    found.keys.push(*k);
                }
            }
            found.customers.push(CustomerHit {
                id,
                external_id: person.external_id,
                name: person.name,
                email: person.email,
                phone: person.phone,
                keys,
                cases,
                latest_case: latest,
            });
        }
    }
    found.keys.sort();
    Ok(found)
}
