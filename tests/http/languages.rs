// Every word in both languages: a walk of every page of the route table as an admin,
// a supervisor and an agent reading Simplified Chinese finds no English sentence
// outside codes and names; configuration problems read in the reader's language on
// the admin forms and in English on the command line.

use std::collections::BTreeSet;

use riskdesk::accounts::{self, Actor, NewUserInput};
use riskdesk::domain::password::NewPassword;
use riskdesk::web::{Access, ROUTES};

use crate::access::walk_desk;
use crate::admin_desk::apply_config;
use crate::auth::user_id;
use crate::common::{Browser, TestApp};

/// Words that may stand in a Chinese page: the product's and protocols' names,
/// units and formats the interface shows as they are.
const ALLOWED: &[&str] = &[
    "riskdesk", "sla", "api", "csv", "toml", "json", "openapi", "iana", "smtp", "aml", "qa", "ip",
    "id", "utc", "rfc", "hmac", "sha", "url", "https", "http", "pii", "kyc", "hh", "mm", "yyyy",
    "dd", "ss", "am", "pm", "ok", "svg", "cny", "usd", "eur", "hkd", "gbp", "jpy", "n", "e",
    "mail", "webhook", "webhooks", "bearer", "to", "of",
];

/// A signed-in browser of a new user of `role` reading zh-CN.
fn zh_user(app: &TestApp, email: &str, name: &str, role: &str) -> Browser {
    let password = NewPassword::generate();
    accounts::create_user(
        &mut app.conn(),
        app.clock.now(),
        &Actor::cli(),
        &NewUserInput {
            email,
            name,
            role,
            language: Some("zh-CN"),
        },
        &password,
    )
    .unwrap();
    let b = app.browser();
    assert_eq!(b.login(email, password.expose()).status(), 303);
    b
}

/// The text a reader sees on `html`, and the attributes read aloud or shown on
/// hover, with what is not language taken out: scripts and styles, code and
/// preformatted text, form values, e-mail addresses, references, numbers and
/// identifiers, and the `data` the test itself created (names of queues, rules…).
pub fn visible_text(html: &str, data: &[&str]) -> Vec<String> {
    let mut s = html.to_string();
    for tag in ["script", "style", "code", "pre", "textarea", "option"] {
        s = cut_elements(&s, tag);
    }
    // Attributes a reader meets: collect them as chunks of their own.
    let mut chunks = Vec::new();
    for attr in ["title", "aria-label", "placeholder", "alt"] {
        let needle = format!(" {attr}=\"");
        let mut rest = s.as_str();
        while let Some(i) = rest.find(&needle) {
            rest = &rest[i + needle.len()..];
            if let Some(end) = rest.find('"') {
                chunks.push(rest[..end].to_string());
            }
        }
    }
    // Tags end a chunk, except inline ones, which a sentence runs across.
    let mut text = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find('<') {
        text.push_str(&rest[..i]);
        let Some(end) = rest[i..].find('>') else {
            break;
        };
        let tag = &rest[i + 1..i + end];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let inline = matches!(
            name.as_str(),
            "a" | "strong" | "em" | "b" | "i" | "span" | "abbr" | "time" | "small" | "kbd"
        );
        text.push(if inline { ' ' } else { '\n' });
        rest = &rest[i + end + 1..];
    }
    text.push_str(rest);
    chunks.extend(text.lines().map(String::from));
    chunks
        .into_iter()
        .map(|c| {
            let mut c = c
                .replace("&amp;", "&")
                .replace("&#39;", "'")
                .replace("&quot;", "\"")
                .replace("&#x27;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&nbsp;", " ");
            for d in data {
                c = c.replace(d, " ");
            }
            c
        })
        .filter(|c| !c.trim().is_empty())
        .collect()
}

