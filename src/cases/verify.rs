// The customer's side of mail: sending a verification e-mail from a case, queueing
// the satisfaction survey after resolution, and the one-time links (stored hashed,
// single-use, expiring) on which the customer answers.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::cases::CaseError;
use crate::cases::clock;
use crate::config::Settings;
use crate::db::DbConn;
use crate::db::schema::{cases, customer_tokens, rules, satisfaction, users};
use crate::domain::events::{self as ev, CaseEvent, ResumeCause};
use crate::domain::severity::Severity;
use crate::domain::{Lang, masking, tokens};
use crate::i18n::tkey;
use crate::mail::outbox::{self, NewMail};
use crate::mail::templates;
use crate::store::cases::{self as case_store, Case, Customer, case_ref};
use crate::store::deskconfig::Snapshot;
use crate::store::{self};

pub const VERIFY: &str = "verify";
pub const SURVEY: &str = "survey";
/// Longest message a customer may leave with an answer or a survey.
pub const MAX_MESSAGE: usize = 1000;

/// Why nothing was sent or recorded; a refusal carries the catalog key that says why.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("refused: {0}")]
    Refused(&'static str),
    #[error("no such link")]
    Unknown,
    #[error("the link was used")]
    Used,
    #[error("the link has expired")]
    Expired,
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

impl From<CaseError> for LinkError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::Db(e) => LinkError::Db(e),
            CaseError::Refused(crate::domain::Refusal::Resolved) => {
                LinkError::Refused(tkey("mail.refused.resolved"))
            }
            _ => LinkError::Refused(tkey("mail.refused.case_state")),
        }
    }
}

/// The customer's language for mail: their locale when the desk speaks it, else English.
pub fn customer_lang(customer: &Customer) -> Lang {
    customer
        .locale
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_default()
}

/// True when the case is an anti-money-laundering case, or its customer is under
/// one (an open case of an AML rule, or any case escalated to AML): the customer
/// must not be tipped off, from whichever of their cases.
pub fn is_aml(conn: &mut DbConn, case: &Case) -> QueryResult<bool> {
    if case.disposition.as_deref() == Some("escalated_aml") {
        return Ok(true);
    }
    // One query: this case of an AML rule (open or not), another open case of one,
    // or any case escalated to AML.
    aml_case_of(conn, case.customer_id, Some(case.id))
}

/// Whether the customer has an open case of an AML rule or a case escalated to AML.
pub fn customer_under_aml(conn: &mut DbConn, customer_id: i64) -> QueryResult<bool> {
    aml_case_of(conn, customer_id, None)
}

/// Whether the customer has a case escalated to AML, or a case of an AML rule that
/// is open (or is `this` case).
fn aml_case_of(conn: &mut DbConn, customer_id: i64, this: Option<i64>) -> QueryResult<bool> {
    let aml_rules = rules::table
        .filter(rules::category.eq("aml"))
        .select(rules::code);
    let counted = cases::resolved_at
        .is_null()
        .or(cases::id.nullable().eq(this));
    let found: Option<i64> = cases::table
        .filter(cases::customer_id.eq(customer_id))
        .filter(
            cases::disposition
                .eq("escalated_aml")
                .or(counted.and(cases::rule_code.eq_any(aml_rules))),
        )
        .select(cases::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Whether `c`, one of a customer's cases, puts the customer under AML: it was
/// escalated to AML, or it is of an AML rule and open (or is the case in hand).
/// [`aml_case_of`] asks the database the same question.
pub fn puts_under_aml(c: &Case, this: bool, is_aml_rule: impl Fn(&str) -> bool) -> bool {
    c.disposition.as_deref() == Some("escalated_aml")
        || ((c.resolved_at.is_none() || this) && is_aml_rule(&c.rule_code))
}

/// [`is_aml`] judged from the customer's other cases when the caller has loaded them
/// all (`others_complete`), without asking the database again; else the query.
pub fn is_aml_among(
    conn: &mut DbConn,
    snap: &Snapshot,
    case: &Case,
    others: &[Case],
    others_complete: bool,
) -> QueryResult<bool> {
    if !others_complete {
        return is_aml(conn, case);
    }
    let aml_rule = |code: &str| snap.rules.get(code).is_some_and(|r| r.category == "aml");
    Ok(puts_under_aml(case, true, aml_rule)
        || others.iter().any(|c| puts_under_aml(c, false, aml_rule)))
}

/// What an agent about to call the customer must know, given whether they are under
/// AML: the translation key of a warning, when the customer is under an AML case (say
/// nothing of it) or asked not to be contacted.
pub fn call_warning_for(aml: bool, customer: &Customer) -> Option<&'static str> {
    if aml {
        Some(tkey("calls.warn_aml"))
    } else if customer.do_not_contact {
        Some(tkey("calls.warn_do_not_contact"))
    } else {
        None
    }
}

/// [`call_warning_for`] the customer of `case`, asking the database.
pub fn call_warning(
    conn: &mut DbConn,
    case: &Case,
    customer: &Customer,
) -> QueryResult<Option<&'static str>> {
    Ok(call_warning_for(is_aml(conn, case)?, customer))
}

