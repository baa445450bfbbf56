// Verification e-mails, the outbox and the customer's pages, against a real SMTP
// server on loopback: sending and receiving with the link, the customer's answers,
// used/expired/forged links, refusals, the server down and back, the .eml files,
// the satisfaction survey, escalation e-mails and the templates' admin pages.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::common::{Browser, TestApp, extract_csrf, location};
use crate::intake::DESK;
use riskdesk::accounts::{self, Actor, NewUserInput, RoutingInput};
use riskdesk::db::schema::{customer_tokens, outbox, satisfaction};
use riskdesk::domain::password::NewPassword;

/// A small SMTP server on loopback that accepts every message and keeps it.
pub struct SmtpSink {
    messages: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub fn start(listener: TcpListener) -> SmtpSink {
        let messages = Arc::new(Mutex::new(Vec::new()));
        let keep = messages.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &keep);
            }
        });
        SmtpSink { messages }
    }

    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }

    pub fn all(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }
}

/// One SMTP session: greeting, EHLO, MAIL, RCPT, DATA (dot-terminated), QUIT.
fn serve(stream: TcpStream, keep: &Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(StdDuration::from_secs(10)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 sink.test ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.trim_end().to_ascii_uppercase();
        if verb.starts_with("EHLO") {
            out.write_all(b"250-sink.test\r\n250 8BITMIME\r\n")?;
        } else if verb.starts_with("HELO")
            || verb.starts_with("MAIL")
            || verb.starts_with("RCPT")
            || verb.starts_with("RSET")
            || verb.starts_with("NOOP")
        {
            out.write_all(b"250 OK\r\n")?;
        } else if verb == "DATA" {
            out.write_all(b"354 go ahead\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            keep.lock().unwrap().push(data);
            out.write_all(b"250 queued\r\n")?;
        } else if verb == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"502 not here\r\n")?;
        }
    }
}

fn desk_config() -> String {
    let mut d = DESK.to_string();
    d.push_str(
        "\n[[queues]]\nname = \"AML review\"\nsla_policy = \"fraud-fast\"\n\n[[rules]]\ncode = \"AML_WATCHLIST\"\nname = \"AML\"\ncategory = \"aml\"\ndefault_severity = \"high\"\n\n[[routes]]\nrule = \"AML_WATCHLIST\"\nqueue = \"AML review\"\n",
    );
    d
}

struct Desk {
    app: TestApp,
    key: String,
}

impl Desk {
    fn new(smtp_port: Option<u16>) -> Desk {
        let app = TestApp::spawn_with(|s| {
            s.smtp_url = smtp_port.map(|p| format!("smtp://127.0.0.1:{p}"));
            s.public_url = "https://desk.bank.example".into();
        });
        app.apply_config(&desk_config());
        let key = app.api_key();
        Desk { app, key }
    }

    /// An online agent of the Transfers and AML queues, signed in.
    fn agent(&self, email: &str) -> (Browser, i64) {
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

    fn alert(&self, id: &str, rule: &str, customer: Value) -> String {
        let body = json!({
            "external_id": id,
            "rule": rule,
            "customer": customer,
            "amount": {"value": "125000.00", "currency": "CNY"},
            "transaction_ref": "TX-20261124-88812",
            "attributes": {"merchant": "Acme Electronics", "ip": "203.0.113.7"}
        });
        let (s, r) = self.app.post_api(&self.key, "/api/v1/alerts", &body);
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    }

    fn case(&self, reference: &str) -> Value {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}"))
            .1
    }

