// The campaign on its case page: the rule that found it, the identifiers its
// customers share and how many each ties, the children with status, amount and
// outcome, and the network drawn on the server. Personal data masked throughout; a
// child of a queue the reader may not see is listed without its link. And a
// supervisor's hand: making a campaign of chosen cases, merging two.

use std::collections::HashSet;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::scope::{refused, visible_case};
use super::{Page, Supervisor, db};
use crate::db::DbConn;
use crate::domain::masking;
use crate::domain::network::{self, Graph, NodeKind, SharedId};
use crate::error::AppError;
use crate::i18n::Tr;
use crate::i18n::events::id_kind;
use crate::state::AppState;
use crate::store::campaigns as campaign_store;
use crate::store::cases::{self as case_store, Case, case_ref, parse_case_ref};

/// Shared identifiers listed at most.
const TIES_SHOWN: usize = 20;

/// An identifier the campaign's customers share.
pub struct TieRow {
    pub what: String,
    pub customers: usize,
}

/// A child of the campaign.
pub struct ChildRow {
    pub reference: String,
    /// The reader may open it (it is in one of their queues, or theirs).
    pub visible: bool,
    pub customer: String,
    pub name: String,
    pub status: String,
    pub open: bool,
    pub rule: String,
    pub amount: Option<String>,
    pub disposition: Option<String>,
}

pub struct CampaignView {
    /// The campaign rule that found it; none when a supervisor made it.
    pub rule: Option<String>,
    pub ties: Vec<TieRow>,
    pub children: Vec<ChildRow>,
    pub open: usize,
    pub resolved: usize,
    pub graph: Graph,
}

impl NodeKind {
    /// The node's class in the picture.
    pub fn css(&self) -> &'static str {
        match self {
            NodeKind::Identifier => "net-id",
            NodeKind::Customer => "net-customer",
            NodeKind::Group => "net-group",
        }
    }
}

/// The campaign view of `campaign` for a reader who may see the cases of
/// `visible_queues` (None: all) and their own.
pub fn load(
    conn: &mut DbConn,
    tr: Tr,
    campaign: &Case,
    reader: i64,
    visible_queues: Option<&HashSet<i64>>,
) -> Result<CampaignView, AppError> {
    let rule = campaign_store::rule_of(conn, campaign.id)?;
    let children = campaign_store::children(conn, campaign.id)?;
    let ids: Vec<i64> = children.iter().map(|c| c.id).collect();
    let mut customer_ids: Vec<i64> = children.iter().map(|c| c.customer_id).collect();
    customer_ids.sort_unstable();
    customer_ids.dedup();
    let customers = case_store::customers(conn, &customer_ids)?;
    let amounts = campaign_store::amounts(conn, &ids)?;
    let ties = campaign_store::ties_of(conn, &customer_ids)?;

    let rows: Vec<ChildRow> = children
        .iter()
        .map(|c| {
            let customer = customers.get(&c.customer_id);
            ChildRow {
                reference: case_ref(c.id),
                visible: visible_queues
                    .is_none_or(|q| q.contains(&c.queue_id) || c.assignee_id == Some(reader)),
                customer: customer.map(|x| x.external_id.clone()).unwrap_or_default(),
                name: customer
                    .and_then(|x| x.name.as_deref())
                    .map(masking::name)
                    .unwrap_or_default(),
                status: c.status.to_string(),
                open: c.resolved_at.is_none(),
                rule: c.rule_code.clone(),
                amount: amounts.get(&c.id).map(|(v, cur)| format!("{v} {cur}")),
                disposition: c.disposition.clone(),
            }
        })
        .collect();
    let open = rows.iter().filter(|r| r.open).count();
    let shared: Vec<SharedId> = ties
        .iter()
        .filter(|t| t.customers.len() >= 2)
        .map(|t| SharedId {
            label: format!("{} {}", id_kind(&tr, &t.kind), t.masked),
            customers: t.customers.clone(),
        })
        .collect();
    let labels: Vec<(i64, String)> = customer_ids
        .iter()
        .map(|id| {
            (
                *id,
                customers
                    .get(id)
                    .map(|c| c.external_id.clone())
                    .unwrap_or_default(),
            )
        })
        .collect();
    Ok(CampaignView {
        rule,
        ties: shared
            .iter()
            .take(TIES_SHOWN)
            .map(|s| TieRow {
                what: s.label.clone(),
                customers: s.customers.len(),
            })
            .collect(),
        resolved: rows.len() - open,
        open,
        children: rows,
        graph: network::layout(&labels, &shared),
    })
}

