// A conversation per case, through HTTP against a real SMTP server on loopback: the
// agent writes by e-mail (with the signed reply address and the stored Message-ID)
// and as a secure message; the customer answers on the /m/ page with and without
// files (a PNG taken, HTML named .png and an oversized file refused); forged and
// expired links; do-not-contact and AML customers get nothing; bad text refused by
// name; a paused clock resumes on the answer.

use std::net::TcpListener;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::common::{Browser, TestApp, extract_csrf, location};
use crate::intake::DESK;
use crate::mail::SmtpSink;
use riskdesk::accounts::{self, Actor, NewUserInput, RoutingInput};
use riskdesk::db::schema::{messages, outbox};
use riskdesk::domain::password::NewPassword;

pub fn desk_config() -> String {
    let mut d = DESK.to_string();
    d.push_str(
        "\n[[queues]]\nname = \"AML review\"\nsla_policy = \"fraud-fast\"\n\n[[rules]]\ncode = \"AML_WATCHLIST\"\nname = \"AML\"\ncategory = \"aml\"\ndefault_severity = \"high\"\n\n[[routes]]\nrule = \"AML_WATCHLIST\"\nqueue = \"AML review\"\n",
    );
    d
}

pub struct Desk {
    pub app: TestApp,
    pub key: String,
}

impl Desk {
    pub fn new(smtp_port: Option<u16>) -> Desk {
        Self::with(smtp_port, |_| {})
    }

    pub fn with(
        smtp_port: Option<u16>,
        tweak: impl FnOnce(&mut riskdesk::config::Settings),
    ) -> Desk {
        let app = TestApp::spawn_with(|s| {
            s.smtp_url = smtp_port.map(|p| format!("smtp://127.0.0.1:{p}"));
            s.public_url = "https://desk.bank.example".into();
            s.mail_from = "Risk Desk <desk@bank.example>".into();
            s.reply_address =
                riskdesk::domain::conversation::ReplyAddress::parse("replies@desk.bank.example")
                    .unwrap();
            tweak(s);
        });
        app.apply_config(&desk_config());
        let key = app.api_key();
        Desk { app, key }
    }

    /// An online agent of the Transfers and AML queues, signed in.
    pub fn agent(&self, email: &str) -> (Browser, i64) {
        let password = NewPassword::generate();
        let mut conn = self.app.conn();
        let now = self.app.clock.now();
        let user = accounts::create_user(
            &mut conn,
            now,
            &Actor::cli(),
            &NewUserInput {
                email,
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
                queues: vec!["Transfers".into(), "AML review".into()],
                skills: vec!["fraud".into()],
                capacity: 20,
                shift_calendar: None,
                auto_assign: true,
            },
            |_| Ok(()),
        )
        .unwrap();
        drop(conn);
        let b = self.app.browser();
        assert_eq!(b.login(email, password.expose()).status(), 303);
        let res = b.submit("/profile", "/presence", &[("status", "online")]);
        assert_eq!(res.status(), 303);
        (b, user.id)
    }

    pub fn alert(&self, id: &str, rule: &str, customer: Value) -> String {
        let body = json!({
            "external_id": id,
            "rule": rule,
            "customer": customer,
            "amount": {"value": "125000.00", "currency": "CNY"},
            "transaction_ref": "TX-20261124-88812",
        });
        let (s, r) = self.app.post_api(&self.key, "/api/v1/alerts", &body);
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    }

