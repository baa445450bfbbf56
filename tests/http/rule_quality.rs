// The rule quality report: one rule's alerts over two weeks in several amount
// bands, closed with every kind of disposition, one alert suppressed, one in
// another currency and one without an amount; the weekly figures, the bands, the
// what-if of a threshold, bad parameters named, the CSV, an unknown rule, access.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::json;

use crate::assignment::{desk_config, presence};
use crate::common::{Browser, TestApp};
use crate::intake::alert;
use crate::reports::{catch_up, resolve, table_row, text};

const PERIOD: &str = "period=range&from=2026-11-23&to=2026-12-06";
const RULE: &str = "LARGE_TRANSFER";

/// Posts an alert of the rule; the reference of its case.
fn post(
    app: &TestApp,
    key: &str,
    id: &str,
    customer: &str,
    amount: Option<(&str, &str)>,
) -> String {
    let mut a = alert(id, RULE, customer);
    if let Some((value, currency)) = amount {
        a["amount"] = json!({"value": value, "currency": currency});
    }
    let (s, r) = app.post_api(key, "/api/v1/alerts", &a);
    assert_eq!(s, 201, "{r}");
    r["case_ref"].as_str().unwrap().to_string()
}

/// An alert stored without a case, as a customer's snooze of the rule keeps it.
fn suppressed(app: &TestApp, id: &str, amount: &str) {
    use riskdesk::db::schema::{alerts, customers};
    let mut conn = app.conn();
    let customer: i64 = customers::table
        .select(customers::id)
        .first(&mut *conn)
        .unwrap();
    diesel::insert_into(alerts::table)
        .values((
            alerts::external_id.eq(id),
            alerts::rule_code.eq(RULE),
            alerts::severity.eq("high"),
            alerts::received_at.eq(app.clock.now().naive_utc()),
            alerts::customer_id.eq(customer),
            alerts::amount.eq(Some(amount)),
            alerts::currency.eq(Some("CNY")),
            alerts::attributes.eq("{}"),
        ))
        .execute(&mut *conn)
        .unwrap();
}

struct Desk {
    app: TestApp,
    boss: Browser,
    agent: Browser,
}

/// Week 48 (desk time, Shanghai; t0 is Tuesday 24 November 09:00):
///
/// - case 1: 500.00 CNY, false positive at +10 minutes;
/// - case 2: 3,000.00, false positive at +10;
/// - case 3: 800.00 then 25,000.00 (both alerts on the one case), confirmed fraud
///   at +10;
/// - case 4: 4,000.00, escalated to AML at +10;
/// - case 5: 150,000.00, unreachable at +40;
/// - case 6: no amount, false positive at +40;
/// - case 7: 60.00 USD, false positive at +40;
/// - one alert of 200.00 suppressed.
///
/// Week 49 (Monday 30 November 09:00): case 8, 7,000.00, false positive 90 minutes
/// later; case 9, 9,000.00, still open.
fn desk() -> Desk {
    let app = TestApp::spawn_with(|s| {
        s.session_idle = Duration::days(8);
        s.session_max = Duration::days(8);
        s.desk_timezone = "Asia/Shanghai".parse().unwrap();
    });
    app.apply_config(&desk_config());
    let key = app.api_key();
    let (li, _) = app.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");
    let boss = app.signed_in("supervisor");
    let cny = |v| Some((v, "CNY"));
    let c1 = post(&app, &key, "q-1", "C-1", cny("500.00"));
    let c2 = post(&app, &key, "q-2", "C-2", cny("3000.00"));
    let c3 = post(&app, &key, "q-3", "C-3", cny("800.00"));
    let c3b = post(&app, &key, "q-3b", "C-3", cny("25000.00"));
    assert_eq!(c3, c3b, "the second alert joins the open case");
    let c4 = post(&app, &key, "q-4", "C-4", cny("4000.00"));
    let c5 = post(&app, &key, "q-5", "C-5", cny("150000.00"));
    let c6 = post(&app, &key, "q-6", "C-6", None);
    let c7 = post(&app, &key, "q-7", "C-7", Some(("60.00", "USD")));
    suppressed(&app, "q-s", "200.00");
    app.clock.advance(Duration::minutes(10));
    resolve(&boss, &c1, "false_positive", "released", "");
    resolve(&boss, &c2, "false_positive", "released", "");
    resolve(&boss, &c3, "confirmed_fraud", "blocked", "");
    resolve(&boss, &c4, "escalated_aml", "blocked", "");
    app.clock.advance(Duration::minutes(30));
    resolve(&boss, &c5, "unreachable", "blocked", "");
    resolve(&boss, &c6, "false_positive", "released", "");
    resolve(&boss, &c7, "false_positive", "released", "");
    // Monday 30 November, 09:00 in Shanghai: the next week.
    app.clock.advance(Duration::days(6) - Duration::minutes(40));
    let c8 = post(&app, &key, "q-8", "C-8", cny("7000.00"));
    post(&app, &key, "q-9", "C-9", cny("9000.00"));
    app.clock.advance(Duration::minutes(90));
    resolve(&boss, &c8, "false_positive", "released", "");
    catch_up(&app);
    Desk {
        app,
        boss,
        agent: li,
    }
}

