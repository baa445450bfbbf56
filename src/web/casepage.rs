// The case page's content beyond the summary: why the rule fired (the rule and every
// alert), the SLA clocks, the customer's history and linked cases, the playbook and
// the calls. Loaded once per page view, personal data masked throughout.

pub use crate::i18n::events::{direction_label, field_label, outcome_label};
use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};

use actix_web::{HttpResponse, web};
use askama::Template;

use super::{CurrentUser, Page, db};
use crate::db::DbConn;
use crate::domain::calls::is_failed;
use crate::domain::masking;
use crate::domain::money::Decimal;
use crate::error::AppError;
use crate::i18n::Tr;
use crate::state::AppState;
use crate::store::cases::{self as case_store, Case, Customer, EventRow, case_ref};
use crate::store::deskconfig::Snapshot;
use crate::store::{self, calls as call_store, identifiers, playbooks};

/// One alert as "why it fired" shows it.
pub struct AlertRow {
    pub external_id: String,
    pub received_at: NaiveDateTime,
    pub severity: String,
    pub amount: Option<String>,
    pub transaction_ref: Option<String>,
    /// Attributes with personal values masked, sorted by key.
    pub attributes: Vec<(String, String)>,
}

/// A deadline with the time left or past.
pub struct ClockView {
    pub due: NaiveDateTime,
    pub done: bool,
    pub overdue: bool,
    pub remaining: String,
}

/// Another case of this customer.
pub struct HistoryRow {
    pub reference: String,
    pub visible: bool,
    pub rule: String,
    pub opened_at: NaiveDateTime,
    pub status: String,
    pub disposition: Option<String>,
}

/// A case of another customer who shares an identifier with this one.
pub struct LinkedCase {
    /// The case's reference when the reader may open it.
    pub reference: Option<String>,
    pub status: String,
    pub rule: String,
}

/// One identifier this customer shares, how many others hold it, and some of their
/// cases.
pub struct LinkedGroup {
    /// What is shared, e.g. "Device id d-91ab".
    pub shared: String,
    pub customers: i64,
    pub cases: Vec<LinkedCase>,
    /// The full list of the customers sharing it.
    pub href: String,
}

pub struct PlaybookView {
    pub steps: Vec<String>,
    pub script: String,
    /// True when shown in the other language for want of one in the reader's.
    pub other_language: bool,
}

pub struct CallRow {
    pub at: NaiveDateTime,
    pub agent: Option<String>,
    pub number: String,
    pub direction: String,
    pub outcome: String,
    pub outcome_code: String,
    pub duration: Option<i32>,
    pub notes: String,
    pub callback_at: Option<NaiveDateTime>,
}

/// Everything the case page shows beyond its summary and timeline.
pub struct CaseDetail {
    pub rule_name: Option<String>,
    pub rule_category: Option<String>,
    /// The newest alerts, shown open.
    pub alerts: Vec<AlertRow>,
    /// Earlier ones, folded away, and how many more are not on the page at all.
    pub earlier_alerts: Vec<AlertRow>,
    pub alerts_not_shown: usize,
    pub first_response: ClockView,
    pub resolution: ClockView,
    pub customer_locale: Option<String>,
    pub do_not_contact: bool,
    pub history: Vec<HistoryRow>,
    /// More of the customer's cases than listed: the search for the customer has them.
    pub history_more: bool,
    pub history_href: String,
    pub linked: Vec<LinkedGroup>,
    pub playbook: Option<PlaybookView>,
    /// The rule's published articles and those written from this case.
    pub knowledge: super::knowledge::CasePanel,
    pub calls: Vec<CallRow>,
    /// The customer's numbers a call may use: (form key, masked number).
    pub numbers: Vec<(String, String)>,
    pub failed_calls: i64,
    /// Enough failed attempts: suggest the e-mail route or escalation.
    pub suggest_other_route: bool,
    /// A warning for whoever calls the customer (AML, do not contact).
    pub call_warning: Option<&'static str>,
    pub attempts_before_email: u32,
    /// The replies suggested for the case, filled in for its customer, or why the
    /// customer may not be written to.
    pub replies: crate::mail::replies::Suggestions,
    /// How each suggestion fits the case, in the reader's words.
    pub reply_fits: Vec<&'static str>,
}

