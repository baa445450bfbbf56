// Identifiers that link customers (device ids, IP addresses, phone numbers), kept as
// SHA-256 digests with a masked form for display, so the link table holds no plain data.

use std::collections::BTreeMap;

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::DbConn;
use crate::db::schema::customer_identifiers;
use crate::dispatch;
use crate::domain::masking;

/// The kinds of identifier that link customers.
pub const KINDS: [&str; 3] = ["device_id", "ip", "phone"];

/// The digest of one identifier: the kind is part of it, so equal digests mean the
/// same kind and the same (normalised) value.
pub fn digest(kind: &str, value: &str) -> Option<String> {
    let normal = match kind {
        "phone" => value
            .chars()
            .filter(|c| c.is_ascii_digit())
            .collect::<String>(),
        _ => value.trim().to_lowercase(),
    };
    if normal.is_empty() {
        return None;
    }
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update(b":");
    h.update(normal.as_bytes());
    Some(hex::encode(h.finalize()))
}

fn masked(kind: &str, value: &str) -> String {
    match kind {
        "phone" => masking::phone(value),
        "ip" => masking::ip(value.trim()),
        // Device ids are not personal data, but the table keeps no whole value.
        _ => masking::number(value.trim()),
    }
}

/// The identifiers an alert tells about its customer: its `device_id` and `ip`
/// attributes and the customer's phone.
pub fn of_alert<'a>(
    attributes: &'a BTreeMap<String, String>,
    phone: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut out = Vec::new();
    for kind in ["device_id", "ip"] {
        if let Some(v) = attributes.get(kind) {
            out.push((kind, v.as_str()));
        }
    }
    if let Some(p) = phone {
        out.push(("phone", p));
    }
    out
}

/// Records that `customer_id` uses each of `ids` (kind, plain value); known pairs are
/// left as they are. One statement, inside the caller's transaction.
pub fn record(conn: &mut DbConn, customer_id: i64, ids: &[(&str, &str)]) -> QueryResult<()> {
    let rows: Vec<_> = ids
        .iter()
        .filter_map(|(kind, value)| {
            digest(kind, value).map(|h| {
                (
                    customer_identifiers::kind.eq(kind.to_string()),
                    customer_identifiers::value_hash.eq(h),
                    customer_identifiers::customer_id.eq(customer_id),
                    customer_identifiers::masked.eq(masked(kind, value)),
                )
            })
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    // One statement for all of them (at most three per alert).
    dispatch!(conn, |c| diesel::insert_into(customer_identifiers::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// One identifier this customer shares with another customer.
#[derive(Debug, Clone)]
pub struct Shared {
    pub kind: String,
    pub masked: String,
    pub other_customer_id: i64,
}

/// Other customers that share an identifier with `customer_id` (at most `limit`).
pub fn shared_with(conn: &mut DbConn, customer_id: i64, limit: i64) -> QueryResult<Vec<Shared>> {
    let mine: Vec<(String, String, String)> = customer_identifiers::table
        .filter(customer_identifiers::customer_id.eq(customer_id))
        .select((
            customer_identifiers::kind,
            customer_identifiers::value_hash,
            customer_identifiers::masked,
        ))
        .load(conn)?;
    if mine.is_empty() {
        return Ok(Vec::new());
    }
    let hashes: Vec<&str> = mine.iter().map(|(_, h, _)| h.as_str()).collect();
    let others: Vec<(String, i64)> = customer_identifiers::table
        .filter(customer_identifiers::value_hash.eq_any(&hashes))
        .filter(customer_identifiers::customer_id.ne(customer_id))
        .select((
            customer_identifiers::value_hash,
            customer_identifiers::customer_id,
        ))
        .order(customer_identifiers::customer_id.desc())
        .limit(limit)
        .load(conn)?;
    Ok(others
        .into_iter()
        .filter_map(|(h, other)| {
            let (kind, _, masked) = mine.iter().find(|(_, mh, _)| *mh == h)?;
            Some(Shared {
                kind: kind.clone(),
                masked: masked.clone(),
                other_customer_id: other,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_normalise_and_keep_kinds_apart() {
        assert_eq!(
            digest("phone", "+86 138-0013-8000"),
            digest("phone", "+8613800138000")
        );
        assert_eq!(digest("ip", " 203.0.113.7 "), digest("ip", "203.0.113.7"));
        assert_ne!(digest("ip", "d-1"), digest("device_id", "d-1"));
        assert_eq!(digest("phone", "--"), None);
        let d = digest("device_id", "d-91ab").unwrap();
        assert_eq!(d.len(), 64);
        assert!(!d.contains("91ab"));
    }
}