    fn kinds(&self, reference: &str) -> Vec<String> {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}/events"))
            .1["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    }

    fn send(&self) -> riskdesk::mail::outbox::Pass {
        riskdesk::jobs::send_outbox(&self.app.state).unwrap()
    }

    /// (message id, to, subject, body, attempts, sent) of every stored message of `kind`.
    fn mails(&self, kind: &str) -> Vec<(String, String, String, String, i32, bool)> {
        let rows: Vec<(
            String,
            String,
            String,
            String,
            i32,
            Option<chrono::NaiveDateTime>,
        )> = outbox::table
            .filter(outbox::kind.eq(kind))
            .order(outbox::id.asc())
            .select((
                outbox::message_id,
                outbox::to_addr,
                outbox::subject,
                outbox::body_text,
                outbox::attempts,
                outbox::sent_at,
            ))
            .load(&mut *self.app.conn())
            .unwrap();
        rows.into_iter()
            .map(|(a, b, c, d, e, f)| (a, b, c, d, e, f.is_some()))
            .collect()
    }
}

fn customer(id: &str) -> Value {
    json!({"external_id": id, "name": "Wei Wang", "email": "wei@example.com", "locale": "en"})
}

/// The secret of the first `/{kind}/…` link in `text`.
fn token_in(text: &str, kind: char) -> String {
    let marker = format!("/{kind}/");
    let i = text.find(&marker).expect("a link in the e-mail") + marker.len();
    text[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Sends the verification e-mail of `reference` from `b`'s case page.
fn send_verification(b: &Browser, reference: &str) -> reqwest::blocking::Response {
    let page = format!("/cases/{reference}/verify-email");
    b.submit(&page, &page, &[("template", "verification")])
}

/// A customer's browser posting the form of the page at `path`; when the page no
/// longer shows a form (the link was used), the browser's earlier token is sent, as
/// a second press of the button would.
fn customer_post(path: &str, b: &Browser, fields: &[(&str, &str)]) -> reqwest::blocking::Response {
    let csrf = extract_csrf(&b.get(path).text().unwrap()).unwrap_or_else(|| {
        b.cookie("riskdesk_csrf")
            .expect("the browser's CSRF cookie")
    });
    let mut all = fields.to_vec();
    all.push(("csrf_token", &csrf));
    b.post_raw(path, &all)
}

#[test]
fn verification_email_goes_through_smtp_and_the_customer_confirms() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sink = SmtpSink::start(listener.try_clone().unwrap());
    let desk = Desk::new(Some(listener.local_addr().unwrap().port()));
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert("a-1", "LARGE_TRANSFER", customer("C-1"));
    assert_eq!(desk.case(&reference)["assignee"], "li.na@bank.example");

    // The page names the masked address and the template.
    let form = agent
        .get(&format!("/cases/{reference}/verify-email"))
        .text()
        .unwrap();
    assert!(form.contains("w***@example.com"), "{form}");
    assert!(!form.contains("wei@example.com"));
    assert!(form.contains("Please confirm a payment"));
    let case_page = agent.get(&format!("/cases/{reference}")).text().unwrap();
    assert!(case_page.contains(&format!("/cases/{reference}/verify-email")));

    let res = send_verification(&agent, &reference);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/cases/{reference}"));
    let case = desk.case(&reference);
    assert_eq!(case["sla"]["paused"], true, "{case}");
    let kinds = desk.kinds(&reference);
    for k in [
        "verification.email_sent",
        "sla.paused",
        "sla.first_response",
    ] {
        assert!(kinds.contains(&k.to_string()), "{k} missing from {kinds:?}");
    }
    let mails = desk.mails("verification");
    assert_eq!(mails.len(), 1);
    let (message_id, to, subject, body, _, _) = mails[0].clone();
    assert_eq!(to, "wei@example.com");
    assert_eq!(subject, format!("Please confirm a payment ({reference})"));
    assert!(
        body.contains("Dear Wei Wang") && body.contains("125000.00 CNY") && body.contains("Li Na"),
        "{body}"
    );
    assert!(body.contains("https://desk.bank.example/v/"), "{body}");

    // The worker delivers it over SMTP, once, with the stored Message-ID.
    let deadline = Instant::now() + StdDuration::from_secs(20);
    while sink.count() == 0 && Instant::now() < deadline {
        desk.send();
        std::thread::sleep(StdDuration::from_millis(50));
    }
    desk.send();
    let got = sink.all();
    assert_eq!(got.len(), 1, "delivered once");
    assert!(
        got[0].contains(&format!("Message-ID: {message_id}")),
        "{}",
        got[0]
    );
    assert!(got[0].contains("To: wei@example.com"));
    let token = token_in(&got[0], 'v');
    assert_eq!(token.len(), 43);
    assert!(desk.mails("verification")[0].5, "marked sent");
    // Only the digest is stored.
    let hashes: Vec<String> = customer_tokens::table
        .select(customer_tokens::token_hash)
        .load(&mut *desk.app.conn())
        .unwrap();
    assert!(!hashes.contains(&token));
    assert!(hashes.contains(&riskdesk::domain::tokens::digest(&token)));

    // Opening the link only shows the question.
    let before = desk.kinds(&reference).len();
    let cust = desk.app.browser();
    let page_path = format!("/v/{token}");
    let res = cust.get(&page_path);
    assert_eq!(res.status(), 200);
    let html = res.text().unwrap();
    assert!(html.contains("Did you make this payment?"), "{html}");
    assert!(html.contains(&reference) && html.contains("125000.00 CNY"));
    assert!(
        !html.contains("TX-20261124-88812"),
        "the transaction is masked"
    );
    assert!(!html.contains("mainnav"), "no staff navigation");
    assert_eq!(desk.kinds(&reference).len(), before, "GET changes nothing");
    assert_eq!(desk.case(&reference)["sla"]["paused"], true);

    // A POST without the form's CSRF token is refused.
    let res = cust.post_raw(&page_path, &[("answer", "confirm")]);
    assert_eq!(res.status(), 403);
    // The customer confirms.
    let res = customer_post(
        &page_path,
        &cust,
        &[("answer", "confirm"), ("message", "It was me, buying a TV")],
    );
    assert_eq!(res.status(), 200);
    assert!(res.text().unwrap().contains("Thank you for confirming"));
    let kinds = desk.kinds(&reference);
    assert!(kinds.contains(&"verification.answered".to_string()));
    assert!(kinds.contains(&"sla.resumed".to_string()));
    assert!(!kinds.contains(&"priority.raised".to_string()));
    let case = desk.case(&reference);
    assert_eq!(case["sla"]["paused"], false);
    assert_eq!(
        case["priority"], "critical",
        "routed critical by amount, unchanged"
    );
    // The agent is told, in the app and by e-mail.
    let notes = agent.get("/notifications").text().unwrap();
    assert!(notes.contains("Yes, it was me"), "{notes}");
    let told = desk.mails("notification");
    assert!(
        told.iter()
            .any(|m| m.1 == "li.na@bank.example" && m.2.contains(&reference)),
        "{told:?}"
    );
    let timeline = agent.get(&format!("/cases/{reference}")).text().unwrap();
    assert!(timeline.contains("It was me, buying a TV"));
    assert!(timeline.contains("w***@example.com"));

    // A second answer is refused and changes nothing.
    let count = desk.kinds(&reference).len();
    let res = customer_post(&page_path, &cust, &[("answer", "deny")]);
    assert_eq!(res.status(), 410);
    assert!(res.text().unwrap().contains("Already answered"));
    assert_eq!(desk.kinds(&reference).len(), count);
    assert_eq!(cust.get(&page_path).status(), 410);
}

#[test]
fn deny_raises_to_critical_and_bad_links_change_nothing() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    // A chinese-speaking customer of a case at high priority.
    let body = json!({
        "external_id": "a-2", "rule": "LARGE_TRANSFER",
        "customer": {"external_id": "C-2", "name": "王伟", "email": "wei@example.com", "locale": "zh-CN"},
        "amount": {"value": "900.00", "currency": "CNY"}
    });
    let (s, r) = desk.app.post_api(&desk.key, "/api/v1/alerts", &body);
    assert_eq!(s, 201, "{r}");
    let reference = r["case_ref"].as_str().unwrap().to_string();
    assert_eq!(desk.case(&reference)["priority"], "high");

    assert_eq!(send_verification(&agent, &reference).status(), 303);
    let mails = desk.mails("verification");
    let (message_id, _, subject, text, _, _) = mails[0].clone();
    assert_eq!(subject, format!("请确认一笔交易（{reference}）"));
    assert!(text.contains("王伟，您好"));
    let token = token_in(&text, 'v');

    // Without an SMTP server the message becomes an .eml file named by its id.
    desk.send();
    let id: i64 = outbox::table
        .filter(outbox::message_id.eq(&message_id))
        .select(outbox::id)
        .first(&mut *desk.app.conn())
        .unwrap();
    let file = desk
        .app
        .dir
        .path()
        .join("data")
        .join("outbox")
        .join(format!("{id}.eml"));
    let eml = std::fs::read_to_string(&file).expect("the .eml file");
    assert!(eml.contains(&format!("Message-ID: {message_id}")));
    assert!(desk.mails("verification")[0].5);

    // Forged and unknown links.
    let cust = desk.app.browser();
    let forged = format!("/v/{}", "A".repeat(43));
    let res = cust.get(&forged);
    assert_eq!(res.status(), 404);
    assert!(res.text().unwrap().contains("This link is not valid"));
    assert_eq!(cust.get("/v/short").status(), 404);
    let csrf = extract_csrf(&cust.get("/login").text().unwrap()).unwrap();
    let res = cust.post_raw(&forged, &[("answer", "deny"), ("csrf_token", &csrf)]);
    assert_eq!(res.status(), 404);
    // A survey link is not a verification link.
    assert_eq!(cust.get(&format!("/s/{token}")).status(), 404);

    // The page speaks the customer's language.
    let page = format!("/v/{token}");
    let html = cust.get(&page).text().unwrap();
    assert!(html.contains("这笔交易是您本人操作的吗？"), "{html}");
    // A bad answer is named and changes nothing.
    let before = desk.kinds(&reference).len();
    let res = customer_post(&page, &cust, &[("answer", "maybe")]);
    assert_eq!(res.status(), 400);
    assert!(res.text().unwrap().contains("请选择"));
    let long = "x".repeat(1001);
    let res = customer_post(&page, &cust, &[("answer", "deny"), ("message", &long)]);
    assert_eq!(res.status(), 400);
    assert_eq!(desk.kinds(&reference).len(), before);

    // "No, it wasn't me" raises the case to critical with new deadlines.
    let due_before = desk.case(&reference)["sla"]["resolution_due"].clone();
    let res = customer_post(&page, &cust, &[("answer", "deny")]);
    assert_eq!(res.status(), 200);
    let case = desk.case(&reference);
    assert_eq!(case["priority"], "critical");
    assert_ne!(case["sla"]["resolution_due"], due_before);
    let kinds = desk.kinds(&reference);
    assert!(kinds.contains(&"priority.raised".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"sla.resumed".to_string()));

    // A new e-mail; its link expires after 72 hours.
    assert_eq!(send_verification(&agent, &reference).status(), 303);
    let text = desk.mails("verification")[1].3.clone();
    let page = format!("/v/{}", token_in(&text, 'v'));
    assert_eq!(cust.get(&page).status(), 200);
    desk.app
        .clock
        .advance(Duration::hours(72) + Duration::minutes(1));
    let res = cust.get(&page);
    assert_eq!(res.status(), 410);
    assert!(res.text().unwrap().contains("链接已过期"));
    let before = desk.kinds(&reference).len();
    let res = customer_post(&page, &cust, &[("answer", "confirm")]);
    assert_eq!(res.status(), 410);
    assert_eq!(desk.kinds(&reference).len(), before);
    assert_eq!(
        desk.case(&reference)["sla"]["paused"],
        true,
        "still waiting"
    );
    let used: i64 = customer_tokens::table
        .filter(customer_tokens::used_at.is_not_null())
        .count()
        .get_result(&mut *desk.app.conn())
        .unwrap();
    assert_eq!(used, 1, "only the answered link is used");
}

#[test]
fn do_not_contact_aml_and_no_email_are_refused() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    // The alert API carries do-not-contact, and checks it.
    let (s, r) = desk.app.post_api(
        &desk.key,
        "/api/v1/alerts",
        &json!({"external_id": "bad", "rule": "LARGE_TRANSFER",
                "customer": {"external_id": "C-x", "do_not_contact": "yes"}}),
    );
    assert_eq!(s, 422);
    assert!(r.to_string().contains("customer.do_not_contact"), "{r}");