/// How long until (or since) `due`, in the reader's words.
fn remaining(tr: &Tr, now: DateTime<Utc>, due: NaiveDateTime) -> (bool, String) {
    let minutes = (store::from_db(due) - now).num_minutes();
    let m = minutes.abs();
    let span = if m >= 60 * 24 {
        tr.tf(
            "casepage.span_days",
            &[
                ("d", &(m / (60 * 24)).to_string()),
                ("h", &((m / 60) % 24).to_string()),
            ],
        )
    } else {
        tr.tf(
            "casepage.span_hours",
            &[("h", &(m / 60).to_string()), ("m", &(m % 60).to_string())],
        )
    };
    if minutes < 0 {
        (true, tr.tf("casepage.overdue_by", &[("span", &span)]))
    } else {
        (false, tr.tf("casepage.time_left", &[("span", &span)]))
    }
}

fn clock(tr: &Tr, now: DateTime<Utc>, due: NaiveDateTime, done: bool) -> ClockView {
    let (overdue, text) = remaining(tr, now, due);
    ClockView {
        due,
        done,
        overdue: overdue && !done,
        remaining: if done { String::new() } else { text },
    }
}

/// How many of the customer's other cases the page reads (for the AML warning), and
/// how many it lists: the rest are one search away.
const HISTORY: i64 = 50;
const HISTORY_SHOWN: usize = 5;
/// Alerts shown open, and folded away under them, at most.
const ALERTS_SHOWN: usize = 3;
const ALERTS_FOLDED: usize = 47;
/// Shared identifiers the page lists at most, and linked cases under each.
const LINKED_GROUPS: usize = 6;
const LINKED_SAMPLE: i64 = 3;

/// The queues whose cases the user may see, or None for all (supervisors, admins).
fn visible_queues(conn: &mut DbConn, user: &CurrentUser) -> Result<Option<HashSet<i64>>, AppError> {
    if user.role.is_supervisor_or_admin() {
        return Ok(None);
    }
    Ok(Some(
        crate::store::users::queue_ids_of(conn, user.user.id)?
            .into_iter()
            .collect(),
    ))
}

fn may_see(user: &CurrentUser, queues: &Option<HashSet<i64>>, c: &Case) -> bool {
    match queues {
        None => true,
        Some(q) => c.assignee_id == Some(user.user.id) || q.contains(&c.queue_id),
    }
}

