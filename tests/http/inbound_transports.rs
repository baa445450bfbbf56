// How inbound mail reaches the desk: its own SMTP listener (a real SMTP client and
// a raw session: recipients of other domains refused, dot-unstuffing, the size
// limit, RSET, the acknowledgement only once the mail is committed) and a real
// Dovecot IMAP mailbox on loopback (replies by reply address and by In-Reply-To,
// flagged \Seen only once stored, the server down and back, a retry that stores
// nothing twice).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use lettre::Transport as _;
use lettre::address::Envelope;

use crate::common::dovecot::Dovecot;
use crate::conversations::{Desk, customer, write};
use crate::inbound_mail::{reply_mail, sent_mail};
use riskdesk::inbound::imap::{ImapUrl, poll_once};

/// Starts the desk's SMTP listener on a free loopback port, in a runtime of its own.
fn smtp_listener(desk: &Desk) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    let state = desk.app.state.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            riskdesk::inbound::smtp::serve(state, l).await;
        })
    });
    port
}

/// Waits until the case has `n` customer messages.
fn wait_for_messages(desk: &Desk, reference: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while desk.events(reference, "message.received").len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(desk.events(reference, "message.received").len(), n);
}

fn agent_writes(desk: &Desk, reference: &str) -> (String, String) {
    let (agent, _) = desk.agent("li.na@bank.example");
    agent.get(&format!("/cases/{reference}"));
    let res = write(
        &agent,
        reference,
        &[("channel", "email"), ("body", "Was it you?"), ("wait", "1")],
    );
    assert_eq!(res.status(), 303);
    sent_mail(desk)
}

#[test]
fn replies_come_in_through_the_desks_smtp_listener() {
    let desk = Desk::new(None);
    let reference = desk.alert("a-1", "LARGE_TRANSFER", customer("C-1"));
    let (message_id, reply_to) = agent_writes(&desk, &reference);
    let port = smtp_listener(&desk);

    // A real SMTP client delivers the customer's reply to the reply address.
    let mailer = lettre::SmtpTransport::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let raw = reply_mail(
        "wei@example.com",
        &reply_to,
        "<smtp-1@example.com>",
        None,
        "It was me.",
    );
    let envelope = Envelope::new(
        Some("wei@example.com".parse().unwrap()),
        vec![reply_to.parse().unwrap()],
    )
    .unwrap();
    mailer
        .send_raw(&envelope, &raw)
        .expect("the listener takes it");
    wait_for_messages(&desk, &reference, 1);
    let got = desk.events(&reference, "message.received");
    assert_eq!(got[0]["data"]["body"], "It was me.");
    assert_eq!(desk.case(&reference)["sla"]["paused"], false);
    // Delivered again: stored once, attached once.
    mailer.send_raw(&envelope, &raw).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(desk.app.count("inbound_mail"), 1);
    assert_eq!(desk.events(&reference, "message.received").len(), 1);
    // A reply to the desk's plain address, found by In-Reply-To.
    let by_thread = reply_mail(
        "wei@example.com",
        "replies@desk.bank.example",
        "<smtp-2@example.com>",
        Some(&message_id),
        "One more thing.",
    );
    let envelope = Envelope::new(
        Some("wei@example.com".parse().unwrap()),
        vec!["replies@desk.bank.example".parse().unwrap()],
    )
    .unwrap();
    mailer.send_raw(&envelope, &by_thread).unwrap();
    wait_for_messages(&desk, &reference, 2);
}

/// A raw SMTP session: each command and the answer's code.
struct Session {
    out: TcpStream,
    lines: BufReader<TcpStream>,
}

impl Session {
    fn open(port: u16) -> Session {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut session = Session {
            out: s.try_clone().unwrap(),
            lines: BufReader::new(s),
        };
        assert_eq!(session.answer().0, 220);
        session
    }

    /// The code and text of the next answer (its last line).
    fn answer(&mut self) -> (u16, String) {
        loop {
            let mut line = String::new();
            self.lines.read_line(&mut line).unwrap();
            let code: u16 = line[..3].parse().unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return (code, line);
            }
        }
    }

    fn say(&mut self, text: &str) -> (u16, String) {
        self.out
            .write_all(format!("{text}\r\n").as_bytes())
            .unwrap();
        self.answer()
    }
}

