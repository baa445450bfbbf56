// Configuration as code: `riskdesk config apply FILE [--dry-run]` and
// `riskdesk config export`, all or nothing, every problem listed.

use crate::cli::desk;
use crate::intake::DESK;

#[test]
fn apply_dry_run_export_and_reproduce() {
    let d = desk();
    let file = d.dir.path().join("desk.toml");
    std::fs::write(&file, DESK).unwrap();
    let path = file.to_str().unwrap();

    let (code, out, err) = d.run(&["config", "apply", path, "--dry-run"], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("+ queue Transfers") && out.contains("+ calendar cn-business"),
        "{out}"
    );
    assert!(out.contains("dry run"));
    let (_, exported, _) = d.run(&["config", "export"], None);
    assert!(!exported.contains("Transfers"), "a dry run changes nothing");

    let (code, out, _) = d.run(&["config", "apply", path], None);
    assert_eq!(code, 0);
    assert!(out.contains("+ rule LARGE_TRANSFER"));
    let (code, out, _) = d.run(&["config", "apply", path], None);
    assert_eq!(code, 0);
    assert!(out.contains("no changes"));

    // export → apply on an empty database reproduces the desk.
    let (_, exported, _) = d.run(&["config", "export"], None);
    assert!(exported.contains("name = \"Transfers\""));
    let fresh = desk();
    let again = fresh.dir.path().join("exported.toml");
    std::fs::write(&again, &exported).unwrap();
    let (code, _, err) = fresh.run(&["config", "apply", again.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    let (_, re_exported, _) = fresh.run(&["config", "export"], None);
    assert_eq!(re_exported, exported);
}

#[test]
fn a_bad_file_is_refused_whole_with_every_problem() {
    let d = desk();
    let file = d.dir.path().join("bad.toml");
    let bad = DESK
        .replace(
            "timezone = \"Asia/Shanghai\"",
            "timezone = \"Asia/Atlantis\"",
        )
        .replace("sla_policy = \"office\"", "sla_policy = \"missing\"")
        .replace(
            "[[rules]]\ncode = \"LARGE_TRANSFER\"",
            "[[rules]]\nshade = \"blue\"\ncode = \"LARGE_TRANSFER\"",
        )
        .replace(
            "tue = [[\"09:00\", \"12:00\"], [\"13:00\", \"21:00\"]]",
            "tue = [[\"09:00\", \"12:00\"], [\"11:00\", \"21:00\"]]",
        );
    std::fs::write(&file, bad).unwrap();
    let (code, out, err) = d.run(&["config", "apply", file.to_str().unwrap()], None);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    for needle in [
        "calendars[0].timezone",
        "queues[1].sla_policy",
        "rules[0].shade: unknown key",
        "calendars[0].hours.tue",
    ] {
        assert!(err.contains(needle), "{needle} not in {err}");
    }
    assert!(err.contains("nothing was changed"));
    let (_, exported, _) = d.run(&["config", "export"], None);
    assert!(!exported.contains("Transfers"));
}

#[test]
fn a_queue_holding_cases_cannot_be_removed() {
    let app = crate::common::TestApp::spawn();
    app.apply_config(DESK);
    let key = app.api_key();
    let (s, _) = app.post_api(
        &key,
        "/api/v1/alerts",
        &crate::intake::alert("q-1", "NEW_ACCOUNT_BURST", "C-1"),
    );
    assert_eq!(s, 201);
    let without = DESK
        .replace(
            "[[queues]]\nname = \"New accounts\"\nsla_policy = \"office\"\n",
            "",
        )
        .replace(
            "[[routes]]\nrule = \"NEW_ACCOUNT_BURST\"\nqueue = \"New accounts\"\n",
            "",
        );
    let mut conn = app.conn();
    let err = riskdesk::desk::apply_text(
        &mut conn,
        app.clock.now(),
        &riskdesk::accounts::Actor::cli(),
        &without,
        false,
    )
    .unwrap_err();
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    let exported = riskdesk::desk::export(&mut conn).unwrap();
    assert!(exported.contains("New accounts"));
}

#[test]
fn a_save_based_on_a_stale_read_is_refused() {
    let app = crate::common::TestApp::spawn();
    app.apply_config(DESK);
    let mut conn = app.conn();
    let version = riskdesk::store::deskconfig::config_version(&mut conn).unwrap();
    let mut mine = riskdesk::store::deskconfig::load(&mut conn).unwrap();
    // Someone else saves first.
    let theirs = DESK.replace("max_pause_minutes = 60", "max_pause_minutes = 90");
    riskdesk::desk::apply_text(
        &mut conn,
        app.clock.now(),
        &riskdesk::accounts::Actor::cli(),
        &theirs,
        false,
    )
    .unwrap();
    mine.triage_queue = "Transfers".into();
    let err = riskdesk::desk::apply_checked(
        &mut conn,
        app.clock.now(),
        &riskdesk::accounts::Actor::cli(),
        &mine,
        false,
        Some(version),
    )
    .unwrap_err();
    assert!(matches!(err, riskdesk::desk::ConfigError::Invalid(_)));
    let now = riskdesk::desk::export(&mut conn).unwrap();
    assert!(now.contains("max_pause_minutes = 90") && now.contains("triage_queue = \"Triage\""));
}