/// Loads the case page's content for `user` reading in `tr`'s language.
pub fn load(
    conn: &mut DbConn,
    state: &AppState,
    snap: &Snapshot,
    user: &CurrentUser,
    case: &Case,
    customer: &Customer,
    tr: Tr,
) -> Result<CaseDetail, AppError> {
    let now = state.now();
    let rule = snap.rules.get(&case.rule_code);

    let raw_alerts = case_store::alerts_of(conn, case.id)?;
    let mut alerts: Vec<AlertRow> = raw_alerts
        .iter()
        .cloned()
        .map(|a| {
            let attrs: BTreeMap<String, serde_json::Value> =
                serde_json::from_str(&a.attributes).unwrap_or_default();
            AlertRow {
                external_id: a.external_id,
                received_at: a.received_at,
                severity: a.severity,
                amount: a.amount.map(|v| {
                    let shown = v.parse::<Decimal>().map(|d| d.to_string()).unwrap_or(v);
                    match a.currency {
                        Some(c) => format!("{shown} {c}"),
                        None => shown,
                    }
                }),
                // An identifier: masked here, revealed with a reason.
                transaction_ref: a.transaction_ref.as_deref().map(masking::number),
                attributes: attrs
                    .into_iter()
                    .map(|(k, v)| {
                        let text = match v {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        };
                        let masked =
                            masking::attribute(&k, &text, snap.public_attributes.contains(&k));
                        (k, masked)
                    })
                    .collect(),
            }
        })
        .collect();
    alerts.reverse();
    let alerts_not_shown = alerts.len().saturating_sub(ALERTS_SHOWN + ALERTS_FOLDED);
    alerts.truncate(ALERTS_SHOWN + ALERTS_FOLDED);
    let earlier_alerts = alerts.split_off(alerts.len().min(ALERTS_SHOWN));

    let queues = visible_queues(conn, user)?;
    let others = case_store::of_customer_except(conn, case.customer_id, case.id, HISTORY)?;
    // Fewer than asked for: they are all of the customer's other cases, enough to
    // judge the AML warning without asking again.
    let aml = crate::cases::verify::is_aml_among(
        conn,
        snap,
        case,
        &others,
        others.len() < HISTORY as usize,
    )?;
    let history_more = others.len() > HISTORY_SHOWN;
    let history = others
        .into_iter()
        .take(HISTORY_SHOWN)
        .map(|c| HistoryRow {
            reference: case_ref(c.id),
            visible: may_see(user, &queues, &c),
            rule: c.rule_code.clone(),
            opened_at: c.opened_at,
            status: c.status.to_string(),
            disposition: c.disposition.clone(),
        })
        .collect();

    // Grouped by what is shared, a few cases each: a screenful however many are tied.
    let groups = identifiers::shared_groups(conn, case.customer_id, LINKED_GROUPS, LINKED_SAMPLE)?;
    let sample: Vec<i64> = groups
        .iter()
        .flat_map(|g| g.sample.iter().copied())
        .collect();
    let sample_cases =
        case_store::of_customers(conn, &sample, 4 * LINKED_SAMPLE * LINKED_GROUPS as i64)?;
    let linked = groups
        .iter()
        .map(|g| LinkedGroup {
            shared: format!(
                "{} {}",
                crate::i18n::events::id_kind(&tr, &g.kind),
                g.masked
            ),
            customers: g.others,
            cases: sample_cases
                .iter()
                .filter(|c| g.sample.contains(&c.customer_id))
                .take(LINKED_SAMPLE as usize)
                .map(|c| LinkedCase {
                    reference: may_see(user, &queues, c).then(|| case_ref(c.id)),
                    status: c.status.to_string(),
                    rule: c.rule_code.clone(),
                })
                .collect(),
            href: format!(
                "/cases/{}/linked?shared={}",
                case_ref(case.id),
                g.value_hash
            ),
        })
        .collect();

    let books = playbooks::of_rule(conn, &case.rule_code)?;
    let lang = tr.lang.code();
    let playbook = books
        .iter()
        .find(|b| b.lang == lang)
        .map(|b| (b, false))
        .or_else(|| books.first().map(|b| (b, true)))
        .map(|(b, other)| PlaybookView {
            steps: b.step_list(),
            script: b.script.clone(),
            other_language: other,
        });

    let knowledge = super::knowledge::case_panel(
        conn,
        tr.lang,
        user.role.is_supervisor_or_admin(),
        case.id,
        &case.rule_code,
    )?;

    let calls: Vec<CallRow> = call_store::of_case(conn, case.id)?
        .into_iter()
        .map(|(c, agent)| CallRow {
            at: c.at,
            agent,
            number: c.number_masked,
            direction: direction_label(&tr, &c.direction),
            outcome: outcome_label(&tr, &c.outcome),
            outcome_code: c.outcome,
            duration: c.duration_seconds,
            notes: c.notes,
            callback_at: c.callback_at,
        })
        .collect();
    let failed_calls = calls.iter().filter(|c| is_failed(&c.outcome_code)).count() as i64;
    let reached = calls
        .iter()
        .any(|c| matches!(c.outcome_code.as_str(), "verified" | "denied"));
    let attempts_before_email = state.settings.call_attempts_before_email;
    let do_not_contact = customer.do_not_contact;
    let replies = crate::mail::replies::suggest_with(
        conn,
        &state.settings,
        case,
        customer,
        &raw_alerts,
        aml,
        &user.user.name,
    )?;
    let reply_fits = replies
        .items
        .iter()
        .map(|s| super::replies::fit_label(&tr, s.fit))
        .collect();

    Ok(CaseDetail {
        rule_name: rule.map(|r| r.name.clone()),
        rule_category: rule.map(|r| r.category.clone()),
        alerts,
        earlier_alerts,
        alerts_not_shown,
        first_response: clock(
            &tr,
            now,
            case.first_response_due,
            case.first_responded_at.is_some() || case.resolved_at.is_some(),
        ),
        resolution: clock(&tr, now, case.resolution_due, case.resolved_at.is_some()),
        customer_locale: customer.locale.clone(),
        do_not_contact,
        history,
        history_more,
        history_href: format!(
            "/search?{}",
            serde_urlencoded::to_string([("q", customer.external_id.as_str())]).unwrap_or_default()
        ),
        linked,
        playbook,
        knowledge,
        numbers: crate::cases::calls::customer_numbers(customer)
            .into_iter()
            .map(|(k, n)| (k, masking::phone(&n)))
            .collect(),
        calls,
        failed_calls,
        suggest_other_route: !reached
            && case.resolved_at.is_none()
            && failed_calls >= i64::from(attempts_before_email),
        attempts_before_email,
        call_warning: crate::cases::verify::call_warning_for(aml, customer),
        replies,
        reply_fits,
    })
}