    let mut dnc = customer("C-3");
    dnc["do_not_contact"] = json!(true);
    let quiet = desk.alert("a-3", "LARGE_TRANSFER", dnc);
    let aml = desk.alert("a-4", "AML_WATCHLIST", customer("C-4"));
    let no_mail = desk.alert(
        "a-5",
        "LARGE_TRANSFER",
        json!({"external_id": "C-5", "name": "X"}),
    );
    for (reference, text) in [
        (&quiet, "do-not-contact"),
        (&aml, "anti-money-laundering"),
        (&no_mail, "no e-mail address"),
    ] {
        assert_eq!(desk.case(reference)["assignee"], "li.na@bank.example");
        let page = agent
            .get(&format!("/cases/{reference}/verify-email"))
            .text()
            .unwrap();
        assert!(page.contains(text), "{page}");
        // Opening the case page starts the case; measure after that.
        agent.get(&format!("/cases/{reference}"));
        let before = desk.kinds(reference).len();
        let res = send_verification_raw(&agent, reference);
        assert_eq!(res.status(), 303);
        let shown = agent.get(&location(&res)).text().unwrap();
        assert!(shown.contains(text), "{shown}");
        assert_eq!(desk.kinds(reference).len(), before, "nothing changed");
        assert_eq!(desk.case(reference)["sla"]["paused"], false);
    }
    assert_eq!(desk.app.count("outbox"), 0);
    assert_eq!(desk.app.count("customer_tokens"), 0);

