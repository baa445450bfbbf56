// The knowledge base: articles in both languages (a missing one refused, nothing
// saved), published, edited and retired with audit events and kept versions, agents
// refused every write, a search that finds English and Chinese substrings and only
// what the reader may read, the case page's articles for its rule, the sign-in
// banner of new articles until read (and again after an edit that notifies), the
// supervisor's report of who has not read an article, "what we learned" from a
// resolved case linked both ways, and text that stays text.

use chrono::Duration;
use serde_json::json;

use crate::auth::user_id;
use crate::common::{Browser, TestApp, location};
use crate::intake::DESK;

struct Kb {
    app: TestApp,
    key: String,
    supervisor: Browser,
}

impl Kb {
    fn new() -> Kb {
        // Days pass in some tests: the sessions outlive them.
        let app = TestApp::spawn_with(|s| {
            s.session_idle = Duration::days(30);
            s.session_max = Duration::days(30);
        });
        app.apply_config(DESK);
        let key = app.api_key();
        let supervisor = app.signed_in("supervisor");
        Kb {
            app,
            key,
            supervisor,
        }
    }

    /// Writes an article as the supervisor; returns its id.
    fn write(&self, fields: &[(&str, &str)]) -> i64 {
        let res = self
            .supervisor
            .submit("/knowledge/new", "/knowledge", fields);
        assert_eq!(res.status(), 303, "{}", res.text().unwrap_or_default());
        let to = location(&res);
        to.trim_start_matches("/knowledge/")
            .parse()
            .unwrap_or_else(|_| panic!("redirected to {to}"))
    }

    /// A published article of `rule` with these titles and bodies.
    fn publish(&self, rule: &str, en: (&str, &str), zh: (&str, &str)) -> i64 {
        let mut fields = vec![
            ("title_en", en.0),
            ("body_en", en.1),
            ("title_zh", zh.0),
            ("body_zh", zh.1),
            ("publish", "1"),
        ];
        if !rule.is_empty() {
            fields.push(("rules", rule));
        }
        self.write(&fields)
    }

    fn post_case(&self, id: &str, rule: &str, customer: &str) -> String {
        let (s, r) = self.app.post_api(
            &self.key,
            "/api/v1/alerts",
            &json!({
                "external_id": id,
                "rule": rule,
                "amount": {"value": "8000.00", "currency": "CNY"},
                "customer": {"external_id": customer, "name": "王伟", "email": "wei@example.com",
                             "phone": "+8613800138000"},
            }),
        );
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    }

    fn articles(&self) -> i64 {
        self.app.count("articles")
    }
}

fn page(b: &Browser, path: &str) -> String {
    let res = b.get(path);
    assert_eq!(res.status(), 200, "GET {path}");
    res.text().unwrap()
}

/// The text of the element with `id` (to its closing tag of the same name).
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let tag_start = html[..start].rfind('<').unwrap();
    let tag: String = html[tag_start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let end = html[start..]
        .find(&format!("</{tag}>"))
        .map(|e| start + e)
        .unwrap_or(html.len());
    &html[start..end]
}

