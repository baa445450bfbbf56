// Campaign commands: detecting a ring at intake (a campaign rule's threshold of
// customers sharing one identifier within its window), opening the campaign case
// with the customers' open cases as its children, and later cases joining it.
// Everything runs in the caller's transaction (intake's), with its events.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use crate::cases::CaseError;
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
        // A campaign stands only for identifiers that two customers or more have
        // had (a rule needs at least two): an identifier of this customer alone, as
        // most are, has no campaign to join and crosses no threshold.
        let shared = campaign_store::shared_with_others(conn, case.customer_id, &hashes)?;
        if shared.is_empty() {
            continue;
        }
        if let Some(campaign) = campaign_store::open_for(conn, &def.name, &shared)? {
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
        for (hash, seen) in campaign_store::customers_per_identifier(conn, &shared, since)? {
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
        // Too few free cases: perhaps because another instance's campaign took
        // them since this one looked for an open campaign. Join that one then.
        if let Some(campaign) = campaign_store::open_for(conn, &def.name, &[&link.value_hash])? {
            let ids: Vec<i64> = children.iter().map(|c| c.id).collect();
            join(conn, &campaign, &ids, JoinHow::Detected, None, None, now)?;
            return Ok(Some(Detected::Joined(campaign.id)));
        }
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
            unassigned_after: None,
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

/// Why a case was left out of a campaign a supervisor made or added to.
pub fn refusal_of(case: &Case, is_campaign: bool) -> Option<&'static str> {
    if is_campaign {
        Some("campaign.refused.is_campaign")
    } else if case.resolved_at.is_some() {
        Some("campaign.refused.resolved")
    } else if case.campaign_id.is_some() {
        Some("campaign.refused.in_campaign")
    } else {
        None
    }
}

/// The cases refused, by reference, with the translation key of why.
pub type Refused = Vec<(String, &'static str)>;

/// A supervisor's hand on a campaign: who, and why (required).
#[derive(Debug, Clone, Copy)]
pub struct Hand<'a> {
    pub actor: i64,
    pub reason: &'a str,
}

impl<'a> Hand<'a> {
    /// The reason, trimmed; refused when empty.
    fn reason(&self) -> Result<&'a str, CaseError> {
        match self.reason.trim() {
            "" => Err(CaseError::ReasonRequired),
            r => Ok(r),
        }
    }
}

/// What making or growing a campaign by hand did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub campaign: i64,
    pub joined: Vec<String>,
    /// (reference, translation key of the reason) of the cases left out.
    pub refused: Refused,
}

/// Sorts `ids` into the cases that may join a campaign and those refused, by
/// reference (unknown ones too).
fn sort_out(conn: &mut DbConn, ids: &[i64]) -> Result<(Vec<Case>, Refused), CaseError> {
    let campaigns = campaign_store::campaigns_among(conn, ids)?;
    let mut free = Vec::new();
    let mut refused = Vec::new();
    for id in ids {
        match case_store::find(conn, *id)? {
            None => refused.push((case_ref(*id), "campaign.refused.not_found")),
            Some(c) => match refusal_of(&c, campaigns.contains(id)) {
                Some(key) => refused.push((case_ref(*id), key)),
                None => free.push(c),
            },
        }
    }
    Ok((free, refused))
}

/// A supervisor makes a campaign of the cases `ids` (at least two that may join),
/// in `queue`, with a reason: one transaction, each case with its event.
pub fn make(
    conn: &mut DbConn,
    snap: &Snapshot,
    hand: Hand<'_>,
    ids: &[i64],
    queue: &str,
    now: DateTime<Utc>,
) -> Result<Made, CaseError> {
    let (actor, reason) = (hand.actor, hand.reason()?);
    let queue = snap
        .queues_by_name
        .get(queue)
        .ok_or(CaseError::UnknownQueue)?;
    crate::cases::run(conn, |conn| {
        let (free, refused) = sort_out(conn, ids)?;
        if free.len() < 2 {
            return Err(CaseError::Campaign("campaign.refused.too_few"));
        }
        let at = store::to_db(now);
        let stamp = format!("made:{}:{}", now.timestamp_micros(), free[0].id);
        let ring = campaign_store::ring_customer(conn, &format!("ring:{stamp}"), reason, at)?;
        let priority = free
            .iter()
            .map(|c| c.priority)
            .max()
            .unwrap_or(Priority::High);
        let Some((campaign, dues)) = crate::cases::open::insert(
            conn,
            &crate::cases::open::NewCase {
                customer_id: ring,
                queue,
                priority,
                rule_code: &free[0].rule_code,
                open_key: &format!("campaign:{stamp}"),
                weight: 1,
                alert_count: 0,
                unassigned_after: None,
            },
            now,
        )?
        else {
            return Err(CaseError::Conflict);
        };
        campaign_store::record(conn, campaign.id, None, Some(actor), None)?;
        let customers: Vec<i64> = free.iter().map(|c| c.customer_id).collect();
        for tie in campaign_store::ties_of(conn, &customers)? {
            if tie.customers.len() >= 2 {
                campaign_store::link(conn, campaign.id, &tie.kind, &tie.value_hash, &tie.masked)?;
            }
        }
        let ids: Vec<i64> = free.iter().map(|c| c.id).collect();
        let adopted = campaign_store::adopt(conn, campaign.id, &ids)?;
        let tied: BTreeSet<i64> = free.iter().map(|c| c.customer_id).collect();
        let mut opening = vec![
            CaseEvent::Opened(ev::Opened {
                rule: campaign.rule_code.clone(),
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
                rule: None,
                kind: None,
                masked: None,
                customers: tied.len() as i64,
                children: adopted.len() as i64,
                reason: Some(reason.to_string()),
            }),
        ];
        let note = crate::cases::assign::Note::Into(&mut opening);
        crate::cases::assign::try_assign_memo(conn, snap, &campaign, now, None, note, None)?;
        case_store::add_events_by(conn, campaign.id, at, Some(actor), &opening)?;
        joined_events(
            conn,
            campaign.id,
            &adopted,
            JoinHow::Supervisor,
            Some(actor),
            Some(reason),
            at,
        )?;
        Ok(Made {
            campaign: campaign.id,
            joined: adopted.iter().map(|id| case_ref(*id)).collect(),
            refused,
        })
    })
}

