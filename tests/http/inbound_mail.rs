// Customers' replies by e-mail come back to their cases: matched by the signed reply
// address and by In-Reply-To, checked to come from the customer, cut of their quoted
// history, stored once however often delivered, processed after a crash; what
// matches nothing, comes from someone else or carries a forged tag waits in Triage
// with the reason, where a supervisor attaches or discards it (audited).

use diesel::prelude::*;
use serde_json::json;

use crate::common::location;
use crate::conversations::{Desk, PNG, customer, write};
use riskdesk::db::schema::{inbound_mail, messages};
use riskdesk::inbound::{self, Processed};

/// A reply as a mail client writes it, with a quoted history and an attachment.
pub fn reply_mail(
    from: &str,
    to: &str,
    message_id: &str,
    in_reply_to: Option<&str>,
    text: &str,
) -> Vec<u8> {
    let answers = in_reply_to
        .map(|id| format!("In-Reply-To: {id}\r\nReferences: {id}\r\n"))
        .unwrap_or_default();
    let png = base64_encode(PNG);
    format!(
        "From: Wei Wang <{from}>\r\nTo: {to}\r\nSubject: Re: About your case\r\nMessage-ID: {message_id}\r\n{answers}Date: Tue, 24 Nov 2026 09:30:00 +0800\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n\r\nOn Tue, 24 Nov 2026 at 09:00, Risk Desk <desk@bank.example> wrote:\r\n> Dear Wei Wang, was the payment yours?\r\n> Customer protection\r\n--zz\r\nContent-Type: image/png; name=\"receipt.png\"\r\nContent-Disposition: attachment; filename=\"receipt.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n--zz\r\nContent-Type: text/html; name=\"page.png\"\r\nContent-Disposition: attachment; filename=\"page.png\"\r\n\r\n<html><script>alert(1)</script></html>\r\n--zz--\r\n"
    )
    .into_bytes()
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The case's e-mail to the customer: (Message-ID, reply address).
pub fn sent_mail(desk: &Desk) -> (String, String) {
    let m = desk
        .mails("message")
        .pop()
        .expect("an e-mail to the customer");
    (m.0, m.4.expect("a reply address"))
}

/// (id, outcome, reason, case) of each stored mail.
type MailRow = (i64, Option<String>, Option<String>, Option<i64>);

fn triage_rows(desk: &Desk) -> Vec<MailRow> {
    inbound_mail::table
        .order(inbound_mail::id.asc())
        .select((
            inbound_mail::id,
            inbound_mail::outcome,
            inbound_mail::reason,
            inbound_mail::case_id,
        ))
        .load(&mut *desk.app.conn())
        .unwrap()
}

#[test]
fn a_reply_to_the_reply_address_lands_on_the_case_once() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert("a-1", "LARGE_TRANSFER", customer("C-1"));
    let case_id = riskdesk::store::cases::parse_case_ref(&reference).unwrap();
    agent.get(&format!("/cases/{reference}"));
    let res = write(
        &agent,
        &reference,
        &[
            ("channel", "email"),
            ("body", "Was the payment yours?"),
            ("wait", "1"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(desk.case(&reference)["sla"]["paused"], true);
    let (_, reply_to) = sent_mail(&desk);

    let raw = reply_mail(
        "Wei@Example.com",
        &format!("Risk Desk <{reply_to}>"),
        "<reply-1@mail.example.com>",
        None,
        "Yes, it was me. Receipt attached.",
    );
    let (accepted, processed) = inbound::receive(&desk.app.state, "smtp", &raw, &[]).unwrap();
    assert!(accepted.new);
    let Some(Processed::Attached { case_id: got, .. }) = processed else {
        panic!("{processed:?}");
    };
    assert_eq!(got, case_id);
    // On the timeline: the new text only, the picture kept, the HTML refused.
    let received = desk.events(&reference, "message.received");
    assert_eq!(received.len(), 1);
    let data = &received[0]["data"];
    assert_eq!(data["body"], "Yes, it was me. Receipt attached.");
    assert_eq!(data["channel"], "email");
    assert_eq!(data["from"], "w***@example.com");
    assert_eq!(data["attachments"], json!(["receipt.png"]));
    assert!(
        data["refused"][0].as_str().unwrap().starts_with("page.png"),
        "{data}"
    );
    // The clock resumes, the agent is told.
    assert_eq!(desk.case(&reference)["sla"]["paused"], false);
    let notes = agent.get("/notifications").text().unwrap();
    assert!(notes.contains("Yes, it was me."), "{notes}");
    let page = agent.get(&format!("/cases/{reference}")).text().unwrap();
    assert!(page.contains("The customer replied by e-mail"), "{page}");
    assert!(
        !page.contains("was the payment yours?\n&gt;"),
        "no quoted text"
    );

    // Delivered again (a retrying server): stored once, attached once.
    let (again, processed) = inbound::receive(&desk.app.state, "smtp", &raw, &[]).unwrap();
    assert!(!again.new);
    assert_eq!(again.id, accepted.id);
    assert_eq!(processed, Some(Processed::Already));
    assert_eq!(desk.events(&reference, "message.received").len(), 1);
    assert_eq!(desk.app.count("inbound_mail"), 1);

    // The desk's next e-mail answers the customer's (In-Reply-To).
    let res = write(
        &agent,
        &reference,
        &[("channel", "email"), ("body", "Thank you.")],
    );
    assert_eq!(res.status(), 303);
    let answered: Option<String> = riskdesk::db::schema::outbox::table
        .order(riskdesk::db::schema::outbox::id.desc())
        .filter(riskdesk::db::schema::outbox::kind.eq("message"))
        .select(riskdesk::db::schema::outbox::in_reply_to)
        .first(&mut *desk.app.conn())
        .unwrap();
    assert_eq!(answered.as_deref(), Some("<reply-1@mail.example.com>"));
}

#[test]
fn a_reply_is_matched_by_in_reply_to_even_to_a_verification_email() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert("a-1", "LARGE_TRANSFER", customer("C-1"));
    agent.get(&format!("/cases/{reference}"));
    let page = format!("/cases/{reference}/verify-email");
    assert_eq!(
        agent
            .submit(&page, &page, &[("template", "verification")])
            .status(),
        303
    );
    let verification: String = riskdesk::db::schema::outbox::table
        .filter(riskdesk::db::schema::outbox::kind.eq("verification"))
        .select(riskdesk::db::schema::outbox::message_id)
        .first(&mut *desk.app.conn())
        .unwrap();
    // Sent to the plain sender address, so only In-Reply-To tells the case.
    let raw = reply_mail(
        "wei@example.com",
        "desk@bank.example",
        "<reply-2@mail.example.com>",
        Some(&verification),
        "在的，是我本人。",
    );
    let (_, processed) = inbound::receive(&desk.app.state, "imap", &raw, &[]).unwrap();
    assert!(
        matches!(processed, Some(Processed::Attached { .. })),
        "{processed:?}"
    );
    let received = desk.events(&reference, "message.received");
    assert_eq!(received[0]["data"]["body"], "在的，是我本人。");
    // The verification's paused clock resumes.
    assert_eq!(desk.case(&reference)["sla"]["paused"], false);
}

#[test]
fn mail_from_someone_else_or_matching_nothing_waits_in_triage() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert("a-1", "LARGE_TRANSFER", customer("C-1"));
    let case_id = riskdesk::store::cases::parse_case_ref(&reference).unwrap();
    agent.get(&format!("/cases/{reference}"));
    assert_eq!(
        write(
            &agent,
            &reference,
            &[("channel", "email"), ("body", "Hello")]
        )
        .status(),
        303
    );
    let (message_id, reply_to) = sent_mail(&desk);
    let before = desk.kinds(&reference).len();

    // From another address, to the right reply address.
    let stranger = reply_mail(
        "mallory@evil.example",
        &reply_to,
        "<m-1@evil.example>",
        None,
        "Release it now",
    );
    let (_, p) = inbound::receive(&desk.app.state, "smtp", &stranger, &[]).unwrap();
    assert_eq!(
        p,
        Some(Processed::Triage {
            reason: "not_customer",
            case_id: Some(case_id)
        })
    );
    // A forged tag: the case named, the signature wrong.
    let forged_to = format!("replies+c{case_id}-0000000000000000@desk.bank.example");
    let forged = reply_mail(
        "wei@example.com",
        &forged_to,
        "<m-2@example.com>",
        None,
        "Hi",
    );
    let (_, p) = inbound::receive(&desk.app.state, "smtp", &forged, &[]).unwrap();
    assert_eq!(
        p,
        Some(Processed::Triage {
            reason: "forged_tag",
            case_id: None
        })
    );
    // Nothing it answers, no tag.
    let lost = reply_mail(
        "someone@example.com",
        "desk@bank.example",
        "<m-3@example.com>",
        Some("<unknown@elsewhere>"),
        "Hello?",
    );
    let (_, p) = inbound::receive(&desk.app.state, "smtp", &lost, &[]).unwrap();
    assert_eq!(
        p,
        Some(Processed::Triage {
            reason: "no_match",
            case_id: None
        })
    );
    assert_eq!(desk.kinds(&reference).len(), before, "nothing on the case");
    assert_eq!(desk.app.count("messages"), 1);

    // Supervisors see Triage with the reasons; agents may not.
    assert_eq!(agent.get("/triage/mail").status(), 403);
    let sup = desk.app.signed_in("supervisor");
    let list = sup.get("/triage/mail").text().unwrap();
    assert!(
        list.contains("It comes from an address that is not the customer"),
        "{list}"
    );
    assert!(list.contains("the signature is wrong"), "{list}");
    assert!(list.contains("It answers nothing the desk sent"), "{list}");
    assert!(list.contains("m***@evil.example"), "masked: {list}");
    let rows = triage_rows(&desk);
    let (first, second, third) = (rows[0].0, rows[1].0, rows[2].0);
    let show = sup.get(&format!("/triage/mail/{first}")).text().unwrap();
    assert!(show.contains("Release it now"), "{show}");
    assert!(
        !show.contains("was the payment yours"),
        "quoted text cut: {show}"
    );

    // A supervisor attaches one to the case: on the timeline, audited.
    let res = sup.submit(
        &format!("/triage/mail/{first}"),
        &format!("/triage/mail/{first}/attach"),
        &[("case_ref", &reference)],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/cases/{reference}#conversation"));
    let received = desk.events(&reference, "message.received");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["data"]["body"], "Release it now");
    assert!(
        received[0]["data"]["attached_by"]
            .as_str()
            .unwrap()
            .starts_with("supervisor.")
    );
    assert!(
        desk.app
            .audit_kinds()
            .contains(&"mail.attached".to_string())
    );
    // Again: refused, nothing doubled.
    let csrf = sup.csrf_from("/triage/mail");
    let res = sup.post_raw(
        &format!("/triage/mail/{first}/attach"),
        &[("case_ref", &reference), ("csrf_token", &csrf)],
    );
    assert_eq!(res.status(), 303);
    let shown = sup.get(&location(&res)).text().unwrap();
    assert!(shown.contains("attached or discarded already"), "{shown}");
    assert_eq!(desk.events(&reference, "message.received").len(), 1);
    // An unknown case is named.
    let res = sup.submit(
        &format!("/triage/mail/{second}"),
        &format!("/triage/mail/{second}/attach"),
        &[("case_ref", "RC-999999")],
    );
    let shown = sup.get(&location(&res)).text().unwrap();
    assert!(shown.contains("There is no such case"), "{shown}");

    // Discarding needs a reason; it is audited and the mail is kept.
    let res = sup.submit(
        &format!("/triage/mail/{third}"),
        &format!("/triage/mail/{third}/discard"),
        &[("reason", "Spam")],
    );
    assert_eq!(location(&res), "/triage/mail");
    assert!(
        desk.app
            .audit_kinds()
            .contains(&"mail.discarded".to_string())
    );
    let rows = triage_rows(&desk);
    assert_eq!(rows[0].1.as_deref(), Some("attached"));
    assert_eq!(rows[1].1.as_deref(), Some("triage"));
    assert_eq!(rows[2].1.as_deref(), Some("discarded"));
    assert_eq!(
        rows[2].2.as_deref(),
        Some("no_match"),
        "the reason it came is kept"
    );
    assert_eq!(desk.app.count("inbound_mail"), 3);

    // The customer's own reply to the message still finds its case.
    let raw = reply_mail(
        "wei@example.com",
        "desk@bank.example",
        "<ok@example.com>",
        Some(&message_id),
        "OK",
    );
    let (_, p) = inbound::receive(&desk.app.state, "smtp", &raw, &[]).unwrap();
    assert!(matches!(p, Some(Processed::Attached { .. })), "{p:?}");
}

#[test]
fn a_mail_stored_but_not_processed_is_processed_later_once() {
    let desk = Desk::new(None);
    let (agent, _) = desk.agent("li.na@bank.example");
    let reference = desk.alert("a-1", "LARGE_TRANSFER", customer("C-1"));
    agent.get(&format!("/cases/{reference}"));
    assert_eq!(
        write(
            &agent,
            &reference,
            &[("channel", "email"), ("body", "Hello")]
        )
        .status(),
        303
    );
    let (_, reply_to) = sent_mail(&desk);
    let raw = reply_mail(
        "wei@example.com",
        &reply_to,
        "<late@example.com>",
        None,
        "Late answer",
    );
    // Stored, then the desk stopped before processing it.
    let accepted = {
        let mut conn = desk.app.conn();
        inbound::accept(&mut conn, desk.app.clock.now(), "smtp", &raw, &[]).unwrap()
    };
    assert!(accepted.new);
    assert!(desk.events(&reference, "message.received").is_empty());
    let app = desk.app.restart_with(|s| {
        s.reply_address =
            riskdesk::domain::conversation::ReplyAddress::parse("replies@desk.bank.example")
                .unwrap();
    });
    assert_eq!(riskdesk::jobs::process_inbound(&app.state).unwrap(), 1);
    assert_eq!(riskdesk::jobs::process_inbound(&app.state).unwrap(), 0);
    let n: i64 = messages::table
        .filter(messages::direction.eq("in"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 1, "processed once");
}