/// The what-if sentence of a page.
fn what_if(html: &str) -> &str {
    let start = html
        .find("At a threshold of")
        .unwrap_or_else(|| panic!("{html}"));
    let rest = &html[start..];
    &rest[..rest.find("</strong>").unwrap()]
}

#[test]
fn a_rules_weeks_bands_and_what_if() {
    let d = desk();
    let (status, html) = text(&d.boss, &format!("/reports/rules/{RULE}?{PERIOD}"));
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Rule quality: LARGE_TRANSFER"), "{html}");
    assert!(html.contains("Asia/Shanghai"), "{html}");
    // Week, Monday, alerts, suppressed, true positives, false positives, unknown,
    // false-positive rate. Week 50 is the period's last day in UTC (Monday 7
    // December 00:00–08:00 in Shanghai).
    assert_eq!(
        table_row(&html, "rule_weeks", "2026-W48"),
        ["2026-11-23", "9", "1", "2", "4", "1", "66.7 %"],
    );
    assert_eq!(
        table_row(&html, "rule_weeks", "2026-W49"),
        ["2026-11-30", "2", "0", "0", "1", "0", "100.0 %"],
    );
    assert_eq!(
        table_row(&html, "rule_weeks", "2026-W50"),
        ["2026-12-07", "0", "0", "0", "0", "0", "–"],
    );
    // The headline: 11 alerts, 1 suppressed, 8 resolved, 5 of 7 that tell wrong;
    // handling 10, 10, 10, 10, 40, 40, 40, 90 minutes: median 10, p90 90.
    for (label, value) in [
        ("Alerts", "11"),
        ("Suppressed", "1"),
        ("True positives", "2"),
        ("False-positive rate", "71.4 %"),
        ("Handling time, median", "10 min"),
        ("Handling time, 90th percentile", "90 min"),
    ] {
        assert!(
            html.contains(&format!("<dt>{label}</dt><dd>{value}</dd>")),
            "{label}: {html}"
        );
    }
    assert!(
        html.contains("<dt>Cases resolved</dt><dd><a href=\"/reports/cases?"),
        "{html}"
    );
    // The chart is drawn on the server: a bar a week and a point for each week
    // with a rate.
    assert!(html.contains("<svg viewBox=\"0 0 640 220\""), "{html}");
    assert_eq!(html.matches("<circle ").count(), 2, "{html}");
    assert!(html.contains("2026-W48: 66.7 %"), "{html}");
    // Bands in CNY: alerts, suppressed, true and false positives, unknown, rate;
    // case 3 counts in the band of its largest alert.
    for (band, cells) in [
        ("under 1,000", ["3", "1", "0", "1", "0", "100.0 %"]),
        ("1,000 to under 5,000", ["2", "0", "1", "1", "0", "50.0 %"]),
        (
            "5,000 to under 20,000",
            ["2", "0", "0", "1", "0", "100.0 %"],
        ),
        (
            "20,000 to under 100,000",
            ["1", "0", "1", "0", "0", "0.0 %"],
        ),
        ("100,000 and over", ["1", "0", "0", "0", "1", "–"]),
    ] {
        assert_eq!(table_row(&html, "rule_bands", band), cells, "{band}");
    }
    assert!(html.contains("Amount (CNY)"), "{html}");
    assert!(
        html.contains("1 alerts in other currencies are left out (USD 1)."),
        "{html}"
    );
    assert!(html.contains("1 alerts carry no amount"), "{html}");
    // No threshold asked for: no sentence.
    assert!(!html.contains("At a threshold of"), "{html}");

    // Below 5,000: cases 1 and 2 (false positives) and 4 (AML); case 3's largest
    // alert is above it.
    let (status, html) = text(
        &d.boss,
        &format!("/reports/rules/{RULE}?{PERIOD}&threshold=5000"),
    );
    assert_eq!(status, 200);
    assert_eq!(
        what_if(&html),
        "At a threshold of 5000.00 CNY: 2 false positives would not have fired and 1 \
         confirmed frauds would have been missed (0 unknown closings below it too; 5 of \
         the 9 alerts in CNY were below it)."
    );
    // Above every amount: every case in CNY (not case 6 without an amount, nor
    // case 7 in USD, nor the open case 9).
    let (_, html) = text(
        &d.boss,
        &format!("/reports/rules/{RULE}?{PERIOD}&threshold=200000.5&currency=CNY"),
    );
    assert_eq!(
        what_if(&html),
        "At a threshold of 200000.50 CNY: 3 false positives would not have fired and 2 \
         confirmed frauds would have been missed (1 unknown closings below it too; 9 of \
         the 9 alerts in CNY were below it)."
    );
    // Another currency: its one alert counted, the CNY ones left out.
    let (_, html) = text(
        &d.boss,
        &format!("/reports/rules/{RULE}?{PERIOD}&currency=USD&threshold=100"),
    );
    assert!(what_if(&html).contains("1 false positives would not have fired and 0"));
    assert!(html.contains("9 alerts in other currencies are left out (CNY 9)."));
    // In Chinese.
    let html = d
        .boss
        .get_lang(
            &format!("/reports/rules/{RULE}?{PERIOD}&threshold=5000"),
            "zh-CN",
        )
        .text()
        .unwrap();
    assert!(html.contains("规则质量：LARGE_TRANSFER"), "{html}");
    assert!(
        html.contains("2 个误报将不会触发，1 个已确认欺诈将被漏掉"),
        "{html}"
    );
}