    pub fn case(&self, reference: &str) -> Value {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}"))
            .1
    }

    pub fn kinds(&self, reference: &str) -> Vec<String> {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}/events"))
            .1["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn events(&self, reference: &str, kind: &str) -> Vec<Value> {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}/events"))
            .1["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == kind)
            .cloned()
            .collect()
    }

    /// (Message-ID, to, subject, body, reply-to) of the stored e-mails of `kind`.
    pub fn mails(&self, kind: &str) -> Vec<(String, String, String, String, Option<String>)> {
        outbox::table
            .filter(outbox::kind.eq(kind))
            .order(outbox::id.asc())
            .select((
                outbox::message_id,
                outbox::to_addr,
                outbox::subject,
                outbox::body_text,
                outbox::reply_to,
            ))
            .load(&mut *self.app.conn())
            .unwrap()
    }

    /// The messages of every case: (direction, channel, body, e-mail Message-ID).
    pub fn messages(&self) -> Vec<(String, String, String, Option<String>)> {
        messages::table
            .order(messages::id.asc())
            .select((
                messages::direction,
                messages::channel,
                messages::body,
                messages::email_message_id,
            ))
            .load(&mut *self.app.conn())
            .unwrap()
    }
}

pub fn customer(id: &str) -> Value {
    json!({"external_id": id, "name": "Wei Wang", "email": "wei@example.com", "locale": "en"})
}

/// Writes to the customer from the case page's form.
pub fn write(b: &Browser, reference: &str, fields: &[(&str, &str)]) -> reqwest::blocking::Response {
    b.submit(
        &format!("/cases/{reference}"),
        &format!("/cases/{reference}/messages"),
        fields,
    )
}

