// The demo desk's history: seeded through the real commands on a clock set back, it
// fills every report, the brief, QA and rule quality, with figures that agree with
// the timeline; its present is believable; a second seeding does nothing.

use diesel::prelude::*;
use riskdesk::db::schema::{
    article_reads, articles, campaigns, case_events, cases, emergencies, qa_reviews, snoozes,
    users, weekly_briefs,
};

use crate::common::TestApp;
use crate::reports::text;

/// Days of history the test plays (the default of 30 takes about two minutes in a
/// debug build; the release build's figure is in docs/demo.md).
const DAYS: u32 = 3;

/// A period that holds the whole history (the test clock stands at 2026-11-24).
const PERIOD: &str = "period=range&from=2026-11-01&to=2026-11-30";

fn count(app: &TestApp, kind: &str) -> i64 {
    let mut conn = app.conn();
    case_events::table
        .filter(case_events::kind.eq(kind))
        .count()
        .get_result(&mut *conn)
        .unwrap()
}

/// The rows of a report's CSV export, header first, without the byte-order mark.
fn csv(b: &crate::common::Browser, table: &str) -> Vec<Vec<String>> {
    let res = b.get(&format!("/reports/export/{table}.csv?{PERIOD}"));
    assert_eq!(res.status(), 200, "{table}");
    res.text()
        .unwrap()
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn the_demo_has_a_past_that_every_report_shows_and_a_believable_present() {
    let app = TestApp::spawn();
    let now = app.clock.now();
    assert!(riskdesk::demo::seed_if_empty(&app.state, DAYS).unwrap());
    let boss = app.signed_in("supervisor");
    let mut conn = app.conn();

    // Every case came through intake and its commands: each opened on its timeline
    // (a ring's campaign case too), and each resolved one closed there.
    let all: i64 = cases::table.count().get_result(&mut *conn).unwrap();
    let rings: i64 = campaigns::table.count().get_result(&mut *conn).unwrap();
    assert_eq!(rings, 1, "the ring became a campaign");
    assert_eq!(count(&app, "case.opened"), all);
    let resolved: Vec<(i64, String, Option<String>)> = cases::table
        .filter(cases::resolved_at.is_not_null())
        .select((cases::id, cases::rule_code, cases::disposition))
        .load(&mut *conn)
        .unwrap();
    let resolved_events: Vec<i64> = case_events::table
        .filter(case_events::kind.eq("case.resolved"))
        .select(case_events::case_id)
        .distinct()
        .load(&mut *conn)
        .unwrap();
    assert_eq!(resolved_events.len(), resolved.len());
    assert!(resolved.len() >= 40, "{} resolved", resolved.len());
    // Nothing happened after now.
    let latest: Option<chrono::NaiveDateTime> = case_events::table
        .select(diesel::dsl::max(case_events::at))
        .first(&mut *conn)
        .unwrap();
    assert!(riskdesk::store::from_db(latest.unwrap()) <= now);
    // The history began DAYS ago.
    let first: Option<chrono::NaiveDateTime> = case_events::table
        .select(diesel::dsl::min(case_events::at))
        .first(&mut *conn)
        .unwrap();
    let began = now - riskdesk::store::from_db(first.unwrap());
    assert!(
        began > chrono::Duration::days(i64::from(DAYS) - 1),
        "{began}"
    );

    // SLA compliance: the resolved count is the timeline's.
    let (status, html) = text(&boss, &format!("/reports?{PERIOD}"));
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("measure=resolved\">{}</a>", resolved.len())),
        "the report counts {} resolved cases: {html}",
        resolved.len()
    );
    assert!(!html.contains("No cases in this period"), "{html}");
    let by_queue = csv(&boss, "compliance_queue");
    assert!(by_queue.len() > 3, "{by_queue:?}");

    // Outcomes: per rule, the cases resolved and their dispositions as closed.
    let rules = csv(&boss, "false_positives");
    assert_eq!(rules[0][0], "Rule");
    let col = |name: &str| rules[0].iter().position(|h| h == name).unwrap();
    let mut rated = 0;
    for row in &rules[1..] {
        let rule = &row[0];
        let of = |d: &str| {
            resolved
                .iter()
                .filter(|(_, r, x)| r == rule && x.as_deref() == Some(d))
                .count()
                .to_string()
        };
        let total = resolved.iter().filter(|(_, r, _)| r == rule).count();
        assert_eq!(row[col("Cases resolved")], total.to_string(), "{rule}");
        assert_eq!(row[col("False positives")], of("false_positive"), "{rule}");
        assert_eq!(row[col("Confirmed fraud")], of("confirmed_fraud"), "{rule}");
        assert_eq!(row[col("Escalated to AML")], of("escalated_aml"), "{rule}");
        assert_eq!(row[col("Duplicate")], of("duplicate"), "{rule}");
        if row[col("False-positive rate")].ends_with('%') {
            rated += 1;
        }
    }
    assert!(
        rated >= 3,
        "false-positive rates for several rules: {rules:?}"
    );
    // Mostly false positives, some fraud.
    let fp = resolved
        .iter()
        .filter(|r| r.2.as_deref() == Some("false_positive"))
        .count();
    let fraud = resolved
        .iter()
        .filter(|r| r.2.as_deref() == Some("confirmed_fraud"))
        .count();
    assert!(fp * 2 > resolved.len() && fraud > 0, "{fp} {fraud}");

    // Rule quality of the busiest rule.
    let (status, html) = text(&boss, &format!("/reports/rules/LARGE_TRANSFER?{PERIOD}"));
    assert_eq!(status, 200);
    assert!(html.contains(" %"), "{html}");

    // Surveys answered, calls logged, e-mails answered, approvals, snoozes,
    // emergencies acknowledged, webhooks delivered.
    for kind in [
        "satisfaction.answered",
        "call.logged",
        "verification.answered",
        "resolution.approved",
        "sla.breached",
        "emergency.acknowledged",
    ] {
        assert!(count(&app, kind) > 0, "no {kind} in the history");
    }
    let snoozed: i64 = snoozes::table.count().get_result(&mut *conn).unwrap();
    let declared: i64 = emergencies::table.count().get_result(&mut *conn).unwrap();
    assert!(snoozed > 0 && declared > 0);
    let (delivered, deliveries): (i64, i64) = {
        use riskdesk::db::schema::webhook_deliveries as d;
        (
            d::table
                .filter(d::delivered_at.is_not_null())
                .count()
                .get_result(&mut *conn)
                .unwrap(),
            d::table.count().get_result(&mut *conn).unwrap(),
        )
    };
    assert!(delivered > 0 && delivered <= deliveries);

    // QA: reviews done, and a sample waiting.
    let reviews: i64 = qa_reviews::table.count().get_result(&mut *conn).unwrap();
    let waiting = riskdesk::qa::waiting_count(&mut conn).unwrap();
    assert!(reviews + waiting > 0, "a QA sample");
    let (status, html) = text(&boss, "/qa");
    assert_eq!(status, 200);
    if waiting > 0 {
        assert!(html.contains("RC-"), "{html}");
    }

    // The weekly brief of the week the history went through.
    let briefs: i64 = weekly_briefs::table.count().get_result(&mut *conn).unwrap();
    assert!(briefs >= 1);
    let (status, html) = text(&boss, "/briefs");
    assert_eq!(status, 200);
    assert!(html.contains("2026-W47"), "{html}");

    // The present: a handful open, few of them breached, agents online.
    let open: i64 = cases::table
        .filter(cases::resolved_at.is_null())
        .count()
        .get_result(&mut *conn)
        .unwrap();
    let open_breached: i64 = cases::table
        .filter(cases::resolved_at.is_null())
        .filter(cases::breached)
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert!(open > 0 && open < 25, "{open} open");
    assert!(
        open_breached * 3 <= open,
        "{open_breached} of {open} breached"
    );
    let online: i64 = users::table
        .filter(users::presence.eq("online"))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert!(online >= 1, "agents online");
    let (status, board) = text(&boss, "/board");
    assert_eq!(status, 200);
    assert!(board.contains("RC-"), "{board}");

    // The knowledge base: articles on the rules in both languages, all but a draft
    // published, read by some agents, one written from a resolved case; new this
    // week to whoever has not read them, on the home page.
    let articles: Vec<(String, Option<i64>, String)> = articles::table
        .select((
            articles::status,
            articles::source_case_id,
            articles::title_zh,
        ))
        .load(&mut *conn)
        .unwrap();
    assert_eq!(articles.len(), 5);
    assert_eq!(articles.iter().filter(|a| a.0 == "published").count(), 4);
    assert_eq!(articles.iter().filter(|a| a.0 == "draft").count(), 1);
    assert!(articles.iter().all(|a| !a.2.is_empty()));
    let reads: i64 = article_reads::table.count().get_result(&mut *conn).unwrap();
    assert!(reads >= 10, "{reads} reads");
    assert!(articles.iter().any(|a| a.1.is_some()), "one from a case");
    let (status, home) = text(&boss, "/");
    assert_eq!(status, 200);
    assert!(home.contains("id=\"knowledge-new\""), "{home}");

    // A second seeding of the same database does nothing.
    drop(conn);
    let alerts = app.count("alerts");
    assert!(!riskdesk::demo::seed_if_empty(&app.state, DAYS).unwrap());
    assert_eq!(app.count("alerts"), alerts);
}
