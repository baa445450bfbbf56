// Campaign commands: detecting a ring at intake (a campaign rule's threshold of
// customers sharing one identifier within its window), opening the campaign case
// with the customers' open cases as its children, and later cases joining it.
// Everything runs in the caller's transaction (intake's), with its events.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use crate::db::DbConn;
use crate::domain::Priority;
use crate::domain::campaign::{CampaignDef, crosses};
use crate::domain::events::{self as ev, CaseEvent, JoinHow};
use crate::store;
use crate::store::campaigns as campaign_store;
use crate::store::cases::{self as case_store, Case, case_ref};
use crate::store::deskconfig::Snapshot;
use crate::store::identifiers::Recorded;
use diesel::QueryResult;

/// What detection did with the case of an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    /// A campaign was opened with the case among its children.
    Opened(i64),
    /// The case joined an open campaign.
    Joined(i64),
}

/// Detection for the alert of `rule` that intake just filed into `case`, with the
/// identifiers it carried: joins an open campaign standing for one of them, or opens
/// one when a campaign rule's threshold is crossed. In the caller's transaction.
pub fn on_alert(
    conn: &mut DbConn,
    snap: &Snapshot,
    case: &Case,
    rule: &str,
    ids: &[Recorded],
    now: DateTime<Utc>,
) -> QueryResult<Option<Detected>> {
    if case.resolved_at.is_some() || case.campaign_id.is_some() {
        return Ok(None);
    }
    for def in snap.campaigns.iter().filter(|d| d.applies_to(rule)) {
        let linked: Vec<&Recorded> = ids.iter().filter(|r| def.links_by(r.kind)).collect();
        if linked.is_empty() {
            continue;
        }
        let hashes: Vec<&str> = linked.iter().map(|r| r.value_hash.as_str()).collect();
        if let Some(campaign) = campaign_store::open_for(conn, &def.name, &hashes)? {
            join(
                conn,
                &campaign,
                &[case.id],
                JoinHow::Detected,
                None,
                None,
                now,
            )?;
            return Ok(Some(Detected::Joined(campaign.id)));
        }
        let since = store::to_db(now - Duration::minutes(def.window_minutes));
        for (hash, seen) in campaign_store::customers_per_identifier(conn, &hashes, since)? {
            if !crosses(def, seen) {
                continue;
            }
            let Some(link) = linked.iter().find(|r| r.value_hash == hash) else {
                continue;
            };
            if let Some(d) = open_detected(conn, snap, def, link, since, now)? {
                return Ok(Some(d));
            }
        }
    }
    Ok(None)
}