/// The `/m/…` path of the last secure-message e-mail.
pub fn portal_link(desk: &Desk) -> String {
    let mails = desk.mails("message");
    let body = &mails
        .iter()
        .rev()
        .find(|m| m.3.contains("/m/"))
        .expect("a notice")
        .3;
    let i = body.find("/m/").unwrap();
    let token: String = body[i + 3..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("/m/{token}")
}

/// A file for a form with files: (field, file name, content type, bytes).
pub type FilePart<'a> = (&'a str, &'a str, &'a str, &'a [u8]);

/// Posts a form with files as a browser does (`multipart/form-data`).
pub fn post_multipart(
    b: &Browser,
    path: &str,
    fields: &[(&str, &str)],
    files: &[FilePart],
) -> reqwest::blocking::Response {
    let boundary = "----riskdeskTestBoundary7MA4YWxkTrZu0gW";
    let mut body: Vec<u8> = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file, ct, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: {ct}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let url = format!("{}{path}", b.base());
    b.client
        .post(url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .unwrap()
}

/// The customer's answer on their page, with the page's CSRF token.
pub fn answer(
    cust: &Browser,
    path: &str,
    message: &str,
    files: &[FilePart],
) -> reqwest::blocking::Response {
    let csrf = extract_csrf(&cust.get(path).text().unwrap()).expect("the form's token");
    post_multipart(
        cust,
        path,
        &[("csrf_token", &csrf), ("message", message)],
        files,
    )
}

/// A real PNG: one white pixel.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xFF, 0xFF, 0xFF,
    0x7F, 0x00, 0x09, 0xFB, 0x03, 0xFD, 0x05, 0x43, 0x45, 0xCA, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn deliver(desk: &Desk, sink: &SmtpSink, count: usize) {
    let deadline = Instant::now() + StdDuration::from_secs(20);
    while sink.count() < count && Instant::now() < deadline {
        riskdesk::jobs::send_outbox(&desk.app.state).unwrap();
        std::thread::sleep(StdDuration::from_millis(50));
    }
    assert_eq!(sink.count(), count, "delivered");
}

#[test]
fn the_agent_writes_by_email_with_a_signed_reply_address() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sink = SmtpSink::start(listener.try_clone().unwrap());
    let desk = Desk::new(Some(listener.local_addr().unwrap().port()));
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert("a-1", "LARGE_TRANSFER", customer("C-1"));
    let case_id = riskdesk::store::cases::parse_case_ref(&reference).unwrap();

    // The case page offers the form and the reply templates.
    let page = agent.get(&format!("/cases/{reference}")).text().unwrap();
    assert!(
        page.contains(&format!("action=\"/cases/{reference}/messages\"")),
        "{page}"
    );
    assert!(page.contains("reply_more_information"), "{page}");

    let res = write(
        &agent,
        &reference,
        &[
            ("channel", "email"),
            (
                "body",
                "Dear {customer_name}, was the payment of {amount} yours?",
            ),
        ],
    );
    assert_eq!(res.status(), 303, "{}", res.text().unwrap_or_default());
    assert_eq!(location(&res), format!("/cases/{reference}#conversation"));
    let mails = desk.mails("message");
    assert_eq!(mails.len(), 1);
    let (message_id, to, subject, body, reply_to) = mails[0].clone();
    assert_eq!(to, "wei@example.com");
    assert_eq!(subject, format!("About your case {reference}"));
    assert!(
        body.starts_with("Dear Wei Wang, was the payment of 125000.00 CNY yours?"),
        "{body}"
    );
    let reply_to = reply_to.expect("a reply address");
    assert!(
        reply_to.starts_with(&format!("replies+c{case_id}-"))
            && reply_to.ends_with("@desk.bank.example"),
        "{reply_to}"
    );
    // The message keeps the e-mail's Message-ID for the customer's reply.
    let stored = desk.messages();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, "out");
    assert_eq!(stored[0].1, "email");
    assert_eq!(stored[0].3.as_deref(), Some(message_id.as_str()));
    let kinds = desk.kinds(&reference);
    assert!(kinds.contains(&"message.sent".to_string()), "{kinds:?}");
    assert!(
        kinds.contains(&"sla.first_response".to_string()),
        "{kinds:?}"
    );
    assert!(
        !kinds.contains(&"sla.paused".to_string()),
        "not asked to wait"
    );

    // The SMTP server gets it with the reply address and the Message-ID.
    deliver(&desk, &sink, 1);
    let got = &sink.all()[0];
    assert!(got.contains(&format!("Message-ID: {message_id}")), "{got}");
    assert!(got.contains(&format!("Reply-To: {reply_to}")), "{got}");
    assert!(
        got.contains("From: \"Risk Desk\" <desk@bank.example>")
            || got.contains("From: Risk Desk <desk@bank.example>"),
        "{got}"
    );

    // The timeline and the thread show it.
    let page = agent.get(&format!("/cases/{reference}")).text().unwrap();
    assert!(
        page.contains("was the payment of 125000.00 CNY yours?"),
        "{page}"
    );
    assert!(
        page.contains("E-mail to the customer at w***@example.com"),
        "{page}"
    );

    // A template without text: its own subject and body, in the customer's language.
    let res = write(
        &agent,
        &reference,
        &[("channel", "email"), ("template", "reply_more_information")],
    );
    assert_eq!(res.status(), 303);
    let mails = desk.mails("message");
    assert_eq!(mails[1].2, format!("About your case {reference}"));
    assert!(
        mails[1].3.contains("Dear Wei Wang,") && mails[1].3.contains("Li Na"),
        "{}",
        mails[1].3
    );
}