/// A supervisor adds the cases `ids` to the open campaign `campaign_id`, with a
/// reason; the cases that may not join are refused by reference.
pub fn add(
    conn: &mut DbConn,
    hand: Hand<'_>,
    campaign_id: i64,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<Made, CaseError> {
    let (actor, reason) = (hand.actor, hand.reason()?);
    crate::cases::run(conn, |conn| {
        let campaign = open_campaign(conn, campaign_id)?;
        let (free, refused) = sort_out(conn, ids)?;
        let ids: Vec<i64> = free.iter().map(|c| c.id).collect();
        let joined = join(
            conn,
            &campaign,
            &ids,
            JoinHow::Supervisor,
            Some(actor),
            Some(reason),
            now,
        )?;
        Ok(Made {
            campaign: campaign.id,
            joined: joined.iter().map(|id| case_ref(*id)).collect(),
            refused,
        })
    })
}

/// The open campaign `id`, locked for the command; refused when it is no campaign
/// or is closed.
fn open_campaign(conn: &mut DbConn, id: i64) -> Result<Case, CaseError> {
    let campaign = crate::cases::load(conn, id)?;
    if !campaign_store::is_campaign(conn, id)? {
        return Err(CaseError::Campaign("campaign.refused.not_a_campaign"));
    }
    if campaign.resolved_at.is_some() {
        return Err(CaseError::Refused(crate::domain::Refusal::Resolved));
    }
    Ok(campaign)
}

/// A supervisor merges the campaign `from` into `into`: its children and the
/// identifiers it stands for move, and `from` is closed as a duplicate. One
/// transaction.
pub fn merge(
    conn: &mut DbConn,
    settings: &crate::config::Settings,
    snap: &Snapshot,
    hand: Hand<'_>,
    from: i64,
    into: i64,
    now: DateTime<Utc>,
) -> Result<Vec<String>, CaseError> {
    let (actor, reason) = (hand.actor, hand.reason()?);
    if from == into {
        return Err(CaseError::Campaign("campaign.refused.same_campaign"));
    }
    crate::cases::run(conn, |conn| {
        let target = open_campaign(conn, into)?;
        open_campaign(conn, from)?;
        let children: Vec<i64> = campaign_store::children(conn, from)?
            .iter()
            .map(|c| c.id)
            .collect();
        let moved = campaign_store::move_children(conn, from, into)?;
        debug_assert_eq!(moved, children.len());
        let at = store::to_db(now);
        for (kind, hash, masked) in campaign_store::links(conn, from)? {
            campaign_store::link(conn, into, &kind, &hash, &masked)?;
        }
        campaign_store::mark_merged(conn, from, into)?;
        if !children.is_empty() {
            joined_events(
                conn,
                target.id,
                &children,
                JoinHow::Merged,
                Some(actor),
                Some(reason),
                at,
            )?;
            case_store::add_event(
                conn,
                target.id,
                at,
                Some(actor),
                &CaseEvent::CampaignGrew(ev::CampaignGrew {
                    cases: children.iter().map(|id| case_ref(*id)).collect(),
                    how: JoinHow::Merged,
                }),
            )?;
        }
        crate::cases::clock::resolve(
            conn,
            settings,
            snap,
            now,
            from,
            crate::cases::clock::Outcome {
                resolver: Some(actor),
                disposition: crate::domain::resolution::Disposition::Duplicate.as_str(),
                details: ev::ClosingDetails {
                    note: Some(format!("→ {}: {reason}", case_ref(into))),
                    ..Default::default()
                },
                approved_by: None,
                by_customer: false,
            },
        )?;
        Ok(children.iter().map(|id| case_ref(*id)).collect())
    })
}