    // A later alert without the flag leaves it set.
    desk.alert("a-6", "NEW_ACCOUNT_BURST", customer("C-3"));
    let still: bool = riskdesk::db::schema::customers::table
        .filter(riskdesk::db::schema::customers::external_id.eq("C-3"))
        .select(riskdesk::db::schema::customers::do_not_contact)
        .first(&mut *desk.app.conn())
        .unwrap();
    assert!(still);

    // Someone who may not see the case gets 404; an unknown template is refused.
    let stranger = desk.app.signed_in("agent");
    let page = format!("/cases/{quiet}/verify-email");
    assert_eq!(stranger.get(&page).status(), 404);
    let csrf = stranger.csrf_from("/profile");
    let res = stranger.post_raw(
        &page,
        &[("template", "verification"), ("csrf_token", &csrf)],
    );
    assert_eq!(res.status(), 404);
    let fine = desk.alert("a-7", "LARGE_TRANSFER", customer("C-7"));
    let path = format!("/cases/{fine}/verify-email");
    let res = agent.submit(&path, &path, &[("template", "survey")]);
    assert_eq!(res.status(), 303);
    assert!(
        agent
            .get(&location(&res))
            .text()
            .unwrap()
            .contains("Choose one of the verification templates")
    );
    assert_eq!(desk.app.count("outbox"), 0);
}