#[test]
fn bad_messages_are_refused_by_name_and_change_nothing() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert("a-1", "LARGE_TRANSFER", customer("C-1"));
    agent.get(&format!("/cases/{reference}"));
    let before = desk.kinds(&reference).len();
    for (fields, status, says) in [
        (
            vec![
                ("channel", "email"),
                ("body", "Hello {customer_nmae} and {link}"),
            ],
            400,
            "{customer_nmae}, {link}",
        ),
        (
            vec![("channel", "email"), ("body", "  ")],
            400,
            "Write a message or choose a template",
        ),
        (
            vec![("channel", "email"), ("template", "no_such_template")],
            400,
            "There is no template &#34;no_such_template&#34;",
        ),
        (
            vec![("channel", "email"), ("template", "verification")],
            400,
            "&#34;verification&#34; is not a reply template",
        ),
        (
            vec![("channel", "fax"), ("body", "Hi")],
            400,
            "Choose how to send the message",
        ),
    ] {
        let res = write(&agent, &reference, &fields);
        assert_eq!(res.status(), status, "{fields:?}");
        let text = res.text().unwrap();
        assert!(text.contains(says), "{fields:?}: {text}");
    }
    let long = "x".repeat(10_001);
    let res = write(
        &agent,
        &reference,
        &[("channel", "portal"), ("body", &long)],
    );
    assert_eq!(res.status(), 400);
    let text = res.text().unwrap();
    assert!(text.contains("at most 10000 characters"), "{text}");
    // What was typed is kept on the form.
    assert!(text.contains(&long));
    assert_eq!(desk.kinds(&reference).len(), before);
    assert_eq!(desk.app.count("outbox"), 0);
    assert_eq!(desk.app.count("messages"), 0);

    // Someone who may not see the case gets 404; an agent of the queue who does not
    // hold it may read but not write.
    let stranger = desk.app.signed_in("agent");
    let csrf = stranger.csrf_from("/profile");
    let res = stranger.post_raw(
        &format!("/cases/{reference}/messages"),
        &[("channel", "email"), ("body", "Hi"), ("csrf_token", &csrf)],
    );
    assert_eq!(res.status(), 404);
}

#[test]
fn do_not_contact_and_aml_customers_get_nothing() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    let mut dnc = customer("C-3");
    dnc["do_not_contact"] = json!(true);
    let quiet = desk.alert("a-3", "LARGE_TRANSFER", dnc);
    // A customer under AML from another of their cases.
    desk.alert("a-4", "AML_WATCHLIST", customer("C-4"));
    let other = desk.alert("a-5", "LARGE_TRANSFER", customer("C-4"));
    for (reference, says) in [
        (&quiet, "do-not-contact"),
        (&other, "anti-money-laundering"),
    ] {
        let page = agent.get(&format!("/cases/{reference}")).text().unwrap();
        assert!(page.contains(says), "{page}");
        let before = desk.kinds(reference).len();
        for channel in ["email", "portal"] {
            for template in ["", "reply_more_information"] {
                let res = write(
                    &agent,
                    reference,
                    &[
                        ("channel", channel),
                        ("template", template),
                        ("body", "Hello"),
                    ],
                );
                assert_eq!(res.status(), 409, "{reference} {channel} {template}");
                assert!(res.text().unwrap().contains(says));
            }
        }
        assert_eq!(
            desk.kinds(reference).len(),
            before,
            "nothing on the timeline"
        );
    }
    assert_eq!(desk.app.count("outbox"), 0, "nothing queued");
    assert_eq!(desk.app.count("messages"), 0);
    assert_eq!(desk.app.count("customer_tokens"), 0);
}