fn cut_elements(s: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(&open) {
        // `<code` but not `<codex`.
        let after = rest[i + open.len()..].chars().next();
        if !matches!(after, Some('>') | Some(' ')) {
            out.push_str(&rest[..i + open.len()]);
            rest = &rest[i + open.len()..];
            continue;
        }
        out.push_str(&rest[..i]);
        match rest[i..].find(&close) {
            Some(end) => {
                out.push(' ');
                rest = &rest[i + end + close.len()..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether a token is an English word: letters only (an apostrophe or hyphen
/// inside), not an allowed name, not an identifier or a code.
fn english_word(token: &str) -> bool {
    let t = token.trim_matches(|c: char| {
        matches!(
            c,
            '.' | ','
                | ';'
                | ':'
                | '!'
                | '?'
                | '('
                | ')'
                | '"'
                | '\''
                | '“'
                | '”'
                | '‘'
                | '’'
                | '['
                | ']'
                | '…'
                | '·'
                | '—'
                | '–'
                | '-'
                | '/'
                | '*'
                | '«'
                | '»'
                | '|'
        )
    });
    if t.is_empty() || !t.chars().next().unwrap().is_ascii_alphabetic() {
        return false;
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_alphabetic() || c == '\'' || c == '’' || c == '-')
    {
        return false;
    }
    // Codes (LARGE_TRANSFER is excluded above by `_`; WALK, CNY here).
    if t.len() > 1 && t.chars().all(|c| c.is_ascii_uppercase()) {
        return false;
    }
    !ALLOWED.contains(&t.to_ascii_lowercase().as_str())
}

/// The runs of three or more English words in `chunks`.
pub fn english_runs(chunks: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for chunk in chunks {
        let mut run: Vec<&str> = Vec::new();
        let mut flush = |run: &mut Vec<&str>| {
            if run.len() >= 3 {
                found.push(run.join(" "));
            }
            run.clear();
        };
        for token in chunk.split_whitespace() {
            // An e-mail address, a reference or an address of the desk is data.
            if token.contains('@') || token.contains("://") || token.starts_with('/') {
                flush(&mut run);
                continue;
            }
            if english_word(token) {
                run.push(token);
                // A sentence's end ends a run.
                if token.ends_with(['.', ';', ':', '!', '?']) {
                    flush(&mut run);
                }
            } else {
                flush(&mut run);
            }
        }
        flush(&mut run);
    }
    found
}

#[test]
fn the_check_finds_english_sentences_and_spares_codes_and_names() {
    let html = r#"<p>请在 <a href="/x">Walk queue</a> 中处理。</p>
        <p title="Reload the page">刷新</p><code>riskdesk config apply FILE</code>
        <td>LARGE_TRANSFER</td><td>li.na@bank.example</td><p>RC-000001 已解决</p>
        <p>The case is resolved.</p><pre>triage_queue = "Triage queue"</pre>"#;
    let runs = english_runs(&visible_text(html, &["Walk queue"]));
    assert_eq!(runs, vec!["Reload the page", "The case is resolved."]);
}

/// The path of a GET route with its parameters filled in with the walk's objects.
fn sample_path(pattern: &str, s: &Samples) -> Option<String> {
    let p = pattern
        .replace("{case_ref}", &s.case_ref)
        .replace("{token}", "no-such-token");
    let p = match pattern {
        "/admin/users/{id}" => p.replace("{id}", &s.agent_id.to_string()),
        "/reports/agents/{id}" => p.replace("{id}", &s.agent_id.to_string()),
        "/admin/webhooks/{id}" => p.replace("{id}", &s.hook_id.to_string()),
        // Nothing there: the translated 404 page.
        "/emergencies/{id}" | "/notifications/{id}" | "/triage/mail/{id}" => {
            p.replace("{id}", "999999")
        }
        "/admin/calendars/{name}" => p.replace("{name}", "walk-cal"),
        "/admin/sla-policies/{name}" => p.replace("{name}", "walk-policy"),
        "/admin/queues/{name}" => p.replace("{name}", "Walk%20queue"),
        "/admin/campaigns/{name}" => p.replace("{name}", "walk-campaign"),
        "/admin/oncall/{name}" => p.replace("{name}", "walk-rota"),
        "/admin/rules/{code}" | "/admin/playbooks/{code}" | "/reports/rules/{code}" => {
            p.replace("{code}", "WALK")
        }
        "/admin/routes/{position}" => p.replace("{position}", "0"),
        "/admin/templates/{name}" => p.replace("{name}", "verify"),
        "/admin/templates/{name}/versions/{version}" => p
            .replace("{name}", "reply_case_update")
            .replace("{version}", "1"),
        "/admin/tips/{id}" => p.replace("{id}", "1"),
        "/briefs/{week}" => p.replace("{week}", "2026-W48"),
        "/knowledge/{id}" | "/knowledge/{id}/edit" | "/knowledge/{id}/reads" => {
            p.replace("{id}", &s.article_id.to_string())
        }
        // Streams of data, not pages.
        "/reports/export/{file}" | "/static/{file}" | "/cases/{case_ref}/attachments/{id}" => {
            return None;
        }
        _ => p,
    };
    assert!(!p.contains('{'), "no sample for {pattern}");
    Some(p)
}

struct Samples {
    case_ref: String,
    agent_id: i64,
    hook_id: i64,
    article_id: i64,
}

#[test]
fn every_page_reads_in_chinese() {
    let app = TestApp::spawn();
    apply_config(&app, &walk_desk());
    let admin = zh_user(&app, "zh.admin@bank.example", "张管理", "admin");
    let supervisor = zh_user(&app, "zh.supervisor@bank.example", "李主管", "supervisor");
    let agent = zh_user(&app, "zh.agent@bank.example", "王坐席", "agent");
    apply_config(
        &app,
        &format!(
            "{}\n[[oncall]]\nname = \"walk-rota\"\ntimezone = \"UTC\"\nmembers = [\"zh.agent@bank.example\"]\nrotation_hours = 24\nhandover = \"2026-11-01T09:00:00Z\"\n",
            walk_desk()
        ),
    );
    let key = app.api_key();
    let mut case_ref = String::new();
    for n in 0..3 {
        let (s, r) = app.post_api(
            &key,
            "/api/v1/alerts",
            &serde_json::json!({
                "external_id": format!("zh-walk-{n}"),
                "rule": "WALK",
                "amount": {"value": "1500.00", "currency": "CNY"},
                "customer": {"external_id": format!("C-zh-{n}"), "name": "王伟",
                             "email": "wei@example.com", "phone": "+8613800138000"},
                "attributes": {"device_id": "d-91ab", "ip": "203.0.113.7"}
            }),
        );
        assert_eq!(s, 201, "{r}");
        case_ref = r["case_ref"].as_str().unwrap().to_string();
    }
    let hook_id = riskdesk::webhooks::add(
        &mut app.conn(),
        app.clock.now(),
        &Actor::cli(),
        "walk hook",
        "http://127.0.0.1:9/walk",
        "case.opened",
    )
    .unwrap()
    .0
    .id;
    // An article written from the walk's case, once it is resolved; its English is
    // content, read by those who choose it.
    let reference = riskdesk::store::cases::parse_case_ref(&case_ref).unwrap();
    let res = supervisor.submit(
        &format!("/cases/{case_ref}"),
        &format!("/cases/{case_ref}/resolve"),
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "blocked"),
            ("note", "客户确认是冒充客服的诈骗。"),
        ],
    );
    assert_eq!(res.status(), 303);
    let article_id = {
        let mut conn = app.conn();
        let snap = riskdesk::store::deskconfig::snapshot(&mut conn).unwrap();
        riskdesk::knowledge::create(
            &mut conn,
            app.clock.now(),
            &Actor::user(user_id(&app, "zh.supervisor@bank.example"), None),
            &snap,
            &riskdesk::knowledge::Submitted {
                title_en: "Impersonated customer service".into(),
                title_zh: "冒充客服诈骗".into(),
                body_en: "Callers pose as customer service.".into(),
                body_zh: "骗子冒充客服，要求客户转账。".into(),
                rules: vec!["WALK".into()],
            },
            Some(reference),
            true,
        )
        .unwrap()
        .id
    };
    let samples = Samples {
        case_ref,
        agent_id: user_id(&app, "zh.agent@bank.example"),
        hook_id,
        article_id,
    };
    // The names the test gave things: data, not the interface's words.
    // The English variants of the customers' e-mails are content the desk sends to
    // English-speaking customers, listed beside the Chinese ones.
    let data = [
        "Walk queue 2",
        "Walk queue",
        "walk hook",
        "Triage",
        "Test agent",
        "Please confirm a payment",
        "How did we do?",
        "About your case",
        "Your case",
        "A secure message about your case",
    ];

    let mut leftovers = BTreeSet::new();
    let mut pages = 0;
    let mut check = |who: &str, path: &str, html: &str| {
        pages += 1;
        for run in english_runs(&visible_text(html, &data)) {
            leftovers.insert(format!("{who} {path}: {run}"));
        }
    };
    for (who, b) in [
        ("admin", &admin),
        ("supervisor", &supervisor),
        ("agent", &agent),
    ] {
        for r in ROUTES.iter().filter(|r| r.method == "GET") {
            if matches!(r.access, Access::ApiKey(_)) || r.path.starts_with("/api/") {
                continue;
            }
            if matches!(r.path, "/healthz" | "/readyz" | "/metrics") {
                continue;
            }
            let Some(path) = sample_path(r.path, &samples) else {
                continue;
            };
            let res = b.get(&path);
            let status = res.status().as_u16();
            assert!(status < 500, "{who} GET {path}: {status}");
            if status == 303 {
                continue;
            }
            check(who, &path, &res.text().unwrap());
        }
    }
    // Anonymous readers asking for Chinese: sign-in, customers' dead links, setup.
    let anon = app.browser();
    for path in [
        "/login",
        "/v/no-such-token",
        "/s/no-such-token",
        "/m/no-such-token",
        "/setup/x",
        "/nowhere",
    ] {
        let res = anon.get_lang(path, "zh-CN");
        check("anonymous", path, &res.text().unwrap());
    }
    // Refused forms: a bad calendar, a bad file, a bad policy.
    let res = admin.submit(
        "/admin/calendars",
        "/admin/calendars",
        &[
            ("name", "bad-cal"),
            ("timezone", "Mars/Base"),
            ("hours_mon", "09:00-08:00, 25:00-26:00"),
            ("hours_tue", "9-17"),
            ("hours_wed", ""),
            ("hours_thu", ""),
            ("hours_fri", ""),
            ("hours_sat", ""),
            ("hours_sun", ""),
            ("holidays", "2026-13-45"),
        ],
    );
    assert_eq!(res.status(), 422);
    check("admin", "POST /admin/calendars", &res.text().unwrap());
    let res = admin.submit("/admin/desk", "/admin/desk/apply", &[("config", BAD_FILE)]);
    assert_eq!(res.status(), 422);
    check("admin", "POST /admin/desk/apply", &res.text().unwrap());
    let res = admin.submit(
        "/admin/sla-policies",
        "/admin/sla-policies",
        &[
            ("name", "bad-policy"),
            ("calendar", "nope"),
            ("warn_at_percent", "90, 75"),
            ("max_pause_minutes", "x"),
            ("critical_first_response", "15"),
            ("critical_resolution", "10"),
            ("high_first_response", ""),
            ("high_resolution", ""),
            ("medium_first_response", ""),
            ("medium_resolution", ""),
            ("low_first_response", ""),
            ("low_resolution", ""),
        ],
    );
    assert_eq!(res.status(), 422);
    check("admin", "POST /admin/sla-policies", &res.text().unwrap());
    assert!(pages > 150, "only {pages} pages walked");
    assert!(
        leftovers.is_empty(),
        "English on zh-CN pages ({}):\n{}",
        leftovers.len(),
        leftovers.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// A configuration file wrong in many ways: each problem is listed.
const BAD_FILE: &str = r#"triage_queue = "Nowhere"

[[calendars]]
name = "bad-cal"
timezone = "Mars/Base"
holidays = ["2026-13-45"]
[calendars.hours]
mon = [["09:00", "08:00"]]
tue = [["25:00", "26:00"]]

[[sla_policies]]
name = "p"
calendar = "nope"
warn_at_percent = [90, 75]

[[queues]]
name = "Q"
sla_policy = "missing"

[[rules]]
code = "BAD CODE"
category = "x"
default_severity = "severe"
verify_by_email = "sometimes"

[[routes]]
queue = "Q"
min_amount = "lots"
currency = "yuan"
"#;

#[test]
fn configuration_problems_read_in_chinese_on_the_form_and_in_english_on_the_cli() {
    let app = TestApp::spawn();
    let admin = zh_user(&app, "zh.admin@bank.example", "张管理", "admin");
    let res = admin.submit("/admin/desk", "/admin/desk/apply", &[("config", BAD_FILE)]);
    assert_eq!(res.status(), 422);
    let page = res.text().unwrap();
    for zh in [
        "“Mars/Base”不是 IANA 时区",
        "没有名为“nope”的日历",
        "没有名为“missing”的 SLA 策略",
        "没有名为“Nowhere”的队列",
        "“severe”不是 low、medium、high、critical 之一",
        "“yuan”不是币种代码",
        "“lots”不是小数",
        "开始时间“09:00”须早于结束时间“08:00”",
        "须按升序排列且不能重复",
        "<code>sla_policies[0].targets</code>: 为必填项",
    ] {
        assert!(page.contains(zh), "{zh} not on the page:\n{page}");
    }
    assert!(!page.contains("is not an IANA time zone"), "{page}");
    // The typed file stays in the form, and nothing changed.
    assert!(page.contains("BAD CODE"));
    assert_eq!(app.count("calendars"), 0);
    // The same reader in English reads the English words.
    let res = admin.submit(
        "/profile",
        "/profile",
        &[("language", "en"), ("timezone", "UTC")],
    );
    assert_eq!(res.status(), 303);
    let res = admin.submit("/admin/desk", "/admin/desk/apply", &[("config", BAD_FILE)]);
    assert!(
        res.text()
            .unwrap()
            .contains("&#39;Mars/Base&#39; is not an IANA time zone")
    );

    // The command line prints the same problems in English.
    let d = crate::cli::desk();
    let file = d.dir.path().join("bad.toml");
    std::fs::write(&file, BAD_FILE).unwrap();
    let (code, _, err) = d.run(&["config", "apply", file.to_str().unwrap()], None);
    assert_eq!(code, 1, "{err}");
    for en in [
        "calendars[0].timezone: 'Mars/Base' is not an IANA time zone",
        "sla_policies[0].calendar: no calendar is named 'nope'",
        "queues[0].sla_policy: no SLA policy is named 'missing'",
        "triage_queue: no queue is named 'Nowhere'",
        "rules[0].default_severity: 'severe' is not one of low, medium, high, critical",
        "routes[0].currency: 'yuan' is not a currency code such as CNY",
        "calendars[0].hours.mon[0]: start '09:00' must be before end '08:00'",
    ] {
        assert!(err.contains(en), "{en} not in:\n{err}");
    }
    assert!(!err.contains('“'), "{err}");
}
