// The library of replies and the security tips, through HTTP: templates filled in
// for a case in its customer's language (the account masked, the deadline in the
// desk's zone), suggestions ordered by rule and state, the preview equal to what is
// sent (the verification e-mail over a real SMTP server on loopback), versions kept
// and restored, refusals that change nothing, do-not-contact and AML customers who
// get nothing, and tips by rule and language on the customer's page and e-mail.

use std::net::TcpListener;
use std::time::{Duration as StdDuration, Instant};

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::common::{Browser, TestApp, location};
use crate::intake::DESK;
use crate::mail::SmtpSink;
use riskdesk::accounts::{self, Actor, NewUserInput, RoutingInput};
use riskdesk::db::schema::{mail_template_versions, mail_templates, outbox, security_tips};
use riskdesk::domain::password::NewPassword;

/// The intake desk with an AML queue and rule beside its transfers.
fn desk_config() -> String {
    format!(
        "{DESK}\n[[queues]]\nname = \"AML review\"\nsla_policy = \"fraud-fast\"\n\n[[rules]]\ncode = \"AML_WATCHLIST\"\nname = \"AML\"\ncategory = \"aml\"\ndefault_severity = \"high\"\n\n[[routes]]\nrule = \"AML_WATCHLIST\"\nqueue = \"AML review\"\n"
    )
}

struct Desk {
    app: TestApp,
    key: String,
}

impl Desk {
    /// A desk in Shanghai's time zone, mailing through `smtp_port` when given.
    fn new(smtp_port: Option<u16>) -> Desk {
        let app = TestApp::spawn_with(|s| {
            s.smtp_url = smtp_port.map(|p| format!("smtp://127.0.0.1:{p}"));
            s.public_url = "https://desk.bank.example".into();
            s.desk_timezone = "Asia/Shanghai".parse().unwrap();
        });
        app.apply_config(&desk_config());
        let key = app.api_key();
        Desk { app, key }
    }

    /// Li Na, an online agent of every queue, signed in: the cases come to her.
    fn agent(&self) -> Browser {
        let password = NewPassword::generate();
        let mut conn = self.app.conn();
        let now = self.app.clock.now();
        let user = accounts::create_user(
            &mut conn,
            now,
            &Actor::cli(),
            &NewUserInput {
                email: "li.na@bank.example",
                name: "Li Na",
                role: "agent",
                language: Some("en"),
            },
            &password,
        )
        .unwrap();
        accounts::set_routing(
            &mut conn,
            now,
            &Actor::cli(),
            user.id,
            &RoutingInput {
                queues: vec![
                    "Transfers".into(),
                    "AML review".into(),
                    "New accounts".into(),
                ],
                skills: vec!["fraud".into()],
                capacity: 50,
                shift_calendar: None,
                auto_assign: true,
            },
            |_| Ok(()),
        )
        .unwrap();
        drop(conn);
        let b = self.app.browser();
        assert_eq!(
            b.login("li.na@bank.example", password.expose()).status(),
            303
        );
        assert_eq!(
            b.submit("/profile", "/presence", &[("status", "online")])
                .status(),
            303
        );
        b
    }

    /// Opens a case of `rule` for `customer` with a stopped payment of 125000.00 CNY;
    /// its reference.
    fn alert(&self, id: &str, rule: &str, customer: Value, attributes: Value) -> String {
        let body = json!({
            "external_id": id,
            "rule": rule,
            "customer": customer,
            "amount": {"value": "125000.00", "currency": "CNY"},
            "transaction_ref": "TX-20261124-88812",
            "attributes": attributes,
        });
        let (s, r) = self.app.post_api(&self.key, "/api/v1/alerts", &body);
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    }

    fn events(&self, reference: &str) -> usize {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}/events"))
            .1["events"]
            .as_array()
            .unwrap()
            .len()
    }

    /// (subject, text) of every stored message of `kind`.
    fn mails(&self, kind: &str) -> Vec<(String, String)> {
        outbox::table
            .filter(outbox::kind.eq(kind))
            .order(outbox::id.asc())
            .select((outbox::subject, outbox::body_text))
            .load(&mut *self.app.conn())
            .unwrap()
    }

    /// (version, restored from, English body) of every version of `name`, oldest first.
    fn versions(&self, name: &str) -> Vec<(i32, Option<i32>, String)> {
        mail_template_versions::table
            .filter(mail_template_versions::name.eq(name))
            .order(mail_template_versions::version.asc())
            .select((
                mail_template_versions::version,
                mail_template_versions::restored_from,
                mail_template_versions::body_en,
            ))
            .load(&mut *self.app.conn())
            .unwrap()
    }

    /// The stored text of template `name` in `lang`.
    fn body(&self, name: &str, lang: &str) -> String {
        mail_templates::table
            .filter(mail_templates::name.eq(name))
            .filter(mail_templates::lang.eq(lang))
            .select(mail_templates::body)
            .first(&mut *self.app.conn())
            .unwrap()
    }

    fn template_rows(&self, name: &str) -> i64 {
        mail_templates::table
            .filter(mail_templates::name.eq(name))
            .count()
            .get_result(&mut *self.app.conn())
            .unwrap()
    }

    fn count_kind(&self, kind: &str) -> usize {
        self.app
            .audit_kinds()
            .iter()
            .filter(|k| k.as_str() == kind)
            .count()
    }
}

