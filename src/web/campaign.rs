// The campaign on its case page: the rule that found it, the identifiers its
// customers share and how many each ties, the children with status, amount and
// outcome, and the network drawn on the server. Personal data masked throughout; a
// child of a queue the reader may not see is listed without its link.

use std::collections::HashSet;

use crate::db::DbConn;
use crate::domain::masking;
use crate::domain::network::{self, Graph, NodeKind, SharedId};
use crate::error::AppError;
use crate::i18n::Tr;
use crate::i18n::events::id_kind;
use crate::store::campaigns as campaign_store;
use crate::store::cases::{self as case_store, Case, case_ref};

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