#[test]
fn the_rule_quality_csv() {
    let d = desk();
    let res = d.boss.get(&format!(
        "/reports/export/rule_weeks.csv?{PERIOD}&rule={RULE}"
    ));
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("rule_weeks-2026-11-23-2026-12-06.csv")
    );
    let bytes = res.bytes().unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let body = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines,
        [
            "Week,Monday,Alerts,Suppressed,True positives,False positives,\
             Unknown (unreachable),False-positive rate",
            "2026-W48,2026-11-23,9,1,2,4,1,66.7 %",
            "2026-W49,2026-11-30,2,0,0,1,0,100.0 %",
            "2026-W50,2026-12-07,0,0,0,0,0,–",
        ],
        "{body}"
    );
    let body = d
        .boss
        .get(&format!(
            "/reports/export/rule_bands.csv?{PERIOD}&rule={RULE}&currency=CNY"
        ))
        .text()
        .unwrap();
    let lines: Vec<&str> = body
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 6, "{body}");
    assert!(
        lines[0].starts_with("Amount (CNY),Alerts,Suppressed,"),
        "{body}"
    );
    // A band's name has a comma: quoted.
    assert_eq!(lines[1], "\"under 1,000\",3,1,0,1,0,100.0 %", "{body}");
    assert_eq!(lines[5], "\"100,000 and over\",1,0,0,0,1,–", "{body}");
    // The page links to both files with the same query.
    let (_, html) = text(&d.boss, &format!("/reports/rules/{RULE}?{PERIOD}"));
    assert!(
        html.contains(
            "/reports/export/rule_weeks.csv?period=range&#38;from=2026-11-23&#38;to=2026-12-06&#38;rule=LARGE_TRANSFER\""
        ),
        "{html}"
    );
    assert!(
        html.contains("/reports/export/rule_bands.csv?period=range&#38;from=2026-11-23&#38;to=2026-12-06&#38;rule=LARGE_TRANSFER&#38;currency=CNY\""),
        "{html}"
    );
}

#[test]
fn bad_parameters_unknown_rules_and_access() {
    let d = desk();
    for (path, param) in [
        (format!("/reports/rules/{RULE}?threshold=abc"), "threshold"),
        (format!("/reports/rules/{RULE}?threshold=-5"), "threshold"),
        (
            format!("/reports/rules/{RULE}?threshold=1,000"),
            "threshold",
        ),
        (format!("/reports/rules/{RULE}?currency=cny"), "currency"),
        (format!("/reports/rules/{RULE}?period=week"), "period"),
        (
            format!("/reports/export/rule_bands.csv?rule={RULE}&threshold=x"),
            "threshold",
        ),
        ("/reports/export/rule_weeks.csv".to_string(), "rule"),
        (
            "/reports/export/rule_weeks.csv?rule=NOPE".to_string(),
            "rule",
        ),
    ] {
        let (status, html) = text(&d.boss, &path);
        assert_eq!(status, 400, "{path}: {html}");
        assert!(html.contains(&format!("“{param}”")), "{path}: {html}");
    }
    assert_eq!(d.boss.get("/reports/rules/NOPE").status(), 404);
    // A rule the configuration knows but that had no alert: an empty page.
    let (status, html) = text(&d.boss, "/reports/rules/NEW_ACCOUNT_BURST");
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("No alert of this rule in the period carries an amount."));
    // Without dates: the last 30 days.
    let (_, html) = text(&d.boss, &format!("/reports/rules/{RULE}"));
    assert!(html.contains("<option value=\"30d\" selected>"), "{html}");
    // Supervisors only.
    assert_eq!(d.agent.get(&format!("/reports/rules/{RULE}")).status(), 403);
    assert_eq!(
        d.agent
            .get(&format!("/reports/export/rule_weeks.csv?rule={RULE}"))
            .status(),
        403
    );
    let _ = &d.app;
}