#[derive(Debug, Deserialize)]
pub struct MergeForm {
    #[serde(default)]
    into: String,
    #[serde(default)]
    reason: String,
}

/// A supervisor merges this campaign into another (by its reference).
pub async fn merge(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<MergeForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let into_ref = form.into.trim().to_uppercase();
    let Some(into) = parse_case_ref(&into_ref) else {
        return Ok(redirect_with_flash(
            &back,
            FlashKind::Error,
            "campaign.refused.no_such_campaign",
        ));
    };
    let (now, st, reason) = (state.now(), state.clone(), form.reason.clone());
    let done = db(&state, move |conn| {
        let from = visible_case(conn, &user, &reference)?;
        let snap = st.desk.get(conn)?;
        Ok(crate::cases::campaign::merge(
            conn,
            &st.settings,
            &snap,
            crate::cases::campaign::Hand {
                actor: user.user.id,
                reason: &reason,
            },
            from.id,
            into,
            now,
        ))
    })
    .await?;
    match done {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/cases/{}", case_ref(into)),
            FlashKind::Success,
            "campaign.merged",
        )),
        Err(crate::cases::CaseError::NotFound) => Ok(redirect_with_flash(
            &back,
            FlashKind::Error,
            "campaign.refused.no_such_campaign",
        )),
        Err(e) => refused(&back, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct MakeForm {
    /// Case references, separated by spaces, commas or lines.
    #[serde(default)]
    cases: String,
    #[serde(default)]
    queue: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "cases/campaign_made.html")]
struct MadePage {
    page: Page,
    campaign: Option<String>,
    joined: Vec<String>,
    refused: crate::cases::campaign::Refused,
    error: Option<&'static str>,
}

/// A supervisor makes a campaign of chosen cases; the answer lists the cases that
/// joined and those refused, each with why.
pub async fn make(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<MakeForm>,
) -> Result<HttpResponse, AppError> {
    let mut refs: Vec<String> = Vec::new();
    let mut refused = crate::cases::campaign::Refused::new();
    let mut ids = Vec::new();
    for r in form
        .cases
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let r = r.to_uppercase();
        match parse_case_ref(&r) {
            Some(id) if !ids.contains(&id) => {
                ids.push(id);
                refs.push(r);
            }
            Some(_) => {}
            None => refused.push((r, "campaign.refused.not_found")),
        }
    }
    let (now, st, queue, reason) = (
        state.now(),
        state.clone(),
        form.queue.trim().to_string(),
        form.reason.clone(),
    );
    let outcome = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        Ok(crate::cases::campaign::make(
            conn,
            &snap,
            crate::cases::campaign::Hand {
                actor: user.user.id,
                reason: &reason,
            },
            &ids,
            &queue,
            now,
        ))
    })
    .await?;
    let (status, body) = match outcome {
        Ok(made) => {
            refused.extend(made.refused);
            (
                actix_web::http::StatusCode::OK,
                MadePage {
                    campaign: Some(case_ref(made.campaign)),
                    joined: made.joined,
                    refused,
                    error: None,
                    page: page.clone(),
                },
            )
        }
        Err(crate::cases::CaseError::Db(e)) => return Err(e.into()),
        Err(e) => (
            actix_web::http::StatusCode::BAD_REQUEST,
            MadePage {
                campaign: None,
                joined: Vec::new(),
                refused,
                error: Some(e.key().unwrap_or("lifecycle.conflict")),
                page: page.clone(),
            },
        ),
    };
    page.render_status(status, &body)
}
