// The assignment choice: which eligible agent gets a case (least loaded, then the
// one who waited longest), and why nobody did; and the waiting line's order.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::severity::Priority;

/// An agent as the router sees them.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: i64,
    pub member: bool,
    pub skills: BTreeSet<String>,
    pub online: bool,
    pub in_shift: bool,
    pub auto_assign: bool,
    pub load: i32,
    pub capacity: i32,
    pub last_assigned_at: Option<DateTime<Utc>>,
}

/// Why no agent got a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Waiting {
    /// The queue has no members.
    NoMembers,
    /// No member holds every skill the queue needs.
    NoSkill { skills: Vec<String> },
    /// Nobody with the skills is online (or taking cases automatically).
    NoOneOnline { skills: Vec<String> },
    /// Those online are outside their shift.
    OutsideShift,
    /// Everyone eligible is at capacity.
    NoCapacity { eligible: usize, weight: i32 },
}

/// The outcome of choosing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Agent {
        id: i64,
        /// How many were eligible.
        eligible: usize,
        load: i32,
        capacity: i32,
    },
    Waiting(Waiting),
}

fn load_cmp(a: &Agent, b: &Agent) -> Ordering {
    // a.load / a.capacity against b.load / b.capacity, exactly.
    (i64::from(a.load) * i64::from(b.capacity.max(1)))
        .cmp(&(i64::from(b.load) * i64::from(a.capacity.max(1))))
}

/// Whether `agent` may be given a case of `weight` needing `skills` now, ignoring
/// `auto_assign` when the agent asks for one themselves ("take next").
pub fn eligible(agent: &Agent, skills: &[String], weight: i32, asked: bool) -> bool {
    agent.member
        && skills.iter().all(|s| agent.skills.contains(s))
        && agent.online
        && (asked || agent.auto_assign)
        && agent.in_shift
        && agent.load + weight <= agent.capacity
}

/// Chooses the agent for a case of `weight` needing `skills`: among the eligible, the
/// least loaded (load ÷ capacity), then the one who waited longest since their last
/// case, then the lowest id.
pub fn choose(agents: &[Agent], skills: &[String], weight: i32) -> Choice {
    let members: Vec<&Agent> = agents.iter().filter(|a| a.member).collect();
    if members.is_empty() {
        return Choice::Waiting(Waiting::NoMembers);
    }
    let skilled: Vec<&Agent> = members
        .into_iter()
        .filter(|a| skills.iter().all(|s| a.skills.contains(s)))
        .collect();
    if skilled.is_empty() {
        return Choice::Waiting(Waiting::NoSkill {
            skills: skills.to_vec(),
        });
    }
    let online: Vec<&Agent> = skilled
        .into_iter()
        .filter(|a| a.online && a.auto_assign)
        .collect();
    if online.is_empty() {
        return Choice::Waiting(Waiting::NoOneOnline {
            skills: skills.to_vec(),
        });
    }
    let in_shift: Vec<&Agent> = online.into_iter().filter(|a| a.in_shift).collect();
    if in_shift.is_empty() {
        return Choice::Waiting(Waiting::OutsideShift);
    }
    let count = in_shift.len();
    let with_room: Vec<&Agent> = in_shift
        .into_iter()
        .filter(|a| a.load + weight <= a.capacity)
        .collect();
    let Some(best) = with_room.iter().copied().min_by(|a, b| {
        load_cmp(a, b)
            .then_with(|| match (a.last_assigned_at, b.last_assigned_at) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => x.cmp(&y),
            })
            .then(a.id.cmp(&b.id))
    }) else {
        return Choice::Waiting(Waiting::NoCapacity {
            eligible: count,
            weight,
        });
    };
    Choice::Agent {
        id: best.id,
        eligible: with_room.len(),
        load: best.load,
        capacity: best.capacity,
    }
}