/// The timeline's filters: which events each shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineFilter {
    All,
    /// Calls, verification and survey e-mails, messages, the customer's answers.
    Contacts,
    /// Routing, assignment, starting, giving back, hand-offs.
    Assignment,
    /// The SLA clocks and the regulator's report deadline.
    Sla,
}

impl TimelineFilter {
    pub const ALL: [TimelineFilter; 4] = [
        TimelineFilter::All,
        TimelineFilter::Contacts,
        TimelineFilter::Assignment,
        TimelineFilter::Sla,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TimelineFilter::All => "all",
            TimelineFilter::Contacts => "contacts",
            TimelineFilter::Assignment => "assignment",
            TimelineFilter::Sla => "sla",
        }
    }

    /// The query's value; anything unknown shows everything.
    pub fn parse(s: Option<&str>) -> TimelineFilter {
        Self::ALL
            .into_iter()
            .find(|f| Some(f.as_str()) == s)
            .unwrap_or(TimelineFilter::All)
    }

    /// Whether an event of `kind` (as stored) belongs under this filter.
    pub fn shows(self, kind: &str) -> bool {
        let (area, what) = kind.split_once('.').unwrap_or((kind, ""));
        match self {
            TimelineFilter::All => true,
            TimelineFilter::Contacts => {
                matches!(area, "call" | "verification" | "satisfaction" | "message")
            }
            TimelineFilter::Assignment => {
                matches!(area, "assignment" | "routing")
                    || (area == "case" && matches!(what, "started" | "handed_off"))
            }
            TimelineFilter::Sla => matches!(area, "sla" | "aml_report"),
        }
    }
}

/// A filter of the timeline as its link shows it.
pub struct FilterLink {
    pub key: &'static str,
    pub label: String,
    pub count: usize,
    pub href: String,
    pub current: bool,
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    timeline: Option<String>,
}

/// One line of the timeline as the page shows it.
pub struct TimelineRow {
    pub at: chrono::NaiveDateTime,
    pub text: String,
    pub actor: Option<String>,
    pub kind: String,
}

#[derive(Template)]
#[template(path = "cases/show.html")]
struct CasePage {
    page: Page,
    reference: String,
    case: Case,
    queue: String,
    assignee: Option<String>,
    customer_name: String,
    customer_email: String,
    customer_phone: String,
    customer_id: String,
    timeline: Vec<TimelineRow>,
    /// The timeline's filters, the current one marked, and how many events it hides.
    filters: Vec<FilterLink>,
    hidden_events: usize,
    is_assignee: bool,
    can_reassign: bool,
    agents: Vec<(i64, String, String)>,
    resolution: super::resolution::ResolutionPanel,
    detail: super::casepage::CaseDetail,
    /// The campaign, when the case is one.
    campaign: Option<super::campaign::CampaignView>,
    /// The campaign this case belongs to.
    parent: Option<String>,
    emergency: super::emergencies::EmergencyPanel,
    conversation: super::conversations::ConversationPanel,
}

pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let filter = TimelineFilter::parse(query.timeline.as_deref());
    let now = state.now();
    let u = user.clone();
    let (lang, st) = (page.tr, state.clone());
    let u2 = user.clone();
    let (
        case,
        queue,
        assignee,
        customer,
        events,
        actors,
        agents,
        resolution,
        detail,
        campaign,
        emergency,
        conversation,
    ) = db(&state, move |conn| {
        let mut case = super::scope::visible_case(conn, &u, &reference)?;
        // The assignee opening the case starts it.
        if case.assignee_id == Some(u.user.id)
            && case.started_at.is_none()
            && crate::cases::assign::start(conn, case.id, u.user.id, now)?
        {
            case = case_store::find(conn, case.id)?.ok_or(AppError::NotFound)?;
        }
        let queue = case_store::queue_name(conn, case.queue_id)?;
        let assignee = case_store::assignee_email(conn, case.assignee_id)?;
        let customer = case_store::customer(conn, case.customer_id)?;
        let events: Vec<EventRow> = case_store::events_of(conn, case.id)?;
        let actor_ids: Vec<i64> = events.iter().filter_map(|e| e.actor_user_id).collect();
        let actors = crate::store::users::emails_of(conn, &actor_ids)?;
        let agents: Vec<(i64, String, String)> = if u.role.is_supervisor_or_admin() {
            crate::store::users::queue_agents(conn, case.queue_id)?
        } else {
            Vec::new()
        };
        let snap = st.desk.get(conn)?;
        let resolution = super::resolution::panel(conn, &snap, &u, &case)?;
        let detail = load(conn, &st, &snap, &u, &case, &customer, lang)?;
        let campaign = if crate::store::campaigns::is_campaign(conn, case.id)? {
            let queues = visible_queues(conn, &u)?;
            Some(super::campaign::load(
                conn,
                lang,
                &case,
                u.user.id,
                queues.as_ref(),
            )?)
        } else {
            None
        };
        let emergency = super::emergencies::panel(conn, &lang, &u2, &case)?;
        let conversation = super::conversations::panel(conn, &u2, &case, &customer)?;
        Ok((
            case,
            queue,
            assignee,
            customer,
            events,
            actors,
            agents,
            resolution,
            detail,
            campaign,
            emergency,
            conversation,
        ))
    })
    .await?;
    let filters = TimelineFilter::ALL
        .into_iter()
        .map(|f| FilterLink {
            key: f.as_str(),
            label: page
                .t(&format!("layout.timeline_{}", f.as_str()))
                .to_string(),
            count: events.iter().filter(|e| f.shows(&e.kind)).count(),
            href: if f == TimelineFilter::All {
                format!("/cases/{}#timeline", case_ref(case.id))
            } else {
                format!(
                    "/cases/{}?timeline={}#timeline",
                    case_ref(case.id),
                    f.as_str()
                )
            },
            current: f == filter,
        })
        .collect();
    let hidden_events = events.iter().filter(|e| !filter.shows(&e.kind)).count();
    let timeline = events
        .iter()
        .filter(|e| filter.shows(&e.kind))
        .map(|e| TimelineRow {
            at: e.at,
            text: crate::i18n::events::describe_stored(&page.tr, &e.kind, &e.data),
            actor: e.actor_user_id.and_then(|id| actors.get(&id).cloned()),
            kind: e.kind.clone(),
        })
        .collect();
    page.render(&CasePage {
        reference: case_ref(case.id),
        is_assignee: case.assignee_id == Some(user.user.id),
        can_reassign: user.role.is_supervisor_or_admin() && case.resolved_at.is_none(),
        queue,
        assignee,
        customer_name: customer
            .name
            .as_deref()
            .map(masking::name)
            .unwrap_or_default(),
        customer_email: customer
            .email
            .as_deref()
            .map(masking::email)
            .unwrap_or_default(),
        customer_phone: customer
            .phone
            .as_deref()
            .map(masking::phone)
            .unwrap_or_default(),
        customer_id: customer.external_id,
        parent: case.campaign_id.map(case_ref),
        emergency,
        conversation,
        campaign,
        case,
        timeline,
        filters,
        hidden_events,
        agents,
        resolution,
        detail,
        page: page.clone(),
    })
}