/// Why the customer of `case` may not be e-mailed, if they may not.
pub fn contact_refusal(
    conn: &mut DbConn,
    case: &Case,
    customer: &Customer,
) -> QueryResult<Option<&'static str>> {
    Ok(if customer.email.is_none() {
        Some(tkey("mail.refused.no_email"))
    } else if customer.do_not_contact {
        Some(tkey("mail.refused.do_not_contact"))
    } else if is_aml(conn, case)? {
        Some(tkey("mail.refused.aml"))
    } else {
        None
    })
}

/// "125000.00 CNY" from the case's latest alert with an amount.
pub(crate) fn latest_amount(conn: &mut DbConn, case_id: i64) -> QueryResult<String> {
    Ok(crate::mail::replies::amount_of(&case_store::alerts_of(
        conn, case_id,
    )?))
}

pub(crate) fn user_name(conn: &mut DbConn, id: Option<i64>) -> QueryResult<String> {
    Ok(match id {
        Some(id) => users::table
            .find(id)
            .select(users::name)
            .first(conn)
            .optional()?
            .unwrap_or_default(),
        None => String::new(),
    })
}

/// Stores a new link for the case; returns the secret that goes in the e-mail.
pub(crate) fn issue(
    conn: &mut DbConn,
    purpose: &str,
    case_id: i64,
    now: DateTime<Utc>,
    valid: chrono::Duration,
) -> QueryResult<String> {
    let secret = tokens::random_token(32);
    diesel::insert_into(customer_tokens::table)
        .values((
            customer_tokens::token_hash.eq(tokens::digest(&secret)),
            customer_tokens::purpose.eq(purpose),
            customer_tokens::case_id.eq(case_id),
            customer_tokens::created_at.eq(store::to_db(now)),
            customer_tokens::expires_at.eq(store::to_db(now + valid)),
        ))
        .execute(conn)?;
    Ok(secret)
}

/// Renders template `name` for the case's customer (as a preview of it shows it:
/// placeholders filled, the security tips of the case's rule after it) and stores
/// it in the outbox.
#[allow(clippy::too_many_arguments)]
fn queue_templated(
    conn: &mut DbConn,
    settings: &Settings,
    now: DateTime<Utc>,
    kind: &str,
    template: &str,
    case: &Case,
    customer: &Customer,
    link: &str,
    agent_name: &str,
    actor: Option<i64>,
) -> Result<(), LinkError> {
    let lang = customer_lang(customer);
    let Some(tpl) = templates::pick(conn, template, lang.code())? else {
        return Err(LinkError::Refused(tkey("mail.refused.unknown_template")));
    };
    let mail = crate::mail::replies::render_text(
        conn,
        settings,
        case,
        customer,
        lang,
        &tpl.subject,
        &tpl.body,
        agent_name,
        link,
        crate::mail::replies::Reader::Customer,
    )?;
    let to = customer.email.as_deref().unwrap_or_default();
    outbox::enqueue(
        conn,
        now,
        &NewMail {
            kind,
            case_id: Some(case.id),
            to,
            subject: &mail.subject,
            text: &mail.body_text,
            html: mail.body_html.as_deref(),
        },
    )?;
    let sent = ev::EmailSent {
        to: masking::email(to),
        template: tpl.name.clone(),
        lang: tpl.lang.clone(),
    };
    let event = if kind == "verification" {
        CaseEvent::VerificationSent(sent)
    } else {
        CaseEvent::SurveySent(sent)
    };
    case_store::add_event(conn, case.id, store::to_db(now), actor, &event)?;
    Ok(())
}