/// Posts the send form with the token of the case page (the send page of a refused
/// case has no form).
fn send_verification_raw(b: &Browser, reference: &str) -> reqwest::blocking::Response {
    b.submit(
        &format!("/cases/{reference}"),
        &format!("/cases/{reference}/verify-email"),
        &[("template", "verification")],
    )
}

#[test]
fn a_message_waits_while_the_server_is_down_and_goes_once_when_it_is_back() {
    // A port with nothing listening on it.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let desk = Desk::new(Some(port));
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert("a-8", "LARGE_TRANSFER", customer("C-8"));
    assert_eq!(send_verification(&agent, &reference).status(), 303);
    let message_id = desk.mails("verification")[0].0.clone();

    let pass = desk.send();
    let (attempts, error, next): (i32, Option<String>, Option<chrono::NaiveDateTime>) =
        outbox::table
            .filter(outbox::kind.eq("verification"))
            .select((
                outbox::attempts,
                outbox::last_error,
                outbox::next_attempt_at,
            ))
            .first(&mut *desk.app.conn())
            .unwrap();
    assert!(attempts >= 1, "{pass:?}");
    assert!(error.is_some());
    assert!(!desk.mails("verification")[0].5, "not sent");
    let now = desk.app.clock.now();
    assert_eq!(next.unwrap().and_utc(), now + Duration::seconds(30));
    // Not due yet: nothing is tried.
    assert_eq!(desk.send(), Default::default());

    // The server comes back on the same port; after the backoff it is delivered once.
    let sink = SmtpSink::start(TcpListener::bind(("127.0.0.1", port)).unwrap());
    desk.send();
    assert_eq!(sink.count(), 0, "waits for its time");
    desk.app.clock.advance(Duration::seconds(31));
    let deadline = Instant::now() + StdDuration::from_secs(20);
    while sink.count() == 0 && Instant::now() < deadline {
        desk.send();
        std::thread::sleep(StdDuration::from_millis(50));
    }
    desk.app.clock.advance(Duration::hours(2));
    desk.send();
    desk.send();
    let got = sink.all();
    assert_eq!(got.len(), 1, "exactly once");
    assert!(got[0].contains(&format!("Message-ID: {message_id}")));
    let row = &desk.mails("verification")[0];
    assert_eq!(row.0, message_id, "the same Message-ID");
    assert!(row.5 && row.4 >= 2);

    // The outbox is in the metrics.
    let metrics = reqwest::blocking::get(desk.app.url("/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("riskdesk_outbox_messages{state=\"sent\"} 1"),
        "{metrics}"
    );
}

fn resolve(desk: &Desk, reference: &str, disposition: &str) {
    let id = riskdesk::store::cases::parse_case_ref(reference).unwrap();
    let mut conn = desk.app.conn();
    let snap = desk.app.state.desk.get(&mut conn).unwrap();
    let settings = desk.app.state.settings.clone();
    let now = desk.app.clock.now();
    riskdesk::db::write_tx(&mut conn, |c| {
        riskdesk::cases::closing::resolve(
            c,
            &settings,
            &snap,
            now,
            id,
            riskdesk::cases::clock::Outcome {
                resolver: None,
                disposition,
                details: Default::default(),
                approved_by: None,
                by_customer: false,
            },
        )
    })
    .unwrap();
}

#[test]
fn the_survey_follows_resolution_except_where_it_must_not() {
    let desk = Desk::new(None);
    let (_agent, agent_id) = desk.agent("li.na@bank.example");
    let fine = desk.alert("s-1", "LARGE_TRANSFER", customer("C-11"));
    let fraud = desk.alert("s-2", "LARGE_TRANSFER", customer("C-12"));
    let aml = desk.alert("s-3", "AML_WATCHLIST", customer("C-13"));
    let mut dnc = customer("C-14");
    dnc["do_not_contact"] = json!(true);
    let quiet = desk.alert("s-4", "LARGE_TRANSFER", dnc);
    resolve(&desk, &fraud, "confirmed_fraud");
    resolve(&desk, &aml, "false_positive");
    resolve(&desk, &quiet, "false_positive");
    assert!(desk.mails("satisfaction").is_empty());
    for r in [&fraud, &aml, &quiet] {
        assert!(
            !desk
                .kinds(r)
                .contains(&"satisfaction.email_sent".to_string())
        );
    }

    resolve(&desk, &fine, "false_positive");
    let mails = desk.mails("satisfaction");
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].2, format!("How did we do? ({fine})"));
    assert!(
        desk.kinds(&fine)
            .contains(&"satisfaction.email_sent".to_string())
    );
    let token = token_in(&mails[0].3, 's');
    let page = format!("/s/{token}");
    let cust = desk.app.browser();
    let res = cust.get(&page);
    assert_eq!(res.status(), 200);
    let html = res.text().unwrap();
    assert!(html.contains("How did we do?") && html.contains("name=\"score\" value=\"5\""));
    assert_eq!(
        desk.case(&fine)["satisfaction"],
        Value::Null,
        "opening changes nothing"
    );
    assert_eq!(desk.app.count("satisfaction"), 0);
    // The verification page does not take a survey link.
    assert_eq!(cust.get(&format!("/v/{token}")).status(), 404);

    for bad in ["0", "6", "", "five"] {
        let res = customer_post(&page, &cust, &[("score", bad)]);
        assert_eq!(res.status(), 400, "score {bad:?}");
    }
    assert_eq!(desk.app.count("satisfaction"), 0);
    let res = customer_post(
        &page,
        &cust,
        &[("score", "4"), ("comment", "Quick and kind")],
    );
    assert_eq!(res.status(), 200);
    assert!(res.text().unwrap().contains("Thank you for your rating"));
    assert_eq!(desk.case(&fine)["satisfaction"], 4);
    let listed = desk
        .app
        .get_api(&desk.key, "/api/v1/cases?status=resolved")
        .1;
    let row = listed["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case_ref"] == fine.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["satisfaction"], 4);
    let (score, comment, agent, rule): (i32, Option<String>, Option<i64>, String) =
        satisfaction::table
            .select((
                satisfaction::score,
                satisfaction::comment,
                satisfaction::agent_id,
                satisfaction::rule_code,
            ))
            .first(&mut *desk.app.conn())
            .unwrap();
    assert_eq!(
        (score, comment.as_deref(), agent, rule.as_str()),
        (4, Some("Quick and kind"), Some(agent_id), "LARGE_TRANSFER")
    );
    assert!(
        desk.kinds(&fine)
            .contains(&"satisfaction.answered".to_string())
    );
    // Once only.
    let res = customer_post(&page, &cust, &[("score", "1")]);
    assert_eq!(res.status(), 410);
    assert_eq!(desk.app.count("satisfaction"), 1);

    // The survey link lasts 14 days.
    let other = desk.alert("s-5", "LARGE_TRANSFER", customer("C-15"));
    resolve(&desk, &other, "duplicate");
    let token = token_in(&desk.mails("satisfaction")[1].3, 's');
    desk.app
        .clock
        .advance(Duration::days(14) + Duration::minutes(1));
    assert_eq!(cust.get(&format!("/s/{token}")).status(), 410);
}