/// The values of `attr="…"` in `html`, in order.
fn attrs(html: &str, attr: &str) -> Vec<String> {
    let needle = format!("{attr}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// The article ids a list or banner links to, in order, without repeats.
fn linked_articles(html: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for href in attrs(html, "href") {
        if let Some(rest) = href.strip_prefix("/knowledge/")
            && let Ok(id) = rest.parse::<i64>()
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}

fn article_kinds(app: &TestApp) -> Vec<String> {
    app.audit_kinds()
        .into_iter()
        .filter(|k| k.starts_with("article."))
        .collect()
}

#[test]
fn an_article_needs_both_languages_and_a_refused_one_saves_nothing() {
    let kb = Kb::new();
    let res = kb.supervisor.submit(
        "/knowledge/new",
        "/knowledge",
        &[
            ("title_en", "Safe account scam"),
            ("body_en", "Callers ask customers to move money."),
            ("title_zh", ""),
            ("body_zh", "   "),
            ("rules", "LARGE_TRANSFER"),
            ("rules", "NO_SUCH_RULE"),
            ("publish", "1"),
        ],
    );
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    let problems = section(&html, "article-problems");
    assert!(
        problems.contains("The Chinese title is missing."),
        "{problems}"
    );
    assert!(
        problems.contains("The Chinese text is missing."),
        "{problems}"
    );
    assert!(
        problems.contains("The desk has no rule NO_SUCH_RULE."),
        "{problems}"
    );
    assert!(!problems.contains("English"), "{problems}");
    // What was typed stays on the form.
    assert!(html.contains("value=\"Safe account scam\""));
    assert!(html.contains("Callers ask customers to move money."));
    assert_eq!(kb.articles(), 0);
    assert_eq!(kb.app.count("article_versions"), 0);
    assert_eq!(kb.app.count("article_rules"), 0);
    assert!(article_kinds(&kb.app).is_empty());

    // In Chinese, the refusal names the missing English in Chinese.
    let zh = kb
        .supervisor
        .client
        .post(kb.app.url("/knowledge"))
        .header("Accept-Language", "zh-CN")
        .form(&[
            ("title_en", ""),
            ("body_en", "x"),
            ("title_zh", "安全账户诈骗"),
            ("body_zh", "正文"),
            ("csrf_token", &kb.supervisor.csrf_from("/knowledge/new")),
        ])
        .send()
        .unwrap();
    assert_eq!(zh.status(), 422);
    assert!(zh.text().unwrap().contains("缺少英文标题。"));
    assert_eq!(kb.articles(), 0);

    let id = kb.write(&[
        ("title_en", "Safe account scam"),
        ("body_en", "Callers ask customers to move money."),
        ("title_zh", "安全账户诈骗"),
        ("body_zh", "骗子要求客户转移资金。"),
        ("rules", "LARGE_TRANSFER"),
    ]);
    assert_eq!(kb.articles(), 1);
    assert_eq!(article_kinds(&kb.app), vec!["article.created"]);
    let html = page(&kb.supervisor, &format!("/knowledge/{id}"));
    assert!(html.contains("Draft"), "a draft until published");
}

#[test]
fn publishing_editing_and_retiring_are_audited_and_every_version_is_kept() {
    let kb = Kb::new();
    let (agent, _) = kb
        .app
        .agent("li.na@bank.example", &["Transfers"], &["fraud"], 5);
    let id = kb.write(&[
        ("title_en", "SIM swap"),
        ("body_en", "The phone goes dead first."),
        ("title_zh", "SIM 卡劫持"),
        ("body_zh", "手机先没有信号。"),
        ("rules", "LARGE_TRANSFER"),
    ]);
    let article = format!("/knowledge/{id}");
    // A draft is the supervisors' own: agents find nothing there.
    assert_eq!(agent.get(&article).status(), 404);
    assert!(!linked_articles(&page(&agent, "/knowledge")).contains(&id));

    let res = kb
        .supervisor
        .submit(&article, &format!("{article}/publish"), &[]);
    assert_eq!(location(&res), article);
    assert!(page(&agent, &article).contains("The phone goes dead first."));
    // Publishing twice is refused with a message, nothing recorded.
    let res = kb
        .supervisor
        .submit(&article, &format!("{article}/publish"), &[]);
    assert_eq!(location(&res), article);
    assert!(page(&kb.supervisor, &article).contains("The article is published already."));

    kb.app.clock.advance(Duration::hours(2));
    let edit = |version: &str, body_en: &str| {
        kb.supervisor.submit(
            &format!("{article}/edit"),
            &article,
            &[
                ("version", version),
                ("title_en", "SIM swap"),
                ("body_en", body_en),
                ("title_zh", "SIM 卡劫持"),
                ("body_zh", "手机先没有信号。"),
                ("rules", "LARGE_TRANSFER"),
            ],
        )
    };
    let res = edit(
        "1",
        "The phone goes dead first; then the password is reset.",
    );
    assert_eq!(location(&res), article);
    // Saving the same text again keeps no version.
    let res = edit(
        "2",
        "The phone goes dead first; then the password is reset.",
    );
    assert_eq!(location(&res), article);
    assert_eq!(kb.app.count("article_versions"), 2);
    // A form opened at version 1 is refused now, the writer's text kept.
    let res = edit("1", "An edit from a stale form.");
    assert_eq!(res.status(), 409);
    let html = res.text().unwrap();
    assert!(html.contains("it is at version 2 now"), "{html}");
    assert!(html.contains("An edit from a stale form."));
    assert_eq!(kb.app.count("article_versions"), 2);
    assert!(page(&agent, &article).contains("then the password is reset"));

    // The history: both versions, who and when; the first one readable as it was.
    let html = page(&kb.supervisor, &article);
    let history = section(&html, "article-history");
    assert_eq!(attrs(history, "data-version"), vec!["2", "1"]);
    assert!(history.contains("Test supervisor"));
    let old = page(&kb.supervisor, &format!("{article}?version=1"));
    assert!(old.contains("This is version 1 of 2"));
    assert!(old.contains("The phone goes dead first.</p>"));
    assert!(!old.contains("then the password is reset"));
    // Agents read the current version only.
    assert!(page(&agent, &format!("{article}?version=1")).contains("then the password is reset"));

    let res = kb
        .supervisor
        .submit(&article, &format!("{article}/retire"), &[]);
    assert_eq!(location(&res), article);
    assert_eq!(agent.get(&article).status(), 404);
    assert!(page(&kb.supervisor, &article).contains("Retired"));
    // Brought back, it is published again.
    kb.supervisor
        .submit(&article, &format!("{article}/publish"), &[]);
    assert_eq!(agent.get(&article).status(), 200);

    assert_eq!(
        article_kinds(&kb.app),
        vec![
            "article.created",
            "article.published",
            "article.edited",
            "article.retired",
            "article.published",
        ]
    );
    // The audit log names them in the reader's language.
    let admin = kb.app.signed_in("admin");
    let log = page(&admin, "/admin/audit?kind=article.*");
    assert!(log.contains("Article edited") && log.contains("Article retired"));
}

#[test]
fn agents_are_refused_every_route_that_writes() {
    let kb = Kb::new();
    let (agent, _) = kb
        .app
        .agent("li.na@bank.example", &["Transfers"], &["fraud"], 5);
    let id = kb.publish(
        "LARGE_TRANSFER",
        ("Mule accounts", "Money in, money out."),
        ("资金过桥账户", "当天进当天出。"),
    );
    let before = (kb.articles(), kb.app.count("article_versions"));
    let token = agent.csrf_from("/knowledge");
    let fields = [
        ("title_en", "Agent's article"),
        ("body_en", "x"),
        ("title_zh", "坐席的文章"),
        ("body_zh", "x"),
        ("version", "1"),
        ("csrf_token", token.as_str()),
    ];
    for path in [
        "/knowledge/new".to_string(),
        format!("/knowledge/{id}/edit"),
        format!("/knowledge/{id}/reads"),
    ] {
        assert_eq!(agent.get(&path).status(), 403, "GET {path}");
    }
    for path in [
        "/knowledge".to_string(),
        format!("/knowledge/{id}"),
        format!("/knowledge/{id}/publish"),
        format!("/knowledge/{id}/retire"),
    ] {
        assert_eq!(agent.post_raw(&path, &fields).status(), 403, "POST {path}");
    }
    assert_eq!((kb.articles(), kb.app.count("article_versions")), before);
    // Agents read: the list and the article, without the supervisors' actions.
    let html = page(&agent, &format!("/knowledge/{id}"));
    assert!(!html.contains("article-actions") && !html.contains("/edit"));
    assert!(!page(&agent, "/knowledge").contains("/knowledge/new"));
}

#[test]
fn search_finds_english_and_chinese_substrings_and_only_what_the_reader_may_read() {
    let kb = Kb::new();
    let (agent, _) = kb
        .app
        .agent("li.na@bank.example", &["Transfers"], &["fraud"], 5);
    let safe = kb.publish(
        "LARGE_TRANSFER",
        (
            "The safe account scam",
            "A caller posing as the police asks for a transfer to a Safe Account.",
        ),
        ("“安全账户”诈骗", "骗子冒充公安，要求客户把钱转入安全账户。"),
    );
    let sim = kb.publish(
        "NEW_ACCOUNT_BURST",
        (
            "SIM swap",
            "The phone number moves to a new card: 100% of codes go to the fraudster.",
        ),
        ("SIM 卡劫持", "手机号被补办到新卡上，验证码都发给了骗子。"),
    );
    let draft = kb.write(&[
        ("title_en", "Draft about safe accounts"),
        ("body_en", "Not ready."),
        ("title_zh", "安全账户草稿"),
        ("body_zh", "未完成。"),
    ]);
    let retired = kb.publish(
        "",
        ("Old safe account note", "Outdated."),
        ("旧的安全账户说明", "已过时。"),
    );
    kb.supervisor.submit(
        &format!("/knowledge/{retired}"),
        &format!("/knowledge/{retired}/retire"),
        &[],
    );
    let found = |b: &Browser, q: &str| -> Vec<i64> {
        let path = format!(
            "/knowledge?{}",
            serde_urlencoded::to_string([("q", q)]).unwrap()
        );
        let html = page(b, &path);
        let mut ids = linked_articles(section(&html, "knowledge-articles"));
        ids.sort();
        ids
    };
    // English, whatever the letter case, part of a word too; every word must match.
    assert_eq!(found(&agent, "SAFE acc"), vec![safe]);
    assert_eq!(found(&agent, "safe account police"), vec![safe]);
    assert_eq!(found(&agent, "safe sim"), Vec::<i64>::new());
    // Chinese substrings: two characters, four, inside a longer run.
    assert_eq!(found(&agent, "安全账户"), vec![safe]);
    assert_eq!(found(&agent, "补办"), vec![sim]);
    assert_eq!(found(&agent, "骗子"), vec![safe, sim]);
    assert_eq!(found(&agent, "验证码 SIM"), vec![sim]);
    // Rule codes are searchable; wildcards are text.
    assert_eq!(found(&agent, "new_account"), vec![sim]);
    assert_eq!(found(&agent, "100%"), vec![sim]);
    assert_eq!(found(&agent, "%"), vec![sim]);
    assert_eq!(found(&agent, "_"), vec![safe, sim]);
    // Supervisors find drafts and retired articles too, and filter by status.
    assert_eq!(
        found(&kb.supervisor, "安全账户"),
        vec![safe, draft, retired]
    );
    let html = page(
        &kb.supervisor,
        "/knowledge?q=%E5%AE%89%E5%85%A8&status=draft",
    );
    assert_eq!(
        linked_articles(section(&html, "knowledge-articles")),
        vec![draft]
    );
    // An agent asking for drafts still gets published articles only.
    let html = page(&agent, "/knowledge?status=draft");
    let mut ids = linked_articles(section(&html, "knowledge-articles"));
    ids.sort();
    assert_eq!(ids, vec![safe, sim]);
    // By rule.
    let html = page(&agent, "/knowledge?rule=NEW_ACCOUNT_BURST");
    assert_eq!(
        linked_articles(section(&html, "knowledge-articles")),
        vec![sim]
    );
    // Nothing found says so; too long a search is refused and says why.
    let html = page(&agent, "/knowledge?q=nothing-like-this");
    assert!(html.contains("No article matches."));
    let long = "字".repeat(101);
    let res = agent.get(&format!(
        "/knowledge?{}",
        serde_urlencoded::to_string([("q", long.as_str())]).unwrap()
    ));
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .unwrap()
            .contains("A search is at most 100 characters; this one has 101.")
    );
}

#[test]
fn the_case_page_shows_its_rules_published_articles_newest_first() {
    let kb = Kb::new();
    let (agent, _) = kb
        .app
        .agent("li.na@bank.example", &["Transfers"], &["fraud"], 5);
    let older = kb.publish(
        "LARGE_TRANSFER",
        ("Older pattern", "First."),
        ("较早的手法", "第一篇。"),
    );
    kb.app.clock.advance(Duration::hours(3));
    let newer = kb.publish(
        "LARGE_TRANSFER",
        ("Newer pattern", "Second."),
        ("较新的手法", "第二篇。"),
    );
    let other_rule = kb.publish(
        "NEW_ACCOUNT_BURST",
        ("Other rule", "Elsewhere."),
        ("其他规则", "别处。"),
    );
    let draft = kb.write(&[
        ("title_en", "Unfinished"),
        ("body_en", "x"),
        ("title_zh", "未完成"),
        ("body_zh", "x"),
        ("rules", "LARGE_TRANSFER"),
    ]);
    let case = kb.post_case("kb-1", "LARGE_TRANSFER", "C-kb-1");
    let html = page(&agent, &format!("/cases/{case}"));
    let panel = section(&html, "knowledge");
    assert_eq!(
        linked_articles(section(panel, "knowledge-for-rule")),
        vec![newer, older]
    );
    for id in [other_rule, draft] {
        assert!(!linked_articles(panel).contains(&id));
    }
    // The search box searches the knowledge base.
    assert!(panel.contains("action=\"/knowledge\"") && panel.contains("name=\"q\""));
    // In Chinese, the titles are the Chinese ones.
    let zh = agent
        .get_lang(&format!("/cases/{case}"), "zh-CN")
        .text()
        .unwrap();
    assert!(section(&zh, "knowledge").contains("较新的手法"));
    // An open case offers no "what we learned".
    assert!(!page(&kb.supervisor, &format!("/cases/{case}")).contains("write-learned"));
}

#[test]
fn new_articles_show_at_sign_in_until_read_and_again_after_an_edit_that_notifies() {
    let kb = Kb::new();
    let (id, password) = kb
        .app
        .create_agent("li.na@bank.example", &["Transfers"], &["fraud"], 5);
    let article = kb.publish(
        "LARGE_TRANSFER",
        ("Video-call police scam", "They ask to share the screen."),
        ("视频通话冒充公安诈骗", "对方要求共享屏幕。"),
    );
    // Signing in lands on the home page, which lists it.
    let agent = kb.app.browser();
    let res = agent.login("li.na@bank.example", &password);
    assert_eq!(location(&res), "/");
    let home = page(&agent, "/");
    assert_eq!(
        linked_articles(section(&home, "knowledge-new")),
        vec![article]
    );
    // Another visit still shows it: only opening it is reading it.
    assert!(page(&agent, "/queues").find("knowledge-new").is_none());
    assert!(page(&agent, "/").contains("knowledge-new"));
    // The writer is not told of their own article; another supervisor is.
    assert!(!page(&kb.supervisor, "/").contains("knowledge-new"));
    let other = kb.app.signed_in("supervisor");
    assert_eq!(
        linked_articles(section(&page(&other, "/"), "knowledge-new")),
        vec![article]
    );

    page(&agent, &format!("/knowledge/{article}"));
    assert!(!page(&agent, "/").contains("knowledge-new"));
    // The writer's row (written, they know it) and the agent's.
    assert_eq!(kb.app.count("article_reads"), 2);

    // An edit without notifying leaves it read; one that notifies makes it new.
    let edit = |version: &str, notify: bool, body: &str| {
        let mut fields = vec![
            ("version", version),
            ("title_en", "Video-call police scam"),
            ("body_en", body),
            ("title_zh", "视频通话冒充公安诈骗"),
            ("body_zh", "对方要求共享屏幕。"),
            ("rules", "LARGE_TRANSFER"),
        ];
        if notify {
            fields.push(("notify", "1"));
        }
        let res = kb.supervisor.submit(
            &format!("/knowledge/{article}/edit"),
            &format!("/knowledge/{article}"),
            &fields,
        );
        assert_eq!(res.status(), 303);
    };
    kb.app.clock.advance(Duration::days(1));
    edit("1", false, "They ask to share the screen. (typo fixed)");
    assert!(!page(&agent, "/").contains("knowledge-new"));
    edit(
        "2",
        true,
        "They ask to share the screen, then read the codes.",
    );
    let home = page(&agent, "/");
    let banner = section(&home, "knowledge-new");
    assert_eq!(linked_articles(banner), vec![article]);
    assert!(banner.contains("Updated"));
    page(&agent, &format!("/knowledge/{article}"));
    assert!(!page(&agent, "/").contains("knowledge-new"));
    // Still one row per reader and article, at the version read.
    assert_eq!(kb.app.count("article_reads"), 2);
    {
        use diesel::prelude::*;
        use riskdesk::db::schema::article_reads as r;
        let v: i32 = r::table
            .filter(r::user_id.eq(id))
            .select(r::version)
            .first(&mut *kb.app.conn())
            .unwrap();
        assert_eq!(v, 3);
    }

    // A week later an article nobody opened is no longer new.
    let stale = kb.publish(
        "",
        ("Promotion abuse rings", "One device, many accounts."),
        ("羊毛党团伙", "一台设备，多个账户。"),
    );
    assert!(page(&agent, "/").contains(&format!("/knowledge/{stale}")));
    kb.app.clock.advance(Duration::days(8));
    assert!(!page(&agent, "/").contains("knowledge-new"));
    assert!(page(&agent, "/knowledge").contains(&format!("/knowledge/{stale}")));
}

/// The e-mails listed in the read report's section `id`.
fn emails_in(html: &str, id: &str) -> Vec<String> {
    let mut e = attrs(section(html, id), "data-email");
    e.sort();
    e
}

#[test]
fn the_read_report_lists_exactly_the_agents_who_have_not_read_it() {
    let kb = Kb::new();
    let (a1, _) = kb
        .app
        .agent("a1@bank.example", &["Transfers"], &["fraud"], 5);
    let (_a2, _) = kb
        .app
        .agent("a2@bank.example", &["Transfers"], &["fraud"], 5);
    let (a3, _) = kb
        .app
        .agent("a3@bank.example", &["Transfers", "New accounts"], &[], 5);
    let (_b1, _) = kb.app.agent("b1@bank.example", &["New accounts"], &[], 5);
    let (_gone, _) = kb.app.agent("gone@bank.example", &["Transfers"], &[], 5);
    let admin = kb.app.signed_in("admin");
    let gone = format!("/admin/users/{}", user_id(&kb.app, "gone@bank.example"));
    let res = admin.submit(&gone, &format!("{gone}/deactivate"), &[]);
    assert_eq!(res.status(), 303);
    let article = kb.publish(
        "LARGE_TRANSFER",
        ("Safe account", "Text."),
        ("安全账户", "正文。"),
    );
    let reads = format!("/knowledge/{article}/reads");
    page(&a1, &format!("/knowledge/{article}"));
    page(&a3, &format!("/knowledge/{article}"));

    // The rule routes to Transfers: its active agents are the audience.
    let html = page(&kb.supervisor, &reads);
    assert_eq!(emails_in(&html, "non-readers"), vec!["a2@bank.example"]);
    assert!(
        html.contains("2 of 3 agents have read it; 1 have not."),
        "{html}"
    );
    let readers = emails_in(&html, "readers");
    assert!(readers.contains(&"a1@bank.example".to_string()));
    assert!(readers.contains(&"a3@bank.example".to_string()));
    // Every active agent.
    let html = page(&kb.supervisor, &format!("{reads}?all=1"));
    assert_eq!(
        emails_in(&html, "non-readers"),
        vec!["a2@bank.example", "b1@bank.example"]
    );
    assert!(html.contains("2 of 4 agents have read it; 2 have not."));

    // After an edit that notifies, an earlier reading no longer counts.
    let res = kb.supervisor.submit(
        &format!("/knowledge/{article}/edit"),
        &format!("/knowledge/{article}"),
        &[
            ("version", "1"),
            ("title_en", "Safe account"),
            ("body_en", "Text, with the new video-call twist."),
            ("title_zh", "安全账户"),
            ("body_zh", "正文，新增视频通话的手法。"),
            ("rules", "LARGE_TRANSFER"),
            ("notify", "1"),
        ],
    );
    assert_eq!(res.status(), 303);
    page(&a3, &format!("/knowledge/{article}"));
    let html = page(&kb.supervisor, &reads);
    assert_eq!(
        emails_in(&html, "non-readers"),
        vec!["a1@bank.example", "a2@bank.example"]
    );
    assert!(section(&html, "non-readers").contains("read version 1 only"));
    assert!(html.contains("1 of 3 agents have read it; 2 have not."));
}

#[test]
fn an_article_from_a_resolved_case_links_both_ways_and_an_open_case_is_refused() {
    let kb = Kb::new();
    let (agent, _) = kb
        .app
        .agent("li.na@bank.example", &["Transfers"], &["fraud"], 5);
    let case = kb.post_case("kb-learn", "LARGE_TRANSFER", "C-learn-42");
    let case_page = format!("/cases/{case}");

    // Open: refused on the form and on saving, nothing written.
    let res = kb.supervisor.get(&format!("/knowledge/new?case={case}"));
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("The case is not resolved"));
    let res = kb.supervisor.submit(
        "/knowledge/new",
        "/knowledge",
        &[
            ("title_en", "Lesson"),
            ("body_en", "Text."),
            ("title_zh", "经验"),
            ("body_zh", "正文。"),
            ("source_case", &case),
        ],
    );
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("The case is not resolved"));
    assert_eq!(kb.articles(), 0);

    let res = kb.supervisor.submit(
        &case_page,
        &format!("{case_page}/resolve"),
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "blocked"),
            ("amount_protected", "8000.00"),
            (
                "note",
                "王伟 said a caller on 13800138000 told him to move 8000 to a safe account; card 6222021234567890123, mail wei@example.com.",
            ),
        ],
    );
    assert_eq!(location(&res), case_page);
    // The resolved case offers it to supervisors, not to agents.
    assert!(page(&kb.supervisor, &case_page).contains("id=\"write-learned\""));
    assert!(!page(&agent, &case_page).contains("write-learned"));

    let form = page(&kb.supervisor, &format!("/knowledge/new?case={case}"));
    assert!(form.contains(&format!("name=\"source_case\" value=\"{case}\"")));
    assert!(form.contains("value=\"LARGE_TRANSFER\" checked"));
    assert!(form.contains(&format!("What we learned from {case}")));
    assert!(form.contains(&format!("案件 {case} 的经验总结")));
    assert!(form.contains("Confirmed fraud") && form.contains("确认欺诈"));
    assert!(form.contains("8000.00 CNY"));
    // The note is quoted with the customer's data masked.
    for secret in [
        "王伟",
        "13800138000",
        "6222021234567890123",
        "wei@example.com",
        "C-learn-42",
    ] {
        assert!(!form.contains(secret), "{secret} unmasked in the draft");
    }
    assert!(form.contains("王*") && form.contains("w***@example.com"));
    assert!(form.contains("622202*********0123"));

    // Saved as the form stands (its textareas' text), published.
    let field = |name: &str| -> String {
        let open = format!("name=\"{name}\"");
        let at = form.find(&open).unwrap();
        let rest = &form[at..];
        if rest.starts_with(&format!("{open} value=\"")) || form[..at].ends_with("<input ") {
            let v = &rest[rest.find("value=\"").unwrap() + 7..];
            v[..v.find('"').unwrap()].to_string()
        } else {
            let v = &rest[rest.find('>').unwrap() + 1..];
            v[..v.find("</textarea>").unwrap()].to_string()
        }
    };
    let unescape = |s: String| {
        s.replace("&#39;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let (title_en, title_zh) = (unescape(field("title_en")), unescape(field("title_zh")));
    let (body_en, body_zh) = (unescape(field("body_en")), unescape(field("body_zh")));
    assert!(
        body_en.contains("Case ") && body_zh.contains("坐席备注"),
        "{body_en}"
    );
    let id = kb.write(&[
        ("title_en", &title_en),
        ("body_en", &body_en),
        ("title_zh", &title_zh),
        ("body_zh", &body_zh),
        ("rules", "LARGE_TRANSFER"),
        ("source_case", &case),
    ]);
    // The article names its case; the case lists the article (a draft: supervisors
    // only), and agents once it is published.
    let html = page(&kb.supervisor, &format!("/knowledge/{id}"));
    assert!(html.contains(&format!("href=\"/cases/{case}\" id=\"source-case\"")));
    let html = page(&kb.supervisor, &case_page);
    assert_eq!(
        linked_articles(section(&html, "knowledge-learned")),
        vec![id]
    );
    assert!(!page(&agent, &case_page).contains("knowledge-learned"));
    kb.supervisor.submit(
        &format!("/knowledge/{id}"),
        &format!("/knowledge/{id}/publish"),
        &[],
    );
    let html = page(&agent, &case_page);
    assert_eq!(
        linked_articles(section(&html, "knowledge-learned")),
        vec![id]
    );
    assert!(page(&agent, &format!("/knowledge/{id}")).contains(&format!("/cases/{case}")));
}

#[test]
fn markup_in_an_article_is_shown_as_text() {
    let kb = Kb::new();
    let (agent, _) = kb
        .app
        .agent("li.na@bank.example", &["Transfers"], &["fraud"], 5);
    let id = kb.publish(
        "LARGE_TRANSFER",
        (
            "<b>Bold</b> \"title\" & <script>alert('t')</script>",
            "<script>alert('x')</script>\n\n**<img src=x onerror=alert(1)>** and `<a href=\"javascript:alert(2)\">`\n\n- <iframe src=//evil>",
        ),
        ("<i>标题</i>", "<svg onload=alert(3)>正文"),
    );
    for (b, path) in [
        (&agent, format!("/knowledge/{id}")),
        (&agent, "/knowledge".to_string()),
        (&agent, "/".to_string()),
        (&kb.supervisor, format!("/knowledge/{id}?lang=zh-CN")),
        (&kb.supervisor, format!("/knowledge/{id}/edit")),
    ] {
        let html = page(b, &path);
        for raw in [
            "<script>alert",
            "<img src=x",
            "<a href=\"javascript",
            "<iframe",
            "<svg onload",
            "<b>Bold",
            "<i>标题",
        ] {
            assert!(!html.contains(raw), "{raw} unescaped on {path}");
        }
    }
    let html = page(&agent, &format!("/knowledge/{id}"));
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("<strong>&lt;img src=x onerror=alert(1)&gt;</strong>"));
    assert!(html.contains("<li>&lt;iframe src=//evil&gt;</li>"));
}