#[test]
fn the_customer_answers_a_secure_message_with_a_picture() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert("a-1", "LARGE_TRANSFER", customer("C-1"));
    agent.get(&format!("/cases/{reference}"));

    let secret_text = "Please send us the invoice for the TV you bought.";
    let res = write(
        &agent,
        &reference,
        &[("channel", "portal"), ("body", secret_text), ("wait", "1")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(
        desk.case(&reference)["sla"]["paused"],
        true,
        "waits for the answer"
    );
    // The e-mail says where to read it, not what it says.
    let mails = desk.mails("message");
    assert_eq!(mails.len(), 1);
    assert!(!mails[0].3.contains("invoice"), "{}", mails[0].3);
    assert!(
        mails[0].3.contains("https://desk.bank.example/m/"),
        "{}",
        mails[0].3
    );
    assert!(mails[0].4.is_some(), "a reply to the notice comes back too");
    let link = portal_link(&desk);

    // The customer reads it on their page, without the staff navigation; opening it
    // changes nothing.
    let before = desk.kinds(&reference).len();
    let cust = desk.app.browser();
    let res = cust.get(&link);
    assert_eq!(res.status(), 200);
    let html = res.text().unwrap();
    assert!(html.contains(secret_text), "{html}");
    assert!(
        html.contains("Li, customer protection"),
        "first name only: {html}"
    );
    assert!(!html.contains("li.na@bank.example"));
    assert!(!html.contains("mainnav"));
    assert_eq!(desk.kinds(&reference).len(), before);

    // A POST without the form's token is refused.
    let res = post_multipart(&cust, &link, &[("message", "hi")], &[]);
    assert_eq!(res.status(), 403);

    // HTML named .png is refused by its bytes, and so is a file over the limit;
    // what was typed is kept.
    let html_file = b"<html><body><script>alert(1)</script></body></html>";
    let res = answer(
        &cust,
        &link,
        "Here it is",
        &[("files", "invoice.png", "image/png", html_file)],
    );
    assert_eq!(res.status(), 400);
    let text = res.text().unwrap();
    assert!(
        text.contains("&#34;invoice.png&#34; is not a picture"),
        "{text}"
    );
    assert!(text.contains("Here it is"));
    let big = [PNG, &vec![0u8; 5 * 1024 * 1024]].concat();
    let res = answer(
        &cust,
        &link,
        "Big",
        &[("files", "big.png", "image/png", &big)],
    );
    assert_eq!(res.status(), 400);
    assert!(res.text().unwrap().contains("at most 5 MB per file"));
    let res = answer(&cust, &link, "", &[]);
    assert_eq!(res.status(), 400);
    assert_eq!(desk.kinds(&reference).len(), before, "nothing recorded");

    // A real picture is taken.
    let res = answer(
        &cust,
        &link,
        "Here is the invoice.",
        &[("files", "invoice.png", "application/octet-stream", PNG)],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("{link}?sent=1"));
    let page = cust.get(&location(&res)).text().unwrap();
    assert!(page.contains("Your message was sent"), "{page}");
    assert!(page.contains("Here is the invoice."));
    let kinds = desk.kinds(&reference);
    assert!(kinds.contains(&"message.received".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"sla.resumed".to_string()), "{kinds:?}");
    assert_eq!(desk.case(&reference)["sla"]["paused"], false);
    let received = desk.events(&reference, "message.received");
    assert_eq!(received[0]["data"]["attachments"], json!(["invoice.png"]));

    // The agent is told, and downloads the file (never shown inline).
    let notes = agent.get("/notifications").text().unwrap();
    assert!(notes.contains("Here is the invoice."), "{notes}");
    assert!(
        desk.mails("notification")
            .iter()
            .any(|m| m.1 == "li.na@bank.example"),
        "told by e-mail too"
    );
    let case_page = agent.get(&format!("/cases/{reference}")).text().unwrap();
    let i = case_page.find("/attachments/").expect("a file link");
    let href_start = case_page[..i].rfind('"').unwrap() + 1;
    let href_end = i + case_page[i..].find('"').unwrap();
    let href = &case_page[href_start..href_end];
    let res = agent.get(href);
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("invoice.png"),
        "{disposition}"
    );
    assert_eq!(res.bytes().unwrap().as_ref(), PNG);
    // Not to someone who may not see the case, nor through another case.
    let stranger = desk.app.signed_in("agent");
    assert_eq!(stranger.get(href).status(), 404);
    let other = desk.alert("a-2", "LARGE_TRANSFER", customer("C-2"));
    let id = href.rsplit('/').next().unwrap();
    assert_eq!(
        agent
            .get(&format!("/cases/{other}/attachments/{id}"))
            .status(),
        404
    );

    // The link serves the whole conversation: a second message, no file.
    let res = answer(&cust, &link, "Anything else?", &[]);
    assert_eq!(res.status(), 303);
    assert_eq!(desk.events(&reference, "message.received").len(), 2);

    // Forged and expired links are refused and change nothing.
    let forged = format!("/m/{}", "A".repeat(43));
    assert_eq!(cust.get(&forged).status(), 404);
    let csrf = extract_csrf(&cust.get("/login").text().unwrap()).unwrap();
    let res = post_multipart(
        &cust,
        &forged,
        &[("csrf_token", &csrf), ("message", "x")],
        &[],
    );
    assert_eq!(res.status(), 404);
    // A verification link is not a message link.
    let csrf_page = cust.get(&link).text().unwrap();
    let csrf = extract_csrf(&csrf_page).unwrap();
    desk.app
        .clock
        .advance(Duration::days(14) + Duration::minutes(1));
    let res = cust.get(&link);
    assert_eq!(res.status(), 410);
    assert!(res.text().unwrap().contains("Link expired"));
    let count = desk.kinds(&reference).len();
    let res = post_multipart(
        &cust,
        &link,
        &[("csrf_token", &csrf), ("message", "late")],
        &[],
    );
    assert_eq!(res.status(), 410);
    assert_eq!(desk.kinds(&reference).len(), count);
}

