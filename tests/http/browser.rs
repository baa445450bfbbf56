// The life of a case in a real browser (headless Chromium): an agent signs in, comes
// online and takes a case, logs a call, sends the verification e-mail; the customer
// follows the link on a phone and confirms; the agent resolves; the customer answers
// the survey. Screenshots of each step are kept under target/tmp/browser/.

use serde_json::{Value, json};

use crate::chromium::Chromium;
use crate::common::TestApp;
use crate::intake::alert;

/// The last link to `prefix` (`/v/` or `/s/`) in the case's outgoing e-mails, once
/// the outbox has written them.
pub fn link_in_mail(app: &TestApp, case_id: i64, prefix: &str) -> String {
    riskdesk::jobs::send_outbox(&app.state).expect("outbox");
    let mut conn = app.conn();
    let mails = riskdesk::mail::outbox::of_case(&mut conn, case_id).unwrap();
    let body = mails
        .iter()
        .rev()
        .map(|m| m.body_text.clone())
        .find(|b| b.contains(prefix))
        .unwrap_or_else(|| panic!("no e-mail with a {prefix} link"));
    let i = body.find(prefix).unwrap();
    let token: String = body[i + prefix.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("{prefix}{token}")
}

fn case_json(app: &TestApp, key: &str, reference: &str) -> Value {
    app.get_api(key, &format!("/api/v1/cases/{reference}")).1
}

#[test]
fn an_agent_works_a_case_and_the_customer_answers_in_a_browser() {
    let app = TestApp::spawn();
    app.apply_config(&crate::assignment::desk_config());
    let key = app.api_key();
    let (_, password) = app.create_agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    // A transfer is stopped while nobody is online: the case waits.
    let mut a = alert("b-1", "LARGE_TRANSFER", "C-1");
    a["amount"] = json!({"value": "1500.00", "currency": "CNY"});
    a["transaction_ref"] = json!("TX-20261124-88812");
    let (s, r) = app.post_api(&key, "/api/v1/alerts", &a);
    assert_eq!(s, 201, "{r}");
    let reference = r["case_ref"].as_str().unwrap().to_string();
    let case_id = riskdesk::store::cases::parse_case_ref(&reference).unwrap();
    assert!(r["assignee"].is_null());

    let mut b = Chromium::launch("case-life");
    let base = app.base.clone();

    // Sign in.
    b.goto(&format!("{base}/login"));
    b.screenshot("login");
    b.fill("input[name=email]", "li@bank.example");
    b.fill("input[name=password]", &password);
    b.click_and_wait("form[action='/login'] button[type=submit]");
    assert_eq!(b.path(), "/");

    // Come online: the waiting case is given at once, and opened from the list.
    b.click_and_wait("button.presence-online");
    let link = format!("a[href='/cases/{reference}']");
    b.wait_for(&format!("document.querySelector(\"{link}\")"));
    b.screenshot("online-with-a-case");
    // The countdown ticks from the server's clock (the test's), not the browser's:
    // high priority, 30 minutes to the first response.
    let shown = b.eval("document.querySelector('time.countdown').textContent");
    assert!(
        shown.as_str().unwrap().starts_with("0:29:") || shown == json!("0:30:00"),
        "{shown}"
    );
    // From the keyboard: j selects the first row, Enter opens it.
    b.press("j");
    b.press_and_wait("Enter");
    assert_eq!(b.path(), format!("/cases/{reference}"));
    let page = b.text();
    // The transaction reference is an identifier: masked on the page.
    assert!(page.contains("TX-202*******8812"), "{page}");
    assert!(!page.contains("TX-20261124-88812"), "{page}");
    assert!(page.contains("1500.00"), "{page}");
    assert!(!page.contains("13800138000"), "the phone is masked: {page}");
    assert_eq!(
        case_json(&app, &key, &reference)["assignee"],
        "li@bank.example"
    );
    b.screenshot("case-page");

    // Log a call that found nobody.
    b.fill("form.call-form select[name=outcome]", "no_answer");
    b.fill("form.call-form input[name=duration]", "25");
    b.fill(
        "form.call-form textarea[name=notes]",
        "Rang twice, no answer.",
    );
    b.click_and_wait("form.call-form button[type=submit]");
    assert!(b.text().contains("Rang twice, no answer."));
    b.screenshot("call-logged");

    // Send the verification e-mail: the clock waits on the customer.
    b.click_and_wait(&format!("a[href='/cases/{reference}/verify-email']"));
    b.screenshot("verification-e-mail");
    b.click_and_wait(&format!(
        "form[action='/cases/{reference}/verify-email'] button[type=submit]"
    ));
    assert_eq!(case_json(&app, &key, &reference)["sla"]["paused"], true);

    // The customer opens the link on a phone: the page only asks.
    let verify = link_in_mail(&app, case_id, "/v/");
    b.phone(true);
    b.goto(&format!("{base}{verify}"));
    b.screenshot("customer-question");
    assert_eq!(case_json(&app, &key, &reference)["sla"]["paused"], true);
    b.fill("textarea[name=message]", "Yes, I paid my landlord.");
    b.click_and_wait("button[value=confirm]");
    b.screenshot("customer-confirmed");
    assert_eq!(case_json(&app, &key, &reference)["sla"]["paused"], false);
    // The link is used up.
    b.goto(&format!("{base}{verify}"));
    assert!(b.eval("document.querySelector('button[value=confirm]') === null") == json!(true));
    b.phone(false);

    // The agent reads the answer and resolves.
    b.goto(&format!("{base}/cases/{reference}"));
    assert!(b.text().contains("Yes, I paid my landlord."));
    b.fill("#resolve select[name=disposition]", "false_positive");
    b.fill("#resolve select[name=action]", "released");
    b.fill(
        "#resolve textarea[name=note]",
        "Customer confirmed by the verification link.",
    );
    b.click_and_wait("#resolve button[type=submit]");
    let case = case_json(&app, &key, &reference);
    assert_eq!(case["status"], "resolved");
    assert_eq!(case["disposition"], "false_positive");
    b.screenshot("resolved");

    // The customer rates the service.
    let survey = link_in_mail(&app, case_id, "/s/");
    b.phone(true);
    b.goto(&format!("{base}{survey}"));
    b.screenshot("survey");
    b.click("input[name=score][value='5']");
    b.fill("textarea[name=comment]", "Quick and polite.");
    b.click_and_wait("form button[type=submit]");
    b.screenshot("survey-answered");
    assert_eq!(case_json(&app, &key, &reference)["satisfaction"], 5);

    // The closing recorded the customer's confirmation.
    let confirmed: bool = {
        use diesel::prelude::*;
        use riskdesk::db::schema::resolutions;
        resolutions::table
            .filter(resolutions::case_id.eq(case_id))
            .select(resolutions::customer_confirmed)
            .first(&mut *app.conn())
            .unwrap()
    };
    assert!(confirmed);
}

/// A supervisor opens a campaign in a real browser, reads its network, ticks the
/// children and closes them at once.
#[test]
fn a_supervisor_opens_a_campaign_and_closes_it_in_bulk() {
    let ring = crate::campaigns::Ring::new();
    let refs: Vec<String> = (1..=5)
        .map(|i| {
            ring.post(crate::campaigns::signup(
                &format!("w-{i}"),
                &format!("W-{i}"),
                "dev-7c1e",
                &format!("198.51.100.{i}"),
            ))
        })
        .collect();
    let campaign = ring.case(&refs[0])["campaign"]
        .as_str()
        .unwrap()
        .to_string();
    let password = ring.app.create_user("olga@bank.example", "supervisor");

    let mut b = Chromium::launch("campaign");
    let base = ring.app.base.clone();
    b.goto(&format!("{base}/login"));
    b.fill("input[name=email]", "olga@bank.example");
    b.fill("input[name=password]", &password);
    b.click_and_wait("form[action='/login'] button[type=submit]");

    // A child says where it belongs; its link leads to the campaign.
    b.goto(&format!("{base}/cases/{}", refs[2]));
    b.click_and_wait(&format!("p.notice a[href='/cases/{campaign}']"));
    assert_eq!(b.path(), format!("/cases/{campaign}"));
    // The network is drawn: one device tying five customers, one node of five.
    let groups = b.eval("document.querySelectorAll('#network svg g.net-group').length");
    assert_eq!(groups, json!(1));
    let label = b.eval("document.querySelector('#network svg g.net-group text').textContent");
    assert_eq!(label, json!("×5"));
    b.screenshot("campaign-page");

    // Tick every child, close them as fraud with a note.
    b.eval("document.querySelectorAll('#campaign-bulk input[name=refs]').forEach(c => c.click())");
    b.fill("#campaign-bulk select[name=disposition]", "confirmed_fraud");
    b.fill("#campaign-bulk select[name=action]", "frozen");
    b.fill(
        "#campaign-bulk textarea[name=note]",
        "One ring on one device",
    );
    b.click_and_wait("#campaign-bulk button[type=submit]");
    let text = b.text();
    assert!(text.contains("5"), "{text}");
    b.screenshot("campaign-closed");
    for r in &refs {
        let c = ring.case(r);
        assert_eq!(c["status"], "resolved", "{r}");
        assert_eq!(c["disposition"], "confirmed_fraud");
    }
}

/// A customer releases their own small payment from the e-mail's link on a phone: the
/// desk sent it as the alert arrived, and "it was me" closes the case.
#[test]
fn a_customer_releases_their_own_payment_in_a_browser() {
    let d = crate::self_release::Desk::new();
    let reference = d.transfer("sr-1", "C-1", "1500.00");
    let verify = d.link(&reference);

    let mut b = Chromium::launch("self-release");
    b.phone(true);
    b.goto(&format!("{}{verify}", d.app.base));
    b.screenshot("customer-question");
    b.click_and_wait("button[value=confirm]");
    b.screenshot("customer-released");
    let text = b.text();
    assert!(text.contains("The payment is released."), "{text}");
    let case = d.case(&reference);
    assert_eq!(case["status"], "resolved");
    assert_eq!(case["disposition"], "false_positive");
    // The link is used up.
    b.goto(&format!("{}{verify}", d.app.base));
    assert!(b.eval("document.querySelector('button[value=confirm]') === null") == json!(true));
}

/// A supervisor writes a secure message from the case page in a real browser; the
/// customer opens the link on a phone, answers with a picture, and the answer is on
/// the case with its file.
#[test]
fn a_secure_message_is_written_and_answered_in_a_browser() {
    let desk = crate::conversations::Desk::with(None, |s| s.public_url = "http://127.0.0.1".into());
    let reference = desk.alert(
        "m-1",
        "LARGE_TRANSFER",
        crate::conversations::customer("C-1"),
    );
    let password = desk.app.create_user("olga@bank.example", "supervisor");
    let mut b = Chromium::launch("secure-message");
    let base = desk.app.base.clone();
    b.goto(&format!("{base}/login"));
    b.fill("input[name=email]", "olga@bank.example");
    b.fill("input[name=password]", &password);
    b.click_and_wait("form[action='/login'] button[type=submit]");

    // Write from the case page: a secure message from a reply template (the text left
    // empty sends the template as it is), the clock waiting for the answer.
    b.goto(&format!("{base}/cases/{reference}"));
    b.fill(
        "#conversation select[name=template]",
        "reply_more_information",
    );
    let chosen = b.eval("document.querySelector('#conversation select[name=template]').value");
    assert_eq!(chosen, json!("reply_more_information"));
    b.click("#conversation input[name=wait]");
    b.screenshot("compose");
    b.click_and_wait("#conversation button[type=submit]");
    assert_eq!(b.path(), format!("/cases/{reference}"));
    let text = b.text();
    assert!(text.contains("Dear Wei Wang,"), "{text}");
    assert!(
        text.contains("send us a photo of the invoice or receipt"),
        "{text}"
    );
    assert_eq!(desk.case(&reference)["sla"]["paused"], true);
    b.screenshot("message-sent");

    // The customer opens the link on a phone and answers with a picture.
    let link = crate::conversations::portal_link(&desk);
    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("invoice.png");
    std::fs::write(&picture, crate::conversations::PNG).unwrap();
    b.phone(true);
    b.goto(&format!("{base}{link}"));
    let text = b.text();
    assert!(
        text.contains("send us a photo of the invoice or receipt"),
        "{text}"
    );
    // The security tips travel with the message.
    assert!(text.contains("safe account"), "{text}");
    b.screenshot("customer-reads");
    b.fill("textarea[name=message]", "Here is the invoice for the TV.");
    b.set_files("input[name=files]", &[&picture]);
    b.click_and_wait("form button[type=submit]");
    let text = b.text();
    assert!(text.contains("Your message was sent"), "{text}");
    assert!(text.contains("Here is the invoice for the TV."), "{text}");
    b.screenshot("customer-answered");
    b.phone(false);
    let received = desk.events(&reference, "message.received");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["data"]["attachments"], json!(["invoice.png"]));
    assert_eq!(desk.case(&reference)["sla"]["paused"], false);

    // The supervisor reads the answer, with its file to download.
    b.goto(&format!("{base}/cases/{reference}"));
    assert!(b.text().contains("Here is the invoice for the TV."));
    let file = b.eval("document.querySelector('#conversation .msg-files a').getAttribute('href')");
    assert!(file.as_str().unwrap().contains("/attachments/"), "{file}");
    b.screenshot("answer-on-the-case");
}