#[test]
fn breaches_are_mailed_to_the_people_notified() {
    let desk = Desk::new(None);
    let sup_email = "boss@bank.example";
    desk.app.create_user(sup_email, "supervisor");
    let _agent = desk.agent("li.na@bank.example");
    let reference = desk.alert("e-1", "LARGE_TRANSFER", customer("C-21"));
    desk.app.clock.advance(Duration::minutes(20));
    riskdesk::jobs::watch_sla(&desk.app.state).unwrap();
    // The agent hears at once (their default); a supervisor in the hourly digest.
    let mails = desk.mails("notification");
    assert!(
        mails
            .iter()
            .any(|m| m.1 == "li.na@bank.example" && m.2.starts_with(&format!("[{reference}]"))),
        "{mails:?}"
    );
    // The case was critical: its breach is an emergency, and with no rota on the
    // queue the supervisor is paged at once — the only e-mail they get now.
    let to_sup: Vec<_> = mails.iter().filter(|m| m.1 == sup_email).collect();
    assert_eq!(to_sup.len(), 1, "{mails:?}");
    assert!(to_sup[0].2.contains("You are paged"), "{mails:?}");
    assert!(mails.iter().all(|m| m.3.contains(&reference)));
    assert_eq!(riskdesk::jobs::send_digests(&desk.app.state).unwrap(), 0);
    desk.app.clock.advance(Duration::hours(1));
    assert_eq!(riskdesk::jobs::send_digests(&desk.app.state).unwrap(), 1);
    let digests = desk.mails("notification_digest");
    assert!(
        digests
            .iter()
            .any(|m| m.1 == sup_email && m.3.contains(&reference)),
        "{digests:?}"
    );
    desk.send();
    assert!(desk.mails("notification").iter().all(|m| m.5));
    assert!(desk.mails("notification_digest").iter().all(|m| m.5));
}