#[test]
fn the_secure_message_page_speaks_the_customers_language_and_closes_with_the_case() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert(
        "a-1",
        "LARGE_TRANSFER",
        json!({"external_id": "C-1", "name": "王伟", "email": "wei@example.com", "locale": "zh-CN"}),
    );
    agent.get(&format!("/cases/{reference}"));
    let res = write(
        &agent,
        &reference,
        &[
            ("channel", "portal"),
            ("template", "reply_more_information"),
        ],
    );
    assert_eq!(res.status(), 303);
    let mails = desk.mails("message");
    assert_eq!(mails[0].2, format!("关于您的案件 {reference} 的安全消息"));
    let link = portal_link(&desk);
    let cust = desk.app.browser();
    let html = cust.get(&link).text().unwrap();
    assert!(html.contains("您的消息"), "{html}");
    assert!(html.contains("王伟，您好"), "{html}");
    assert!(html.contains("客户保护中心"));
    // The security tips of the case's rule, in the customer's language, on the page
    // and at the end of the e-mail that announced it.
    let tip = "我们绝不会要求您把资金转入所谓的“安全账户”。";
    assert!(html.contains("安全提示") && html.contains(tip), "{html}");
    assert!(mails[0].3.contains(tip), "{}", mails[0].3);
    // The compose form offers the replies written for the case first: for an open
    // case, asking for more information comes before the replies for resolved cases.
    let case_page = agent.get(&format!("/cases/{reference}")).text().unwrap();
    let more = case_page.find("value=\"reply_more_information\"").unwrap();
    let resolved = case_page.find("value=\"reply_resolved\"").unwrap();
    assert!(more < resolved, "{case_page}");

    // Once resolved, the page shows the thread but takes nothing.
    let res = agent.submit(
        &format!("/cases/{reference}"),
        &format!("/cases/{reference}/resolve"),
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "blocked"),
            ("note", "Not the customer."),
        ],
    );
    assert_eq!(res.status(), 303);
    let html = cust.get(&link).text().unwrap();
    assert!(html.contains("此案件已结案"), "{html}");
    let before = desk.kinds(&reference).len();
    let res = answer_without_form(&cust, &link, "还有问题");
    assert_eq!(res.status(), 409);
    assert_eq!(desk.kinds(&reference).len(), before);
    // And the agent can no longer write.
    let res = write(&agent, &reference, &[("channel", "email"), ("body", "Hi")]);
    assert_eq!(res.status(), 409);
}

/// Posts to the customer's page with the browser's CSRF cookie (the page shows no
/// form any more).
fn answer_without_form(cust: &Browser, path: &str, message: &str) -> reqwest::blocking::Response {
    let csrf = cust.cookie("riskdesk_csrf").expect("the CSRF cookie");
    post_multipart(
        cust,
        path,
        &[("csrf_token", &csrf), ("message", message)],
        &[],
    )
}
