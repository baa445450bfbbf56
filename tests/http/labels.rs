// The labels feed: one row per alert of each closed case, keyset-paged; a case
// reopened and closed again gives new rows; bad cursors and limits are named.

use serde_json::{Value, json};

use crate::resolution::{desk_with_case, resolve};

fn labels(d: &crate::assignment::Desk, query: &str) -> (u16, Value) {
    d.app.get_api(&d.key, &format!("/api/v1/labels{query}"))
}

#[test]
fn each_alert_of_a_closed_case_is_a_row_and_a_reclosing_gives_new_ones() {
    let (d, li, _, r) = desk_with_case("LARGE_TRANSFER", "1500.00");
    // A second alert of the same customer and rule joins the case.
    let mut second = crate::intake::alert("r-2", "LARGE_TRANSFER", "C-1");
    second["transaction_ref"] = json!("TX-2");
    let (s, v) = d.app.post_api(&d.key, "/api/v1/alerts", &second);
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["case_ref"], r.as_str());

    let (s, empty) = labels(&d, "");
    assert_eq!(s, 200);
    assert_eq!(empty["labels"], json!([]));
    assert!(empty["next_cursor"].is_null());
    assert_eq!(empty["has_more"], false);

    resolve(
        &li,
        &r,
        &[
            ("disposition", "false_positive"),
            ("action", "released"),
            ("note", "The customer made both transfers."),
        ],
    );
    let (s, first) = labels(&d, "?limit=1");
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["has_more"], true);
    let row = &first["labels"][0];
    assert_eq!(row["alert_external_id"], "r-1");
    assert_eq!(row["rule"], "LARGE_TRANSFER");
    assert_eq!(row["customer_external_id"], "C-1");
    assert_eq!(row["label"], "false_positive");
    assert_eq!(row["disposition"], "false_positive");
    assert_eq!(row["case"], r.as_str());
    assert!(chrono::DateTime::parse_from_rfc3339(row["decided_at"].as_str().unwrap()).is_ok());
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (_, rest) = labels(&d, &format!("?since={cursor}"));
    assert_eq!(rest["labels"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(rest["labels"][0]["alert_external_id"], "r-2");
    assert_eq!(rest["labels"][0]["transaction_ref"], "TX-2");
    assert_eq!(rest["has_more"], false);
    // Nothing new: the same place to poll from again.
    let at_end = rest["next_cursor"].as_str().unwrap().to_string();
    let (_, none) = labels(&d, &format!("?since={at_end}"));
    assert_eq!(none["labels"], json!([]));
    assert_eq!(none["next_cursor"], at_end.as_str());

    // Reopened on a complaint and closed again as fraud: two new rows.
    let page = format!("/cases/{r}");
    let res = li.submit(
        &page,
        &format!("{page}/reopen"),
        &[(
            "reason",
            "The customer now says the second one was not theirs.",
        )],
    );
    assert_eq!(res.status(), 303);
    resolve(
        &li,
        &r,
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "blocked"),
            ("note", "Second transfer was fraud."),
        ],
    );
    let (_, after) = labels(&d, &format!("?since={at_end}"));
    let rows = after["labels"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{after}");
    assert!(rows.iter().all(|r| r["label"] == "true_positive"));
    assert!(rows.iter().all(|r| r["disposition"] == "confirmed_fraud"));
    // From the start, all four in the order of the closings.
    let (_, all) = labels(&d, "");
    let labels_in_order: Vec<&str> = all["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels_in_order,
        [
            "false_positive",
            "false_positive",
            "true_positive",
            "true_positive"
        ]
    );
}

#[test]
fn bad_cursors_and_limits_are_named() {
    let (d, _, _, _) = desk_with_case("LARGE_TRANSFER", "1500.00");
    // A cursor of the cases list is not one of this feed.
    d.post("r-9", "LARGE_TRANSFER", "C-9");
    let (_, cases) = d.app.get_api(&d.key, "/api/v1/cases?limit=1");
    let foreign = cases["next_cursor"].as_str().unwrap().to_string();
    // Query parameters that cannot be read are a 400 naming the parameter.
    for bad in ["garbage!".to_string(), foreign, String::new()] {
        let (s, v) = labels(&d, &format!("?since={bad}"));
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["errors"][0]["field"], "since", "{v}");
    }
    for limit in ["0", "1001", "abc", "-1", "100000", ""] {
        let (s, v) = labels(&d, &format!("?limit={limit}"));
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["errors"][0]["field"], "limit", "{v}");
    }
    let (s, _) = reqwest::blocking::get(d.app.url("/api/v1/labels"))
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(s, 401);
}