/// Sends the customer of a case a verification e-mail from template `template`, in
/// the caller's transaction: the message goes to the outbox with a fresh link (an
/// earlier unused one stops working), the SLA clock pauses while the customer is
/// awaited, and the e-mail counts as the first response.
pub fn send_verification(
    conn: &mut DbConn,
    settings: &Settings,
    now: DateTime<Utc>,
    actor: Option<i64>,
    case_id: i64,
    template: &str,
) -> Result<(), LinkError> {
    let case = case_store::find(conn, case_id)?.ok_or(LinkError::Unknown)?;
    if case.resolved_at.is_some() {
        return Err(LinkError::Refused(tkey("mail.refused.resolved")));
    }
    let customer = case_store::customer(conn, case.customer_id)?;
    if let Some(why) = contact_refusal(conn, &case, &customer)? {
        return Err(LinkError::Refused(why));
    }
    if !templates::names_for(conn, "verification")?
        .iter()
        .any(|n| n == template)
    {
        return Err(LinkError::Refused(tkey("mail.refused.unknown_template")));
    }
    let at = store::to_db(now);
    diesel::update(
        customer_tokens::table
            .filter(customer_tokens::case_id.eq(case_id))
            .filter(customer_tokens::purpose.eq(VERIFY))
            .filter(customer_tokens::used_at.is_null())
            .filter(customer_tokens::expires_at.gt(at)),
    )
    .set(customer_tokens::expires_at.eq(at))
    .execute(conn)?;
    let secret = issue(conn, VERIFY, case_id, now, settings.verify_link)?;
    let link = format!("{}/v/{secret}", settings.public_url);
    let agent = user_name(conn, actor)?;
    queue_templated(
        conn,
        settings,
        now,
        "verification",
        template,
        &case,
        &customer,
        &link,
        &agent,
        actor,
    )?;
    if case.paused_since.is_none() {
        clock::pause_in(conn, &case, now, actor, "verification e-mail")?;
    }
    clock::record_first_response(conn, &case, now, actor, "verification_email")?;
    // The case changed even when its clock and first response did not: the reports'
    // facts count the e-mails sent.
    diesel::update(cases::table.find(case_id))
        .set(cases::updated_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// The desk's own verification e-mail, sent as the alert of a rule with
/// `verify_by_email = "auto"` opens the case, before any agent: the `verification`
/// template, in the caller's transaction. A customer who may not be
/// e-mailed (none on file, do-not-contact, AML) is simply not e-mailed.
pub fn verify_automatically(
    conn: &mut DbConn,
    settings: &Settings,
    now: DateTime<Utc>,
    case_id: i64,
) -> QueryResult<()> {
    // The seeded `verification` template while it exists (supervisors may add
    // others), else the first by name.
    let names = templates::names_for(conn, templates::VERIFICATION)?;
    let Some(template) = names
        .iter()
        .find(|n| n.as_str() == templates::VERIFICATION)
        .or(names.first())
        .cloned()
    else {
        return Ok(());
    };
    match send_verification(conn, settings, now, None, case_id, &template) {
        Ok(()) | Err(LinkError::Refused(_)) => Ok(()),
        Err(LinkError::Db(e)) => Err(e),
        Err(e) => {
            tracing::warn!(case_id, error = %e, "the automatic verification e-mail was not sent");
            Ok(())
        }
    }
}

/// Queues the satisfaction survey of a resolved case, in the caller's transaction.
/// Nothing is sent (false) for confirmed fraud, AML cases, and customers who may
/// not be e-mailed.
pub fn queue_survey(
    conn: &mut DbConn,
    settings: &Settings,
    now: DateTime<Utc>,
    case: &Case,
) -> QueryResult<bool> {
    if case.disposition.as_deref() == Some("confirmed_fraud") {
        return Ok(false);
    }
    let customer = case_store::customer(conn, case.customer_id)?;
    if contact_refusal(conn, case, &customer)?.is_some() {
        return Ok(false);
    }
    if templates::pick(conn, "survey", customer_lang(&customer).code())?.is_none() {
        return Ok(false);
    }
    let secret = issue(conn, SURVEY, case.id, now, settings.survey_link)?;
    let link = format!("{}/s/{secret}", settings.public_url);
    let agent = user_name(conn, case.assignee_id)?;
    match queue_templated(
        conn,
        settings,
        now,
        "satisfaction",
        "survey",
        case,
        &customer,
        &link,
        &agent,
        None,
    ) {
        Ok(()) => Ok(true),
        Err(LinkError::Db(e)) => Err(e),
        Err(_) => Ok(false),
    }
}

/// A link found by its secret.
#[derive(Debug, Clone)]
pub struct Link {
    pub id: i64,
    pub case_id: i64,
}

/// The usable link `secret` of `purpose`, or why it is not usable.
pub fn find(
    conn: &mut DbConn,
    purpose: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Link, LinkError> {
    if secret.len() < 20 || secret.len() > 100 {
        return Err(LinkError::Unknown);
    }
    let row: Option<(
        i64,
        i64,
        chrono::NaiveDateTime,
        Option<chrono::NaiveDateTime>,
    )> = customer_tokens::table
        .filter(customer_tokens::token_hash.eq(tokens::digest(secret)))
        .filter(customer_tokens::purpose.eq(purpose))
        .select((
            customer_tokens::id,
            customer_tokens::case_id,
            customer_tokens::expires_at,
            customer_tokens::used_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, case_id, expires_at, used_at)) = row else {
        return Err(LinkError::Unknown);
    };
    if used_at.is_some() {
        return Err(LinkError::Used);
    }
    if store::from_db(expires_at) <= now {
        return Err(LinkError::Expired);
    }
    Ok(Link { id, case_id })
}

/// Marks the link used; false when another request used it first.
fn spend(conn: &mut DbConn, link: &Link, now: DateTime<Utc>) -> QueryResult<bool> {
    let n = diesel::update(
        customer_tokens::table
            .find(link.id)
            .filter(customer_tokens::used_at.is_null()),
    )
    .set(customer_tokens::used_at.eq(Some(store::to_db(now))))
    .execute(conn)?;
    Ok(n == 1)
}

/// What the customer's answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// On the timeline; the agent carries on.
    Recorded,
    /// "It was me" closed the case: the payment is released.
    Released,
}

/// The customer's answer on the verification page.
pub use crate::domain::events::Answer;

/// Records the customer's answer, in the caller's transaction: the timeline and the
/// assignee learn it, the SLA clock runs again, and "it wasn't me" raises the case
/// to critical.
pub fn answer_verification(
    conn: &mut DbConn,
    settings: &Settings,
    snap: &crate::store::deskconfig::Snapshot,
    now: DateTime<Utc>,
    secret: &str,
    answer: Answer,
    message: Option<&str>,
) -> Result<Answered, LinkError> {
    let link = find(conn, VERIFY, secret, now)?;
    if !spend(conn, &link, now)? {
        return Err(LinkError::Used);
    }
    let case = case_store::find(conn, link.case_id)?.ok_or(LinkError::Unknown)?;
    let at = store::to_db(now);
    let reference = case_ref(case.id);
    let event = CaseEvent::VerificationAnswered(ev::Answered {
        answer,
        case_ref: reference.clone(),
        message: message.map(str::to_string),
    });
    case_store::add_event(conn, case.id, at, None, &event)?;
    diesel::update(cases::table.find(case.id))
        .set(cases::updated_at.eq(at))
        .execute(conn)?;
    let to: Vec<i64> = case.assignee_id.into_iter().collect();
    crate::cases::notices::notify(
        conn,
        &to,
        now,
        "verification.answered",
        case.id,
        &json!({"answer": answer.as_str(), "case_ref": reference}),
    )?;
    if case.resolved_at.is_none() {
        if case.paused_since.is_some() {
            clock::resume_in(conn, &case, now, None, ResumeCause::Answered)?;
        }
        if answer == Answer::Confirm {
            let released =
                crate::cases::closing::release_by_customer(conn, settings, snap, now, case.id)
                    .map_err(|e| match e {
                        crate::cases::CaseError::Db(e) => LinkError::Db(e),
                        other => LinkError::Refused(other.key().unwrap_or("lifecycle.conflict")),
                    })?;
            if released {
                return Ok(Answered::Released);
            }
        }
        if answer == Answer::Deny {
            let fresh = case_store::find(conn, case.id)?.ok_or(LinkError::Unknown)?;
            let queue = clock::queue_of(conn, &fresh)?;
            clock::raise_priority(
                conn,
                &queue,
                &fresh,
                Severity::Critical,
                now,
                clock::Raise::CustomerDenied,
            )?;
        }
    }
    Ok(Answered::Recorded)
}

/// Records a survey answer, credited to the case's agent, queue and rule.
pub fn answer_survey(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    secret: &str,
    score: i32,
    comment: Option<&str>,
) -> Result<i64, LinkError> {
    let link = find(conn, SURVEY, secret, now)?;
    if !spend(conn, &link, now)? {
        return Err(LinkError::Used);
    }
    let case = case_store::find(conn, link.case_id)?.ok_or(LinkError::Unknown)?;
    let at = store::to_db(now);
    diesel::insert_into(satisfaction::table)
        .values((
            satisfaction::case_id.eq(case.id),
            satisfaction::score.eq(score),
            satisfaction::comment.eq(comment),
            satisfaction::agent_id.eq(case.assignee_id),
            satisfaction::queue_id.eq(case.queue_id),
            satisfaction::rule_code.eq(&case.rule_code),
            satisfaction::answered_at.eq(at),
        ))
        .execute(conn)?;
    let event = CaseEvent::SurveyAnswered(ev::SurveyAnswered {
        score,
        comment: comment.map(str::to_string),
    });
    case_store::add_event(conn, case.id, at, None, &event)?;
    diesel::update(cases::table.find(case.id))
        .set(cases::updated_at.eq(at))
        .execute(conn)?;
    Ok(case.id)
}

/// The latest survey score of a case.
pub fn satisfaction_of(conn: &mut DbConn, case_id: i64) -> QueryResult<Option<i32>> {
    satisfaction::table
        .filter(satisfaction::case_id.eq(case_id))
        .order(satisfaction::id.desc())
        .select(satisfaction::score)
        .first(conn)
        .optional()
}

/// What the verification page tells the customer about the stopped payment: the
/// case reference, the amount, the masked transaction reference and merchant.
pub struct Stopped {
    pub reference: String,
    pub amount: String,
    pub transaction: Option<String>,
    pub merchant: Option<String>,
    pub lang: Lang,
    /// The security tips of the case's rule, in the customer's language.
    pub tips: Vec<String>,
}

pub fn stopped(conn: &mut DbConn, case_id: i64) -> QueryResult<Stopped> {
    let case = case_store::find(conn, case_id)?.ok_or(diesel::result::Error::NotFound)?;
    let customer = case_store::customer(conn, case.customer_id)?;
    let alerts = case_store::alerts_of(conn, case_id)?;
    let last = alerts
        .iter()
        .rev()
        .find(|a| a.amount.is_some())
        .or(alerts.last());
    let lang = customer_lang(&customer);
    let tips = crate::mail::tips::for_rule(conn, &case.rule_code, lang)?;
    let attrs: std::collections::BTreeMap<String, String> = last
        .map(|a| serde_json::from_str(&a.attributes).unwrap_or_default())
        .unwrap_or_default();
    Ok(Stopped {
        reference: case_ref(case_id),
        amount: latest_amount(conn, case_id)?,
        transaction: last
            .and_then(|a| a.transaction_ref.as_deref())
            .map(masking::number),
        merchant: attrs
            .get("merchant")
            // The customer's own transaction: the merchant as the engine named it,
            // with any card or account number in it cut.
            .map(|m| masking::numbers_in(m)),
        lang,
        tips,
    })
}

/// The language of the customer of a case.
pub fn lang_of_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Lang> {
    let customer_id: i64 = cases::table
        .find(case_id)
        .select(cases::customer_id)
        .first(conn)?;
    Ok(customer_lang(&case_store::customer(conn, customer_id)?))
}

/// The latest survey score of each of `case_ids` that has one.
pub fn satisfaction_for(
    conn: &mut DbConn,
    case_ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, i32>> {
    let rows: Vec<(i64, i32)> = satisfaction::table
        .filter(satisfaction::case_id.eq_any(case_ids))
        .order(satisfaction::id.asc())
        .select((satisfaction::case_id, satisfaction::score))
        .load(conn)?;
    // Later answers (a reopened case surveyed again) replace earlier ones.
    Ok(rows.into_iter().collect())
}

/// The case a link was made for, whatever its state (to answer in its customer's
/// language even when the link can no longer be used).
pub fn case_of(conn: &mut DbConn, secret: &str) -> QueryResult<Option<i64>> {
    customer_tokens::table
        .filter(customer_tokens::token_hash.eq(tokens::digest(secret)))
        .select(customer_tokens::case_id)
        .first(conn)
        .optional()
}