/// A waiting case's place in line: nearest deadline first, then higher priority,
/// then the older case.
pub fn urgency_cmp(
    a: (Option<DateTime<Utc>>, Priority, DateTime<Utc>),
    b: (Option<DateTime<Utc>>, Priority, DateTime<Utc>),
) -> Ordering {
    let due = match (a.0, b.0) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    due.then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::severity::Severity;
    use chrono::{Duration, TimeZone};

    fn agent(id: i64, load: i32, capacity: i32) -> Agent {
        Agent {
            id,
            member: true,
            skills: ["fraud".to_string()].into(),
            online: true,
            in_shift: true,
            auto_assign: true,
            load,
            capacity,
            last_assigned_at: None,
        }
    }

    fn fraud() -> Vec<String> {
        vec!["fraud".into()]
    }

    #[test]
    fn the_least_loaded_by_share_of_capacity_wins() {
        let agents = [agent(1, 2, 5), agent(2, 3, 10), agent(3, 0, 1)];
        // 2/5 = 0.4, 3/10 = 0.3, 0/1 = 0 but agent 3 has room for weight 1 only.
        assert_eq!(
            choose(&agents, &fraud(), 1),
            Choice::Agent {
                id: 3,
                eligible: 3,
                load: 0,
                capacity: 1
            }
        );
        assert_eq!(
            choose(&agents, &fraud(), 2),
            Choice::Agent {
                id: 2,
                eligible: 2,
                load: 3,
                capacity: 10
            }
        );
    }

    #[test]
    fn ties_go_to_who_waited_longest() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap();
        let mut a = agent(1, 1, 5);
        a.last_assigned_at = Some(t);
        let mut b = agent(2, 1, 5);
        b.last_assigned_at = Some(t - Duration::minutes(5));
        let c = agent(3, 2, 5);
        assert!(matches!(
            choose(&[a.clone(), b.clone(), c], &fraud(), 1),
            Choice::Agent { id: 2, .. }
        ));
        let mut never = agent(4, 1, 5);
        never.last_assigned_at = None;
        assert!(matches!(
            choose(&[a, b, never], &fraud(), 1),
            Choice::Agent { id: 4, .. }
        ));
    }

    #[test]
    fn the_reason_names_the_first_missing_thing() {
        assert_eq!(
            choose(&[], &fraud(), 1),
            Choice::Waiting(Waiting::NoMembers)
        );
        let mut not_member = agent(1, 0, 5);
        not_member.member = false;
        assert_eq!(
            choose(&[not_member], &fraud(), 1),
            Choice::Waiting(Waiting::NoMembers)
        );
        let mut unskilled = agent(1, 0, 5);
        unskilled.skills.clear();
        assert_eq!(
            choose(&[unskilled], &fraud(), 1),
            Choice::Waiting(Waiting::NoSkill { skills: fraud() })
        );
        let mut away = agent(1, 0, 5);
        away.online = false;
        assert_eq!(
            choose(&[away], &fraud(), 1),
            Choice::Waiting(Waiting::NoOneOnline { skills: fraud() })
        );
        let mut paused = agent(1, 0, 5);
        paused.auto_assign = false;
        assert!(matches!(
            choose(&[paused.clone()], &fraud(), 1),
            Choice::Waiting(Waiting::NoOneOnline { .. })
        ));
        assert!(
            eligible(&paused, &fraud(), 1, true),
            "take next ignores the pause"
        );
        let mut off_shift = agent(1, 0, 5);
        off_shift.in_shift = false;
        assert_eq!(
            choose(&[off_shift], &fraud(), 1),
            Choice::Waiting(Waiting::OutsideShift)
        );
        assert_eq!(
            choose(&[agent(1, 5, 5), agent(2, 4, 5)], &fraud(), 3),
            Choice::Waiting(Waiting::NoCapacity {
                eligible: 2,
                weight: 3
            })
        );
    }

    #[test]
    fn the_line_orders_by_deadline_then_priority_then_age() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap();
        let mut line = [
            (Some(t + Duration::minutes(30)), Severity::Low, t),
            (Some(t + Duration::minutes(10)), Severity::Low, t),
            (
                Some(t + Duration::minutes(10)),
                Severity::Critical,
                t + Duration::minutes(1),
            ),
            (Some(t + Duration::minutes(10)), Severity::Critical, t),
            (None, Severity::Critical, t),
        ];
        line.sort_by(|a, b| urgency_cmp(*a, *b));
        assert_eq!(
            line[0],
            (Some(t + Duration::minutes(10)), Severity::Critical, t)
        );
        assert_eq!(line[1].2, t + Duration::minutes(1));
        assert_eq!(line[2].1, Severity::Low);
        assert_eq!(line[4].0, None);
    }
}