/// Opens the campaign of `def` for the identifier `link` when its customers seen
/// since `since` have enough open cases of the rule's rules; joins the one another
/// instance opened a moment before.
fn open_detected(
    conn: &mut DbConn,
    snap: &Snapshot,
    def: &CampaignDef,
    link: &Recorded,
    since: chrono::NaiveDateTime,
    now: DateTime<Utc>,
) -> QueryResult<Option<Detected>> {
    let customers = store::identifiers::customers_seen_since(conn, &link.value_hash, since)?;
    let children = campaign_store::free_open_cases(conn, &customers, &def.rules)?;
    let tied: BTreeSet<i64> = children.iter().map(|c| c.customer_id).collect();
    if !crosses(def, tied.len() as i64) {
        return Ok(None);
    }
    let Some(queue) = snap.queues_by_name.get(&def.queue) else {
        tracing::warn!(campaign = %def.name, queue = %def.queue, "campaign rule names no queue of the desk");
        return Ok(None);
    };
    let at = store::to_db(now);
    let open_key = def.open_key(&link.value_hash);
    let ring = campaign_store::ring_customer(
        conn,
        &format!("ring:{}:{}", def.name, &link.value_hash[..16]),
        &def.name,
        at,
    )?;
    let priority = children
        .iter()
        .map(|c| c.priority)
        .max()
        .unwrap_or(Priority::High);
    let rule_code = children
        .first()
        .map(|c| c.rule_code.clone())
        .unwrap_or_default();
    let inserted = crate::cases::open::insert(
        conn,
        &crate::cases::open::NewCase {
            customer_id: ring,
            queue,
            priority,
            rule_code: &rule_code,
            open_key: &open_key,
            weight: 1,
            alert_count: 0,
        },
        now,
    )?;
    let Some((campaign, dues)) = inserted else {
        // Another instance opened it a moment ago: the case joins that one.
        let Some(campaign) = case_store::find_open(conn, &open_key)? else {
            return Ok(None);
        };
        let ids: Vec<i64> = children.iter().map(|c| c.id).collect();
        join(conn, &campaign, &ids, JoinHow::Detected, None, None, now)?;
        return Ok(Some(Detected::Joined(campaign.id)));
    };
    campaign_store::record(
        conn,
        campaign.id,
        Some(&def.name),
        None,
        Some((link.kind, &link.value_hash, &link.masked)),
    )?;
    let ids: Vec<i64> = children.iter().map(|c| c.id).collect();
    let adopted = campaign_store::adopt(conn, campaign.id, &ids)?;
    let mut opening = vec![
        CaseEvent::Opened(ev::Opened {
            rule: rule_code.clone(),
            queue: queue.name.clone(),
            priority,
        }),
        CaseEvent::SlaSet(ev::Dues {
            policy: queue.policy.name.clone(),
            calendar: queue.policy.calendar_name.clone().into(),
            first_response_due: dues.first_response,
            resolution_due: dues.resolution,
        }),
        CaseEvent::CampaignOpened(ev::CampaignOpened {
            rule: Some(def.name.clone()),
            kind: Some(link.kind.to_string()),
            masked: Some(link.masked.clone()),
            customers: tied.len() as i64,
            children: adopted.len() as i64,
            reason: None,
        }),
    ];
    let note = crate::cases::assign::Note::Into(&mut opening);
    crate::cases::assign::try_assign_memo(conn, snap, &campaign, now, None, note, None)?;
    case_store::add_events(conn, campaign.id, at, &opening)?;
    joined_events(
        conn,
        campaign.id,
        &adopted,
        JoinHow::Detected,
        None,
        None,
        at,
    )?;
    Ok(Some(Detected::Opened(campaign.id)))
}

/// Makes the cases `ids` children of `campaign` (those in no campaign yet), each
/// with its `campaign.joined` event and the campaign with one `campaign.grew`.
/// Returns the ids that joined.
pub fn join(
    conn: &mut DbConn,
    campaign: &Case,
    ids: &[i64],
    how: JoinHow,
    actor: Option<i64>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<i64>> {
    let at = store::to_db(now);
    let adopted = campaign_store::adopt(conn, campaign.id, ids)?;
    if adopted.is_empty() {
        return Ok(adopted);
    }
    joined_events(conn, campaign.id, &adopted, how, actor, reason, at)?;
    case_store::add_event(
        conn,
        campaign.id,
        at,
        actor,
        &CaseEvent::CampaignGrew(ev::CampaignGrew {
            cases: adopted.iter().map(|id| case_ref(*id)).collect(),
            how,
        }),
    )?;
    Ok(adopted)
}

fn joined_events(
    conn: &mut DbConn,
    campaign_id: i64,
    children: &[i64],
    how: JoinHow,
    actor: Option<i64>,
    reason: Option<&str>,
    at: chrono::NaiveDateTime,
) -> QueryResult<()> {
    let event = CaseEvent::CampaignJoined(ev::CampaignJoined {
        campaign: case_ref(campaign_id),
        how,
        reason: reason.map(str::to_string),
    });
    for id in children {
        case_store::add_event(conn, *id, at, actor, &event)?;
    }
    Ok(())
}