/// Customers listed per page of a shared identifier's full list.
const LINKED_PAGE: i64 = 50;
/// Cases listed per customer there.
const LINKED_PER_CUSTOMER: usize = 5;

#[derive(serde::Deserialize)]
pub struct LinkedQuery {
    /// The digest of the identifier, as the case page's link names it.
    shared: String,
    /// Customers before this id (the next page).
    before: Option<i64>,
}

/// Another customer holding the identifier, with their newest cases.
pub struct LinkedCustomer {
    /// Their id and masked name, when the reader may see one of their cases.
    pub shown: Option<(String, String)>,
    pub cases: Vec<LinkedCase>,
}

#[derive(Template)]
#[template(path = "cases/linked.html")]
struct LinkedPage {
    page: Page,
    reference: String,
    shared: String,
    total: i64,
    customers: Vec<LinkedCustomer>,
    next: Option<String>,
    first: bool,
    shared_hash: String,
}

/// `GET /cases/{case_ref}/linked?shared=…`: every customer sharing one identifier
/// with the case's customer, a page at a time (the case page shows a few).
pub async fn linked(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    query: web::Query<LinkedQuery>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let LinkedQuery { shared, before } = query.into_inner();
    let tr = page.tr;
    let hash = shared.clone();
    let (case, kind, masked, total, ids, customers, cases, queues) = db(&state, move |conn| {
        let case = super::scope::visible_case(conn, &user, &reference)?;
        let (kind, masked) =
            identifiers::held_by(conn, case.customer_id, &shared)?.ok_or(AppError::NotFound)?;
        let total = identifiers::holder_count(conn, &shared)? - 1;
        let ids = identifiers::holders(conn, &shared, case.customer_id, before, LINKED_PAGE + 1)?;
        let shown = &ids[..ids.len().min(LINKED_PAGE as usize)];
        let customers = case_store::customers(conn, shown)?;
        let cases =
            case_store::of_customers(conn, shown, LINKED_PAGE * LINKED_PER_CUSTOMER as i64 * 4)?;
        let queues = visible_queues(conn, &user)?;
        Ok((
            case,
            kind,
            masked,
            total,
            ids,
            customers,
            cases,
            (queues, user),
        ))
    })
    .await?;
    let (queues, user) = queues;
    let more = ids.len() > LINKED_PAGE as usize;
    let shown = &ids[..ids.len().min(LINKED_PAGE as usize)];
    let list = shown
        .iter()
        .map(|id| {
            let theirs: Vec<&Case> = cases.iter().filter(|c| c.customer_id == *id).collect();
            let visible = theirs.iter().any(|c| may_see(&user, &queues, c));
            LinkedCustomer {
                shown: customers.get(id).filter(|_| visible).map(|c| {
                    (
                        c.external_id.clone(),
                        c.name.as_deref().map(masking::name).unwrap_or_default(),
                    )
                }),
                cases: theirs
                    .into_iter()
                    .take(LINKED_PER_CUSTOMER)
                    .map(|c| LinkedCase {
                        reference: may_see(&user, &queues, c).then(|| case_ref(c.id)),
                        status: c.status.to_string(),
                        rule: c.rule_code.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    let reference = case_ref(case.id);
    let next = (more && !shown.is_empty()).then(|| {
        format!(
            "/cases/{reference}/linked?{}",
            serde_urlencoded::to_string([
                ("shared", hash.clone()),
                ("before", shown[shown.len() - 1].to_string()),
            ])
            .unwrap_or_default()
        )
    });
    page.render(&LinkedPage {
        shared: format!("{} {}", crate::i18n::events::id_kind(&tr, &kind), masked),
        total,
        customers: list,
        next,
        first: before.is_none(),
        shared_hash: hash,
        reference,
        page: page.clone(),
    })
}