#[test]
fn supervisors_edit_templates_and_unknown_placeholders_are_refused() {
    let desk = Desk::new(None);
    let sup = desk.app.signed_in("supervisor");
    let list = sup.get("/admin/templates");
    assert_eq!(list.status(), 200);
    let html = list.text().unwrap();
    assert!(
        html.contains("/admin/templates/verification") && html.contains("/admin/templates/survey")
    );
    let edit = sup.get("/admin/templates/verification").text().unwrap();
    for field in ["subject_en", "body_en", "subject_zh-CN", "body_zh-CN"] {
        assert!(edit.contains(&format!("name=\"{field}\"")), "{field}");
    }
    let en: i64 = riskdesk::db::schema::mail_templates::table
        .filter(riskdesk::db::schema::mail_templates::name.eq("verification"))
        .filter(riskdesk::db::schema::mail_templates::lang.eq("en"))
        .select(riskdesk::db::schema::mail_templates::id)
        .first(&mut *desk.app.conn())
        .unwrap();
    let (se, be, sz, bz) = ("subject_en", "body_en", "subject_zh-CN", "body_zh-CN");

    let res = sup.submit(
        "/admin/templates/verification",
        "/admin/templates/verification",
        &[
            (se, "Check {case_ref}"),
            (be, "Hi {customer_name}, {link} {password} {pin}"),
            (sz, "核实 {case_ref}"),
            (bz, "{link}"),
        ],
    );
    assert_eq!(res.status(), 400);
    let html = res.text().unwrap();
    assert!(
        html.contains("{password}") && html.contains("{pin}"),
        "{html}"
    );
    let subject: String = riskdesk::db::schema::mail_templates::table
        .find(en)
        .select(riskdesk::db::schema::mail_templates::subject)
        .first(&mut *desk.app.conn())
        .unwrap();
    assert_eq!(
        subject, "Please confirm a payment ({case_ref})",
        "nothing saved"
    );
    assert!(
        !desk
            .app
            .audit_kinds()
            .contains(&"mail_template.updated".to_string())
    );

    let res = sup.submit(
        "/admin/templates/verification",
        "/admin/templates/verification",
        &[
            (se, "Check {case_ref}"),
            (be, "Hi {customer_name}: {link}"),
            (sz, "核实 {case_ref}"),
            (bz, "{customer_name}：{link}"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert!(
        desk.app
            .audit_kinds()
            .contains(&"mail_template.updated".to_string())
    );

    // The edited template is the one sent.
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert("t-1", "LARGE_TRANSFER", customer("C-31"));
    assert_eq!(send_verification(&agent, &reference).status(), 303);
    let m = &desk.mails("verification")[0];
    assert_eq!(m.2, format!("Check {reference}"));
    assert!(m.3.starts_with("Hi Wei Wang: https://desk.bank.example/v/"));

    // Agents read the templates, without a form, and may not change them.
    assert_eq!(agent.get("/admin/templates").status(), 200);
    let read = agent.get("/admin/templates/verification").text().unwrap();
    assert!(read.contains("Hi {customer_name}: {link}"), "{read}");
    assert!(!read.contains("name=\"body_en\""), "{read}");
    let csrf = agent.csrf_from("/profile");
    let res = agent.post_raw(
        "/admin/templates/verification",
        &[(se, "x"), (be, "y"), ("csrf_token", &csrf)],
    );
    assert_eq!(res.status(), 403);
    assert_eq!(sup.get("/admin/templates/nope").status(), 404);
}

#[test]
fn a_customer_under_aml_is_neither_emailed_nor_called_unwarned_from_another_case() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    // The same customer has an AML case and a transfer case.
    let mut c = customer("C-20");
    c["phone"] = json!("+8613800138000");
    let transfer = desk.alert("t-1", "LARGE_TRANSFER", c.clone());
    let aml = desk.alert("t-2", "AML_WATCHLIST", c);
    assert_ne!(transfer, aml);
    // The transfer case's verification page refuses, naming AML.
    let page = agent
        .get(&format!("/cases/{transfer}/verify-email"))
        .text()
        .unwrap();
    assert!(page.contains("anti-money-laundering"), "{page}");
    agent.get(&format!("/cases/{transfer}"));
    let before = desk.kinds(&transfer).len();
    let res = send_verification_raw(&agent, &transfer);
    assert_eq!(res.status(), 303);
    assert_eq!(desk.kinds(&transfer).len(), before, "nothing changed");
    assert_eq!(desk.app.count("outbox"), 0);
    // The case page warns whoever calls, and the logged call says they were warned.
    let case_page = agent.get(&format!("/cases/{transfer}")).text().unwrap();
    assert!(case_page.contains("no tipping off"), "{case_page}");
    let res = agent.submit(
        &format!("/cases/{transfer}"),
        &format!("/cases/{transfer}/calls"),
        &[
            ("number", "phone"),
            ("direction", "outbound"),
            ("outcome", "no_answer"),
        ],
    );
    assert_eq!(res.status(), 303);
    let case_page = agent.get(&format!("/cases/{transfer}")).text().unwrap();
    assert!(
        case_page.contains("the agent was warned of an AML review"),
        "{case_page}"
    );
    // A customer with no AML case gets neither refusal nor warning.
    let other = desk.alert("t-3", "LARGE_TRANSFER", customer("C-21"));
    let page = agent.get(&format!("/cases/{other}")).text().unwrap();
    assert!(!page.contains("no tipping off"), "{page}");
}

#[test]
fn the_aml_warning_weighs_every_case_of_the_customer_however_many() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    let c = customer("C-40");
    let warned = |reference: &str| {
        agent
            .get(&format!("/cases/{reference}"))
            .text()
            .unwrap()
            .contains("no tipping off")
    };
    // A closed AML case that found nothing puts no one under AML.
    let aml = desk.alert("a-1", "AML_WATCHLIST", c.clone());
    assert!(warned(&aml), "an open AML case warns on its own page");
    resolve(&desk, &aml, "false_positive");
    let transfer = desk.alert("t-0", "LARGE_TRANSFER", c.clone());
    assert!(!warned(&transfer));
    // A case escalated to AML does, closed or not.
    resolve(&desk, &transfer, "escalated_aml");
    let next = desk.alert("t-1", "LARGE_TRANSFER", c.clone());
    assert!(warned(&next));
    resolve(&desk, &next, "false_positive");
    // Still, when the escalated case is older than every case the page lists.
    for i in 2..60 {
        let r = desk.alert(&format!("t-{i}"), "LARGE_TRANSFER", c.clone());
        resolve(&desk, &r, "false_positive");
    }
    let last = desk.alert("t-60", "LARGE_TRANSFER", c);
    assert!(warned(&last));
    // Another customer is not warned for this one.
    let other = desk.alert("o-1", "LARGE_TRANSFER", customer("C-41"));
    assert!(!warned(&other));
}

#[test]
fn a_pause_ends_when_the_verification_link_expires_unanswered() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let _sink = SmtpSink::start(listener.try_clone().unwrap());
    let port = listener.local_addr().unwrap().port();
    let app = TestApp::spawn_with(|s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.public_url = "https://desk.bank.example".into();
        s.verify_link = chrono::Duration::minutes(30);
    });
    // The policy's pause allowance is larger than the link's life.
    app.apply_config(&desk_config().replace("max_pause_minutes = 60", "max_pause_minutes = 600"));
    let key = app.api_key();
    let desk = Desk { app, key };
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert("x-1", "LARGE_TRANSFER", customer("C-30"));
    assert_eq!(send_verification(&agent, &reference).status(), 303);
    assert_eq!(desk.case(&reference)["sla"]["paused"], true);
    desk.app.clock.advance(chrono::Duration::minutes(29));
    riskdesk::jobs::watch_sla(&desk.app.state).unwrap();
    assert_eq!(desk.case(&reference)["sla"]["paused"], true);
    desk.app.clock.advance(chrono::Duration::minutes(2));
    riskdesk::jobs::watch_sla(&desk.app.state).unwrap();
    let case = desk.case(&reference);
    assert_eq!(case["sla"]["paused"], false, "{case}");
    let kinds = desk.kinds(&reference);
    assert!(kinds.contains(&"sla.resumed".to_string()), "{kinds:?}");
    // (The agent's session has gone idle by now: a supervisor reads the timeline.)
    let sup = desk.app.signed_in("supervisor");
    let page = sup.get(&format!("/cases/{reference}")).text().unwrap();
    assert!(page.contains("link expired unanswered"), "{page}");
}