fn customer(id: &str, name: &str, locale: &str) -> Value {
    json!({"external_id": id, "name": name, "email": "wei@example.com", "locale": locale})
}

/// Text as the page escaped it, read back.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// A quoted-printable body (RFC 2045) decoded: soft line breaks joined, `=XX` bytes
/// read back as UTF-8.
fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("=XX"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The text inside the element with `id`.
fn element(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open = start + html[start..].find('>')? + 1;
    let tag_start = html[..start].rfind('<')?;
    let tag: String = html[tag_start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let close = open + html[open..].find(&format!("</{tag}>"))?;
    Some(unescape(&html[open..close]))
}

/// The templates the case page suggests, in its order.
fn suggested(b: &Browser, reference: &str) -> Vec<String> {
    let html = b.get(&format!("/cases/{reference}")).text().unwrap();
    let panel = &html[html.find("id=\"replies\"").expect("the replies panel")..];
    let panel = &panel[..panel.find("</section>").unwrap()];
    panel
        .split("data-template=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect()
}

fn preview(b: &Browser, reference: &str, template: &str, channel: &str) -> String {
    let res = b.get(&format!(
        "/cases/{reference}/messages/preview?template={template}&channel={channel}"
    ));
    assert_eq!(res.status(), 200);
    res.text().unwrap()
}

/// A new reply template from the supervisor's form.
fn add_reply(
    sup: &Browser,
    name: &str,
    rules: &[&str],
    states: &[&str],
) -> reqwest::blocking::Response {
    let subject_en = format!("{name} {{case_ref}}");
    let body_en = format!("Dear {{customer_name}}, this is {name}.");
    let subject_zh = format!("{name}（{{case_ref}}）");
    let body_zh = format!("{{customer_name}}，您好：这是 {name}。");
    let mut fields = vec![
        ("name", name),
        ("purpose", "reply"),
        ("scope", "1"),
        ("subject_en", subject_en.as_str()),
        ("body_en", body_en.as_str()),
        ("subject_zh-CN", subject_zh.as_str()),
        ("body_zh-CN", body_zh.as_str()),
    ];
    fields.extend(rules.iter().map(|r| ("rule", *r)));
    fields.extend(states.iter().map(|s| ("state", *s)));
    sup.submit("/admin/templates", "/admin/templates", &fields)
}

/// The critical large transfer opened at the test clock's start (09:00 in Shanghai)
/// is due two hours later.
const DUE_EN: &str = "24 November 2026, 11:00 (Asia/Shanghai)";
const DUE_ZH: &str = "2026年11月24日 11:00（Asia/Shanghai）";

#[test]
fn placeholders_are_filled_for_the_case_in_the_customers_language() {
    let desk = Desk::new(None);
    let agent = desk.agent();
    let english = desk.alert(
        "a-1",
        "LARGE_TRANSFER",
        customer("C-1", "Wei Wang", "en"),
        json!({"account": "6222021234567890123", "merchant": "Acme"}),
    );
    let chinese = desk.alert(
        "a-2",
        "LARGE_TRANSFER",
        customer("C-2", "王伟", "zh-CN"),
        json!({"merchant": "Acme"}),
    );
    let before = (desk.events(&english), desk.events(&chinese));

    // English: the customer's account masked as the desk masks it, the deadline in
    // the desk's zone in English, the sender, the security tips.
    let html = preview(&agent, &english, "reply_case_update", "email");
    // What is previewed can be sent from the same page, as previewed.
    assert!(
        html.contains(&format!(
            "<form method=\"post\" action=\"/cases/{english}/messages\" class=\"stack\" id=\"send\">"
        )),
        "{html}"
    );
    assert!(html.contains("<input type=\"hidden\" name=\"template\" value=\"reply_case_update\">"));
    let subject = element(&html, "preview-subject").expect("the subject");
    assert_eq!(subject, format!("About your case {english}"));
    let text = element(&html, "preview-text").expect("the e-mail's text");
    for part in [
        // The desk's pages mask the customer's name, the preview too.
        "Dear W*** W***,",
        "125000.00 CNY",
        "622202*********0123",
        DUE_EN,
        "Li Na",
        "Stay safe:",
        "We will never ask you to move money to a \"safe account\".",
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
    assert!(
        !html.contains("6222021234567890123"),
        "the account is masked"
    );
    assert!(!text.contains('{'), "every placeholder filled: {text}");
    assert!(html.contains("w***@example.com") && !html.contains("wei@example.com"));

    // Chinese: the transaction reference (no account named), the deadline in Chinese.
    let html = preview(&agent, &chinese, "reply_case_update", "email");
    let text = element(&html, "preview-text").unwrap();
    for part in [
        "王*，您好",
        "TX-202*******8812",
        DUE_ZH,
        "安全提示：",
        "我们绝不会要求您把资金转入所谓的“安全账户”",
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
    assert!(
        !html.contains("TX-20261124-88812"),
        "the reference is masked"
    );
    assert!(!text.contains("Stay safe"), "{text}");

    // The portal message: the same text, the tips as a list.
    let html = preview(&agent, &chinese, "reply_case_update", "portal");
    let at = html
        .find("id=\"preview-portal\"")
        .expect("the portal message");
    let portal = unescape(&html[at..at + html[at..].find("</section>").unwrap()]);
    assert!(
        portal.contains("TX-202*******8812") && portal.contains(DUE_ZH),
        "{portal}"
    );
    assert!(portal.contains("<li>我们绝不会要求您"), "{portal}");
    assert!(element(&html, "preview-text").is_none());

    // An edited text is filled in the same way; an unknown placeholder is refused,
    // naming it, with the text kept.
    let page = format!("/cases/{english}/messages/preview?template=reply_case_update");
    let action = format!("/cases/{english}/messages/preview");
    let res = agent.submit(
        &page,
        &action,
        &[
            ("channel", "email"),
            ("subject", "Your case {case_ref}"),
            (
                "body",
                "Hello {customer_name}, reply by {deadline}. {pin} {otp}",
            ),
        ],
    );
    assert_eq!(res.status(), 400);
    let html = res.text().unwrap();
    assert!(html.contains("{pin}") && html.contains("{otp}"), "{html}");
    assert!(
        html.contains("reply by {deadline}. {pin} {otp}</textarea>"),
        "{html}"
    );
    assert!(element(&html, "preview-text").is_none());
    let res = agent.submit(
        &page,
        &action,
        &[
            ("channel", "email"),
            ("subject", "Your case {case_ref}"),
            (
                "body",
                "Hello {customer_name},\r\nplease reply by {deadline}.",
            ),
        ],
    );
    assert_eq!(res.status(), 200);
    let html = res.text().unwrap();
    let text = element(&html, "preview-text").unwrap();
    assert!(
        text.starts_with(&format!(
            "Hello W*** W***,\nplease reply by {DUE_EN}.\n\n-- \nStay safe:\n- "
        )),
        "{text}"
    );
    assert_eq!(
        element(&html, "preview-subject").unwrap(),
        format!("Your case {english}")
    );

    // A preview sends nothing and changes nothing.
    assert!(desk.mails("verification").is_empty());
    assert_eq!(desk.app.count("outbox"), 0);
    assert_eq!(before, (desk.events(&english), desk.events(&chinese)));
    // Somebody who may not see the case gets nothing either.
    let stranger = desk.app.signed_in("agent");
    let res = stranger.get(&format!(
        "/cases/{english}/messages/preview?template=reply_case_update"
    ));
    assert_eq!(res.status(), 404);
    assert_eq!(
        agent
            .get(&format!(
                "/cases/{english}/messages/preview?template=no_such_template"
            ))
            .status(),
        404
    );
}

#[test]
fn suggestions_are_ordered_by_rule_and_state() {
    let desk = Desk::new(None);
    let agent = desk.agent();
    let sup = desk.app.signed_in("supervisor");
    for (name, rules, states) in [
        ("lt_waiting", &["LARGE_TRANSFER"][..], &["paused"][..]),
        ("lt_any", &["LARGE_TRANSFER"][..], &[][..]),
        (
            "lt_fraud",
            &["LARGE_TRANSFER", "AML_WATCHLIST"][..],
            &["confirmed_fraud"][..],
        ),
        ("burst_only", &["NEW_ACCOUNT_BURST"][..], &[][..]),
    ] {
        let res = add_reply(&sup, name, rules, states);
        assert_eq!(res.status(), 303, "{name}");
        assert_eq!(location(&res), format!("/admin/templates/{name}"));
    }
    let reference = desk.alert(
        "s-1",
        "LARGE_TRANSFER",
        customer("C-1", "Wei Wang", "en"),
        json!({}),
    );
    // Open: the rule's reply, the open state's (asking for more information, seeded
    // with the conversations), then the one for any case.
    assert_eq!(
        suggested(&agent, &reference),
        ["lt_any", "reply_more_information", "reply_case_update"]
    );
    // Waiting on the customer (a verification e-mail pauses the clock): the rule's
    // reply for the state, the rule's, the state's, any case's.
    let page = format!("/cases/{reference}/verify-email");
    let res = agent.submit(&page, &page, &[("template", "verification")]);
    assert_eq!(res.status(), 303);
    assert_eq!(
        suggested(&agent, &reference),
        [
            "lt_waiting",
            "lt_any",
            "reply_awaiting_answer",
            "reply_more_information",
            "reply_case_update"
        ]
    );
    // Resolved as fraud: the disposition's replies.
    let res = agent.submit(
        &format!("/cases/{reference}"),
        &format!("/cases/{reference}/resolve"),
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "blocked"),
            ("amount_protected", "125000.00"),
            ("note", "The customer did not make it."),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(
        suggested(&agent, &reference),
        [
            "lt_fraud",
            "lt_any",
            "reply_account_secured",
            "reply_resolved",
            "reply_case_update"
        ]
    );
    // Each suggestion is filled in, and labelled by how it fits.
    let html = agent.get(&format!("/cases/{reference}")).text().unwrap();
    assert!(
        html.contains("This is lt_fraud.") || html.contains("this is lt_fraud."),
        "{html}"
    );
    assert!(html.contains("For this rule and state") && html.contains("For any case"));
    assert!(html.contains(&format!(
        "/cases/{reference}/messages/preview?template=lt_fraud&amp;channel=email"
    )));
    // The preview's picker offers them in the same order.
    let html = preview(&agent, &reference, "lt_fraud", "email");
    let order: Vec<usize> = ["lt_fraud", "lt_any", "reply_account_secured"]
        .iter()
        .map(|n| html.find(&format!("<option value=\"{n}\"")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(!html.contains("burst_only"));
}

#[test]
fn versions_are_kept_and_an_old_one_restored() {
    let desk = Desk::new(None);
    let sup = desk.app.signed_in("supervisor");
    let name = "reply_case_update";
    let original = desk.body(name, "en");
    assert_eq!(desk.versions(name), [(1, None, original.clone())]);
    let page = format!("/admin/templates/{name}");
    let html = sup.get(&page).text().unwrap();
    assert!(html.contains("name=\"base_version\" value=\"1\""), "{html}");

    let edit = |base: &str, body: &str| {
        sup.submit(
            &page,
            &page,
            &[
                ("base_version", base),
                ("subject_en", "About your case {case_ref}"),
                ("body_en", body),
                ("subject_zh-CN", "关于您的案件 {case_ref}"),
                (
                    "body_zh-CN",
                    "{customer_name}，您好：我们将在 {deadline} 前答复。",
                ),
            ],
        )
    };
    let res = edit("1", "Dear {customer_name}, we will answer by {deadline}.");
    assert_eq!(res.status(), 303);
    assert_eq!(desk.count_kind("mail_template.updated"), 1);
    let versions = desk.versions(name);
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions[1].2,
        "Dear {customer_name}, we will answer by {deadline}."
    );
    // The same text again is no new version.
    let res = edit("2", "Dear {customer_name}, we will answer by {deadline}.");
    assert_eq!(res.status(), 303);
    assert_eq!(desk.versions(name).len(), 2);
    assert_eq!(desk.count_kind("mail_template.updated"), 1);
    // A save from a page opened before version 2 is refused, nothing lost: the text
    // typed is on the form, the other save stands.
    let res = edit("1", "Dear {customer_name}, a stale edit.");
    assert_eq!(res.status(), 409);
    let html = res.text().unwrap();
    assert!(html.contains("version 2"), "{html}");
    assert!(html.contains("a stale edit."), "{html}");
    assert!(html.contains("name=\"base_version\" value=\"2\""), "{html}");
    assert_eq!(desk.versions(name).len(), 2);
    assert_eq!(
        desk.body(name, "en"),
        "Dear {customer_name}, we will answer by {deadline}."
    );

    // The history lists both; version 1 shows the original text.
    let html = sup.get(&page).text().unwrap();
    assert!(html.contains(&format!("href=\"/admin/templates/{name}/versions/1\"")));
    assert!(html.contains(&format!("href=\"/admin/templates/{name}/versions/2\"")));
    let old = sup.get(&format!("{page}/versions/1")).text().unwrap();
    assert!(unescape(&old).contains(&original), "{old}");
    assert!(old.contains("/restore"));
    assert_eq!(sup.get(&format!("{page}/versions/9")).status(), 404);

    // Restoring version 1 makes it version 3; the history keeps all three.
    let res = sup.submit(
        &format!("{page}/versions/1"),
        &format!("{page}/versions/1/restore"),
        &[],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), page);
    let versions = desk.versions(name);
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[2], (3, Some(1), original.clone()));
    assert_eq!(desk.body(name, "en"), original);
    assert_eq!(desk.count_kind("mail_template.restored"), 1);
    let html = sup.get(&page).text().unwrap();
    assert!(html.contains("Restored from version 1"), "{html}");

    // Agents read the history and old versions, and may not restore one.
    let agent = desk.app.signed_in("agent");
    assert_eq!(agent.get(&page).status(), 200);
    let old = agent.get(&format!("{page}/versions/2")).text().unwrap();
    assert!(!old.contains("/restore"), "{old}");
    let csrf = agent.csrf_from("/profile");
    let res = agent.post_raw(
        &format!("{page}/versions/2/restore"),
        &[("csrf_token", &csrf)],
    );
    assert_eq!(res.status(), 403);
    assert_eq!(desk.versions(name).len(), 3);
}

#[test]
fn bad_templates_are_refused_naming_what_is_wrong_and_change_nothing() {
    let desk = Desk::new(None);
    let sup = desk.app.signed_in("supervisor");
    let audits = desk.app.audit_kinds().len();
    let new = |fields: &[(&str, &str)]| sup.submit("/admin/templates", "/admin/templates", fields);
    let full = [
        ("name", "reply_new"),
        ("purpose", "reply"),
        ("scope", "1"),
        ("subject_en", "About {case_ref}"),
        ("body_en", "Dear {customer_name}, by {deadline}."),
        ("subject_zh-CN", "关于 {case_ref}"),
        (
            "body_zh-CN",
            "{customer_name}，您好：请于 {deadline} 前答复。",
        ),
    ];
    let with = |changes: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        let mut f: Vec<(&str, &str)> = full
            .iter()
            .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
            .copied()
            .collect();
        f.extend(changes.iter().filter(|(_, v)| !v.is_empty()).copied());
        f
    };

    // An unknown placeholder, named.
    let res = new(&with(&[(
        "body_en",
        "Dear {customer_name}, your {password}",
    )]));
    assert_eq!(res.status(), 400);
    let html = res.text().unwrap();
    assert!(
        html.contains("{password}") && html.contains("body (en)"),
        "{html}"
    );
    // A language missing, named.
    let res = new(&with(&[("subject_zh-CN", ""), ("body_zh-CN", "")]));
    assert_eq!(res.status(), 400);
    let html = res.text().unwrap();
    assert!(html.contains("简体中文 (zh-CN)"), "{html}");
    // A rule the desk does not have, a bad name, a purpose not allowed.
    let res = new(&with(&[("rule", "NO_SUCH_RULE")]));
    assert_eq!(res.status(), 400);
    assert!(res.text().unwrap().contains("NO_SUCH_RULE"));
    let res = new(&with(&[("name", "Reply New")]));
    assert_eq!(res.status(), 400);
    let res = new(&with(&[("purpose", "survey")]));
    assert_eq!(res.status(), 400);
    assert_eq!(desk.template_rows("reply_new"), 0, "nothing saved");
    // The good one, once: the name is then taken.
    let res = new(&full);
    assert_eq!(res.status(), 303);
    assert_eq!(desk.template_rows("reply_new"), 2);
    assert_eq!(desk.versions("reply_new").len(), 1);
    let res = new(&full);
    assert_eq!(res.status(), 400);
    assert!(res.text().unwrap().contains("reply_new"));
    assert_eq!(desk.versions("reply_new").len(), 1);
    assert_eq!(
        desk.app.audit_kinds().len(),
        audits + 1,
        "one creation audited"
    );

    // Saving a template with a language emptied, or an unknown placeholder, keeps
    // what was there.
    let page = "/admin/templates/reply_new";
    let res = sup.submit(page, page, &[("subject_zh-CN", ""), ("body_zh-CN", "")]);
    assert_eq!(res.status(), 400);
    assert!(res.text().unwrap().contains("简体中文 (zh-CN)"));
    let res = sup.submit(page, page, &[("body_en", "Use {code} now")]);
    assert_eq!(res.status(), 400);
    assert!(res.text().unwrap().contains("{code}"));
    assert_eq!(
        desk.body("reply_new", "en"),
        "Dear {customer_name}, by {deadline}."
    );
    assert_eq!(desk.versions("reply_new").len(), 1);

    // Chinese pages name the problem in Chinese.
    let zh = desk.app.signed_in("supervisor");
    zh.submit(
        "/profile",
        "/profile",
        &[("language", "zh-CN"), ("timezone", "Asia/Shanghai")],
    );
    let res = zh.submit(
        "/admin/templates",
        "/admin/templates",
        &with(&[("subject_zh-CN", ""), ("body_zh-CN", "")]),
    );
    assert_eq!(res.status(), 400);
    let html = res.text().unwrap();
    assert!(html.contains("模板还须以简体中文 (zh-CN)撰写"), "{html}");

    // Agents read the library but may not write to it.
    let agent = desk.app.signed_in("agent");
    let list = agent.get("/admin/templates").text().unwrap();
    assert!(list.contains("reply_new") && !list.contains("action=\"/admin/templates\""));
    let csrf = agent.csrf_from("/profile");
    let mut f = with(&[("name", "agent_reply")]);
    f.push(("csrf_token", &csrf));
    assert_eq!(agent.post_raw("/admin/templates", &f).status(), 403);
    assert_eq!(
        agent
            .post_raw(page, &[("body_en", "x {case_ref}"), ("csrf_token", &csrf)])
            .status(),
        403
    );
    assert_eq!(agent.get("/admin/tips").status(), 403);
    assert_eq!(desk.template_rows("agent_reply"), 0);
    assert_eq!(
        desk.body("reply_new", "en"),
        "Dear {customer_name}, by {deadline}."
    );
}

#[test]
fn the_preview_is_the_verification_email_as_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sink = SmtpSink::start(listener.try_clone().unwrap());
    let desk = Desk::new(Some(listener.local_addr().unwrap().port()));
    let agent = desk.agent();
    let reference = desk.alert(
        "p-1",
        "LARGE_TRANSFER",
        customer("C-1", "Wei Wang", "en"),
        json!({"card_number": "6222021234567890123"}),
    );
    // The verification template uses the new placeholders too.
    let sup = desk.app.signed_in("supervisor");
    let page = "/admin/templates/verification";
    let res = sup.submit(
        page,
        page,
        &[
            ("subject_en", "Please confirm a payment ({case_ref})"),
            (
                "body_en",
                "Dear {customer_name},\n\nWe stopped a payment of {amount} from {masked_account}. Please answer by {deadline}:\n\n{link}\n\n{agent_name}",
            ),
        ],
    );
    assert_eq!(res.status(), 303);

    let html = preview(&agent, &reference, "verification", "email");
    let subject = element(&html, "preview-subject").unwrap();
    let text = element(&html, "preview-text").unwrap();
    let marker = "[the customer's one-time link, made when the message is sent]";
    assert!(text.contains(marker), "{text}");
    assert!(
        text.contains("622202*********0123") && text.contains(DUE_EN),
        "{text}"
    );

    let send = format!("/cases/{reference}/verify-email");
    assert_eq!(
        agent
            .submit(&send, &send, &[("template", "verification")])
            .status(),
        303
    );
    let mails = desk.mails("verification");
    assert_eq!(mails.len(), 1);
    let (sent_subject, sent_text) = &mails[0];
    let link_at = sent_text
        .find("https://desk.bank.example/v/")
        .expect("the link");
    let link: String = sent_text[link_at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert_eq!(sent_subject, &subject);
    // What is sent, but for the customer's name, which the desk's pages mask, and
    // the link, made when the message is sent.
    assert!(sent_text.starts_with("Dear Wei Wang,"), "{sent_text}");
    assert_eq!(
        sent_text
            .replace(&link, marker)
            .replace("Dear Wei Wang,", "Dear W*** W***,"),
        text,
        "the preview is what is sent"
    );

    // And that is what reaches the customer's mail server.
    let deadline = Instant::now() + StdDuration::from_secs(20);
    while sink.count() == 0 && Instant::now() < deadline {
        riskdesk::jobs::send_outbox(&desk.app.state).unwrap();
        std::thread::sleep(StdDuration::from_millis(50));
    }
    let got = sink.all();
    assert_eq!(got.len(), 1);
    let raw = &got[0];
    assert!(raw.contains(&format!("Subject: {subject}")), "{raw}");
    let (head, body) = raw.split_at(raw.find("\r\n\r\n").unwrap() + 4);
    let body = body.replace("\r\n", "\n").replace("\n..", "\n.");
    let body = if head.contains("Content-Transfer-Encoding: quoted-printable") {
        decode_quoted_printable(&body)
    } else {
        body
    };
    assert_eq!(body.trim_end(), sent_text.trim_end(), "{raw}");
}

#[test]
fn do_not_contact_and_aml_customers_get_nothing_whatever_the_template() {
    let desk = Desk::new(None);
    let agent = desk.agent();
    let mut quiet = customer("C-1", "Wei Wang", "en");
    quiet["do_not_contact"] = json!(true);
    let dnc = desk.alert("d-1", "LARGE_TRANSFER", quiet, json!({}));
    let aml = desk.alert(
        "d-2",
        "AML_WATCHLIST",
        customer("C-2", "Wei Wang", "en"),
        json!({}),
    );
    // Another case of the customer under AML: no tipping off from it either.
    let other = desk.alert(
        "d-3",
        "LARGE_TRANSFER",
        customer("C-2", "Wei Wang", "en"),
        json!({}),
    );
    for (reference, why) in [
        (&dnc, "marked do-not-contact: nothing may be sent to them"),
        (
            &aml,
            "under an anti-money-laundering case: nothing may be sent",
        ),
        (
            &other,
            "under an anti-money-laundering case: nothing may be sent",
        ),
    ] {
        let before = desk.events(reference);
        let html = agent.get(&format!("/cases/{reference}")).text().unwrap();
        let panel = &html[html.find("id=\"replies\"").unwrap()..];
        let panel = &panel[..panel.find("</section>").unwrap()];
        assert!(panel.contains(why), "{panel}");
        assert!(suggested(&agent, reference).is_empty(), "nothing suggested");
        for channel in ["email", "portal"] {
            for template in ["reply_case_update", "verification"] {
                let html = preview(&agent, reference, template, channel);
                assert!(element(&html, "refusal").unwrap().contains(why), "{html}");
                assert!(element(&html, "preview-text").is_none());
                assert!(element(&html, "preview-portal").is_none());
                assert!(!html.contains("Wei Wang"), "no text to copy: {html}");
            }
        }
        let res = agent.submit(
            &format!("/cases/{reference}/messages/preview"),
            &format!("/cases/{reference}/messages/preview"),
            &[
                ("channel", "email"),
                ("subject", "Hi"),
                ("body", "Dear {customer_name}"),
            ],
        );
        assert_eq!(res.status(), 200);
        let html = res.text().unwrap();
        assert!(element(&html, "refusal").unwrap().contains(why));
        assert!(!html.contains("Dear Wei Wang"));
        // Opening the case starts it; the previews after that changed nothing.
        assert!(desk.events(reference) >= before);
    }
    assert_eq!(desk.app.count("outbox"), 0, "nothing sent");
}

#[test]
fn security_tips_travel_by_rule_and_language() {
    let desk = Desk::new(None);
    let agent = desk.agent();
    let sup = desk.app.signed_in("supervisor");
    let add = |fields: &[(&str, &str)]| sup.submit("/admin/tips", "/admin/tips", fields);
    // Both languages are required, each short.
    let res = add(&[
        ("text_en", "Only use our official app."),
        ("text_zh", ""),
        ("active", "1"),
    ]);
    assert_eq!(res.status(), 400);
    assert!(res.text().unwrap().contains("简体中文 (zh-CN)"));
    let long = "x".repeat(301);
    let res = add(&[
        ("text_en", &long),
        ("text_zh", "只使用官方应用。"),
        ("active", "1"),
    ]);
    assert_eq!(res.status(), 400);
    assert!(res.text().unwrap().contains("300"));
    let res = add(&[
        ("text_en", "Only use our official app."),
        ("text_zh", "只使用官方应用。"),
        ("rule", "NO_SUCH_RULE"),
        ("active", "1"),
    ]);
    assert_eq!(res.status(), 400);
    assert_eq!(desk.app.count("security_tips"), 3, "nothing added");

    // A tip for new accounts only, one for large transfers; the "call back" tip
    // hidden.
    for (en, zh, rule) in [
        (
            "Register only in our official app.",
            "请仅在官方应用中注册。",
            "NEW_ACCOUNT_BURST",
        ),
        (
            "A large transfer to someone you met online is a warning sign.",
            "向网上结识的人大额转账是危险信号。",
            "LARGE_TRANSFER",
        ),
    ] {
        let res = add(&[
            ("text_en", en),
            ("text_zh", zh),
            ("rule", rule),
            ("active", "1"),
        ]);
        assert_eq!(res.status(), 303);
    }
    let call_back: (i64, String, String) = security_tips::table
        .filter(security_tips::label.eq("call-back"))
        .select((
            security_tips::id,
            security_tips::text_en,
            security_tips::text_zh,
        ))
        .first(&mut *desk.app.conn())
        .unwrap();
    let edit = format!("/admin/tips/{}", call_back.0);
    let res = sup.submit(
        &edit,
        &edit,
        &[
            ("label", "call-back"),
            ("text_en", &call_back.1),
            ("text_zh", &call_back.2),
            ("position", "3"),
        ],
    );
    assert_eq!(res.status(), 303);
    let kinds = desk.app.audit_kinds();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "security_tip.created")
            .count(),
        2
    );
    assert!(kinds.contains(&"security_tip.updated".to_string()));
    let agent_csrf = agent.csrf_from("/profile");
    assert_eq!(
        agent
            .post_raw(
                "/admin/tips",
                &[
                    ("text_en", "x"),
                    ("text_zh", "x"),
                    ("csrf_token", &agent_csrf)
                ]
            )
            .status(),
        403
    );

    // A Chinese customer of a large transfer: the Chinese tips for every rule and
    // for large transfers, in the e-mail and on the page; not the hidden one, not
    // the new accounts' one, no English.
    let chinese = desk.alert(
        "t-1",
        "LARGE_TRANSFER",
        customer("C-1", "王伟", "zh-CN"),
        json!({}),
    );
    let send = format!("/cases/{chinese}/verify-email");
    assert_eq!(
        agent
            .submit(&send, &send, &[("template", "verification")])
            .status(),
        303
    );
    let (_, text) = desk.mails("verification").pop().unwrap();
    let tail = &text[text.find("\n-- \n").expect("the tips after the text")..];
    assert!(tail.contains("安全提示："), "{text}");
    assert!(
        tail.contains("我们绝不会要求您把资金转入所谓的“安全账户”"),
        "{text}"
    );
    assert!(
        tail.contains("向网上结识的人大额转账是危险信号。"),
        "{text}"
    );
    assert!(!tail.contains(&call_back.2), "hidden: {text}");
    assert!(
        !tail.contains("请仅在官方应用中注册"),
        "another rule's: {text}"
    );
    assert!(
        !tail.contains("Stay safe") && !tail.contains("safe account"),
        "{text}"
    );
    let link_at = text.find("/v/").unwrap() + 3;
    let token: String = text[link_at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let customer_page = desk
        .app
        .browser()
        .get(&format!("/v/{token}"))
        .text()
        .unwrap();
    assert!(customer_page.contains("安全提示："), "{customer_page}");
    assert!(customer_page.contains("向网上结识的人大额转账是危险信号。"));
    assert!(!customer_page.contains("请仅在官方应用中注册"));

    // An English customer of new accounts: the English tips of that rule.
    let english = desk.alert(
        "t-2",
        "NEW_ACCOUNT_BURST",
        customer("C-2", "Wei Wang", "en"),
        json!({}),
    );
    let send = format!("/cases/{english}/verify-email");
    assert_eq!(
        agent
            .submit(&send, &send, &[("template", "verification")])
            .status(),
        303
    );
    let (_, text) = desk.mails("verification").pop().unwrap();
    assert!(text.contains("\n-- \nStay safe:\n- "), "{text}");
    assert!(
        text.contains("- Register only in our official app."),
        "{text}"
    );
    assert!(!text.contains("someone you met online"), "{text}");
    assert!(!text.contains("安全提示"), "{text}");
    let link_at = text.find("/v/").unwrap() + 3;
    let token: String = text[link_at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let customer_page = desk
        .app
        .browser()
        .get(&format!("/v/{token}"))
        .text()
        .unwrap();
    assert!(customer_page.contains("Register only in our official app."));
    assert!(customer_page.contains("Stay safe:"));

    // The survey after resolution carries them too, in its e-mail and on its page.
    let res = agent.submit(
        &format!("/cases/{english}"),
        &format!("/cases/{english}/resolve"),
        &[
            ("disposition", "unreachable"),
            ("action", "blocked"),
            ("note", "The customer could not be reached."),
        ],
    );
    assert_eq!(res.status(), 303);
    let (_, text) = desk.mails("satisfaction").pop().expect("the survey");
    assert!(text.contains("\n-- \nStay safe:\n- "), "{text}");
    assert!(
        text.contains("- Register only in our official app."),
        "{text}"
    );
    let link_at = text.find("/s/").unwrap() + 3;
    let token: String = text[link_at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let survey = desk
        .app
        .browser()
        .get(&format!("/s/{token}"))
        .text()
        .unwrap();
    assert!(
        survey.contains("Register only in our official app."),
        "{survey}"
    );
    assert!(!survey.contains("someone you met online"), "{survey}");

    // Removing a tip is audited and takes it off what is sent next.
    let removed: i64 = security_tips::table
        .filter(security_tips::text_en.eq("Register only in our official app."))
        .select(security_tips::id)
        .first(&mut *desk.app.conn())
        .unwrap();
    let res = sup.submit("/admin/tips", &format!("/admin/tips/{removed}/delete"), &[]);
    assert_eq!(res.status(), 303);
    assert!(
        desk.app
            .audit_kinds()
            .contains(&"security_tip.deleted".to_string())
    );
    let html = preview(&agent, &english, "reply_case_update", "email");
    assert!(
        !element(&html, "preview-text")
            .unwrap()
            .contains("official app")
    );
}