#[test]
fn the_smtp_listener_speaks_enough_smtp_and_refuses_what_is_not_its_own() {
    let desk = Desk::new(None);
    let reference = desk.alert("a-1", "LARGE_TRANSFER", customer("C-1"));
    let (_, reply_to) = agent_writes(&desk, &reference);
    let port = smtp_listener(&desk);
    let mut s = Session::open(port);
    assert_eq!(s.say("MAIL FROM:<wei@example.com>").0, 503, "EHLO first");
    let (code, text) = s.say("EHLO client.example");
    assert_eq!(code, 250, "{text}");
    assert_eq!(s.say("NOOP").0, 250);
    assert_eq!(s.say("RCPT TO:<x@desk.bank.example>").0, 503, "MAIL first");
    assert_eq!(s.say("MAIL FROM:<wei@example.com> SIZE=999999999").0, 552);
    assert_eq!(s.say("MAIL FROM:<wei@example.com>").0, 250);
    assert_eq!(
        s.say("RCPT TO:<someone@elsewhere.example>").0,
        550,
        "not the desk's domain"
    );
    assert_eq!(s.say("RSET").0, 250);
    assert_eq!(s.say("DATA").0, 503, "RSET forgot the mail");
    assert_eq!(s.say("MAIL FROM:<wei@example.com>").0, 250);
    assert_eq!(s.say(&format!("RCPT TO:<{reply_to}>")).0, 250);
    assert_eq!(s.say("DATA").0, 354);
    // A line that starts with a dot is sent doubled (dot-stuffing).
    let body = format!(
        "From: wei@example.com\r\nTo: {reply_to}\r\nSubject: Re\r\nMessage-ID: <raw-1@example.com>\r\n\r\n..hidden dot line\r\nsecond\r\n.\r\n"
    );
    s.out.write_all(body.as_bytes()).unwrap();
    let (code, text) = s.answer();
    assert_eq!(code, 250, "{text}");
    // Acknowledged only once committed: the row is there already.
    assert_eq!(desk.app.count("inbound_mail"), 1);
    wait_for_messages(&desk, &reference, 1);
    assert_eq!(
        desk.events(&reference, "message.received")[0]["data"]["body"],
        ".hidden dot line\nsecond"
    );
    assert_eq!(s.say("BOGUS").0, 502);
    assert_eq!(s.say("QUIT").0, 221);
}

#[test]
fn replies_are_fetched_from_a_real_imap_mailbox_down_and_back() {
    let mut dovecot = Dovecot::start();
    let desk = Desk::new(None);
    let url = ImapUrl::parse(&dovecot.url()).unwrap();
    let reference = desk.alert("a-1", "LARGE_TRANSFER", customer("C-1"));
    let (message_id, reply_to) = agent_writes(&desk, &reference);
    let poll = |desk: &Desk| {
        let (state, url) = (desk.app.state.clone(), url.clone());
        actix_web::rt::System::new().block_on(async move { poll_once(&state, &url).await })
    };

    // A reply to the reply address, and one found by In-Reply-To.
    dovecot.deliver(&reply_mail(
        "wei@example.com",
        &reply_to,
        "<imap-1@example.com>",
        None,
        "It was me.",
    ));
    dovecot.deliver(&reply_mail(
        "Wei@example.com",
        "someone@bank.example",
        "<imap-2@example.com>",
        Some(&message_id),
        "And the receipt is attached.",
    ));
    assert_eq!(dovecot.flags(), vec![(1, false), (2, false)]);
    let pass = poll(&desk).expect("the mailbox answers");
    assert_eq!((pass.fetched, pass.stored), (2, 2));
    let got = desk.events(&reference, "message.received");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["data"]["body"], "It was me.");
    assert_eq!(got[1]["data"]["body"], "And the receipt is attached.");
    assert_eq!(
        got[1]["data"]["attachments"],
        serde_json::json!(["receipt.png"])
    );
    // Flagged seen once stored: the next pass fetches nothing.
    assert_eq!(dovecot.flags(), vec![(1, true), (2, true)]);
    assert_eq!(poll(&desk).unwrap().fetched, 0);

    // The server goes down: a pass fails with a reason, nothing is lost or broken.
    dovecot.stop();
    let e = poll(&desk).unwrap_err();
    assert!(e.contains("connect"), "{e}");
    // Back up, with a mail the desk stored before a crash kept it from flagging it.
    dovecot.run();
    let raw = reply_mail(
        "wei@example.com",
        &reply_to,
        "<imap-3@example.com>",
        None,
        "Third.",
    );
    dovecot.deliver(&raw);
    {
        let mut conn = desk.app.conn();
        riskdesk::inbound::accept(&mut conn, desk.app.clock.now(), "imap", &raw, &[]).unwrap();
    }
    let pass = poll(&desk).unwrap();
    assert_eq!(
        (pass.fetched, pass.stored),
        (1, 0),
        "stored before: not again"
    );
    assert_eq!(dovecot.flags()[2], (3, true));
    // The job processes what the crash left, once.
    riskdesk::jobs::process_inbound(&desk.app.state).unwrap();
    let got = desk.events(&reference, "message.received");
    assert_eq!(got.len(), 3);
    assert_eq!(got[2]["data"]["body"], "Third.");
    assert_eq!(desk.app.count("inbound_mail"), 3);

    // A wrong password is a clear failure, not a crash.
    let mut bad = url.clone();
    bad.password = "wrong".into();
    let state = desk.app.state.clone();
    let e = actix_web::rt::System::new()
        .block_on(async move { poll_once(&state, &bad).await })
        .unwrap_err();
    assert!(e.starts_with("login"), "{e}");
}

#[test]
fn bad_inbound_settings_stop_the_desk_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--imap-url", "pop3://desk:secret@mail.bank.example"],
            "--imap-url must start with imap:// or imaps://",
        ),
        (
            &["--inbound-smtp", "nowhere"],
            "--inbound-smtp must be an address and port",
        ),
        (
            &["--inbound-smtp", &taken_addr],
            "--inbound-smtp: cannot listen on",
        ),
    ];
    for (args, needle) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_riskdesk"))
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let err: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("riskdesk: error"))
            .collect();
        assert_eq!(err.len(), 1, "{args:?}: {err:?}");
        assert!(err[0].contains(needle), "{args:?}: {err:?}");
        assert!(!err[0].contains("secret"), "no password: {err:?}");
    }
}
