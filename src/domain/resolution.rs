// How a case is closed: the disposition, the action taken on the customer's money or
// account, the amount protected and a note; which closings need a supervisor's
// approval (maker-checker); who may approve. Pure rules, no I/O.

use std::fmt;
use std::str::FromStr;

use super::money::Decimal;

/// What the case turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// The customer confirmed it was them: the rule stopped an honest customer.
    FalsePositive,
    ConfirmedFraud,
    EscalatedAml,
    /// The customer could not be reached; the agent acted on what they had.
    Unreachable,
    Duplicate,
}

impl Disposition {
    pub const ALL: [Disposition; 5] = [
        Disposition::FalsePositive,
        Disposition::ConfirmedFraud,
        Disposition::EscalatedAml,
        Disposition::Unreachable,
        Disposition::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::FalsePositive => "false_positive",
            Disposition::ConfirmedFraud => "confirmed_fraud",
            Disposition::EscalatedAml => "escalated_aml",
            Disposition::Unreachable => "unreachable",
            Disposition::Duplicate => "duplicate",
        }
    }
}

impl FromStr for Disposition {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Disposition::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or(())
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a closing says about the rule that raised the case: the label the risk
/// engine learns from and the reports count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    /// The rule was right: fraud, or money laundering.
    TruePositive,
    /// The rule stopped an honest customer.
    FalsePositive,
    /// Nobody can tell whether the rule was right (the customer was not reached).
    Unknown,
    /// No judgement of the rule at all (the case repeats another).
    NotCounted,
}

impl Disposition {
    /// The label of a case closed with this disposition.
    pub fn label(self) -> Label {
        match self {
            Disposition::ConfirmedFraud | Disposition::EscalatedAml => Label::TruePositive,
            Disposition::FalsePositive => Label::FalsePositive,
            Disposition::Unreachable => Label::Unknown,
            Disposition::Duplicate => Label::NotCounted,
        }
    }
}

impl Label {
    /// The dispositions that carry this label.
    pub fn dispositions(self) -> impl Iterator<Item = Disposition> {
        Disposition::ALL
            .into_iter()
            .filter(move |d| d.label() == self)
    }
}

/// Closings counted by label: what a false-positive rate is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub true_positive: u64,
    pub false_positive: u64,
    pub unknown: u64,
    pub not_counted: u64,
}

impl Tally {
    pub fn add(&mut self, label: Label) {
        self.add_many(label, 1);
    }

    /// `n` closings of `label`.
    pub fn add_many(&mut self, label: Label, n: u64) {
        match label {
            Label::TruePositive => self.true_positive += n,
            Label::FalsePositive => self.false_positive += n,
            Label::Unknown => self.unknown += n,
            Label::NotCounted => self.not_counted += n,
        }
    }

    /// The closings that tell whether the rule was right: true and false positives.
    pub fn decided(&self) -> u64 {
        self.true_positive + self.false_positive
    }

    /// The false-positive rate as a fraction, `(false positives, true + false
    /// positives)`: unknowns and closings not counted are in neither. `None` when no
    /// closing tells, so that no rate is shown where there is nothing to divide.
    pub fn fp_fraction(&self) -> Option<(u64, u64)> {
        let of = self.decided();
        (of > 0).then_some((self.false_positive, of))
    }
}

/// What was done with the stopped transfer or account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Released,
    Blocked,
    Frozen,
    Refunded,
    /// Nothing to do (a duplicate of a case handled elsewhere).
    NoAction,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Released,
        Action::Blocked,
        Action::Frozen,
        Action::Refunded,
        Action::NoAction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Released => "released",
            Action::Blocked => "blocked",
            Action::Frozen => "frozen",
            Action::Refunded => "refunded",
            Action::NoAction => "no_action",
        }
    }
}

impl FromStr for Action {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Action::ALL.into_iter().find(|a| a.as_str() == s).ok_or(())
    }
}

/// A closing as the agent asks for it, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub disposition: Disposition,
    pub action: Action,
    pub amount_protected: Option<Decimal>,
    pub note: String,
}

/// The longest note kept.
pub const NOTE_MAX: usize = 4000;

/// A field of the closing form and what is wrong with it, as a catalog key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub key: &'static str,
}

impl Closing {
    /// Validates the form's fields; every problem is named.
    pub fn parse(
        disposition: &str,
        action: &str,
        amount_protected: &str,
        note: &str,
    ) -> Result<Closing, Vec<Problem>> {
        let mut problems = Vec::new();
        let d = disposition.trim().parse::<Disposition>().ok();
        if d.is_none() {
            problems.push(Problem {
                field: "disposition",
                key: "resolution.error.disposition",
            });
        }
        let a = action.trim().parse::<Action>().ok();
        if a.is_none() {
            problems.push(Problem {
                field: "action",
                key: "resolution.error.action",
            });
        }
        let amount = match amount_protected.trim() {
            "" => None,
            s => match s.parse::<Decimal>() {
                Ok(v) if !v.is_negative() => Some(v),
                _ => {
                    problems.push(Problem {
                        field: "amount_protected",
                        key: "resolution.error.amount",
                    });
                    None
                }
            },
        };
        let note = note.trim();
        if note.is_empty() {
            problems.push(Problem {
                field: "note",
                key: "resolution.error.note_required",
            });
        } else if note.chars().count() > NOTE_MAX {
            problems.push(Problem {
                field: "note",
                key: "resolution.error.note_long",
            });
        }
        if let (Some(d), Some(a)) = (d, a) {
            // Money is never let go on confirmed fraud, and an honest customer's money
            // is not kept back.
            if d == Disposition::ConfirmedFraud && matches!(a, Action::Released) {
                problems.push(Problem {
                    field: "action",
                    key: "resolution.error.fraud_released",
                });
            }
            if d == Disposition::FalsePositive && matches!(a, Action::Blocked | Action::Frozen) {
                problems.push(Problem {
                    field: "action",
                    key: "resolution.error.false_positive_kept",
                });
            }
        }
        match (d, a, problems.is_empty()) {
            (Some(disposition), Some(action), true) => Ok(Closing {
                disposition,
                action,
                amount_protected: amount,
                note: note.to_string(),
            }),
            _ => Err(problems),
        }
    }
}

/// Why a closing waits for a supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalReason {
    /// A held amount over the threshold is released.
    ReleaseOverThreshold,
    /// An anti-money-laundering case closed as a false positive.
    AmlFalsePositive,
}

impl ApprovalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalReason::ReleaseOverThreshold => "release_over_threshold",
            ApprovalReason::AmlFalsePositive => "aml_false_positive",
        }
    }
}

/// Above what amount, per currency, releasing a held amount needs a supervisor's
/// approval: `50000 CNY, 7000 USD` with, optionally, one bare amount for every other
/// currency. An amount in a currency the thresholds do not name (and no bare amount
/// covers) always needs approval: the desk cannot tell whether it is large.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseThresholds {
    by_currency: std::collections::BTreeMap<String, Decimal>,
    other: Option<Decimal>,
}

impl fmt::Display for ReleaseThresholds {
    /// The list as [`ReleaseThresholds::parse`] reads it: `5000.00 CNY, 700.00 USD`,
    /// the bare amount (if any) last.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .by_currency
            .iter()
            .map(|(c, a)| format!("{a} {c}"))
            .collect();
        parts.extend(self.other.map(|a| a.to_string()));
        f.write_str(&parts.join(", "))
    }
}

impl ReleaseThresholds {
    /// The thresholds a list such as `50000 CNY, 7000 USD` (or a bare `50000`) names.
    pub fn parse(s: &str) -> Result<ReleaseThresholds, String> {
        Self::check(s).map_err(|p| p.english())
    }

    /// [`Self::parse`], saying what is wrong as a catalog key.
    pub fn check(s: &str) -> Result<ReleaseThresholds, super::ProblemText> {
        use super::ProblemText;
        use crate::i18n::tkey;
        let mut out = ReleaseThresholds {
            by_currency: Default::default(),
            other: None,
        };
        let not_amount =
            |part: &str| ProblemText::new(tkey("config.error.threshold_amount"), &[("text", part)]);
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut words = part.split_whitespace();
            let amount = words.next().unwrap_or_default();
            let amount: Decimal = amount
                .parse()
                .ok()
                .filter(|a: &Decimal| !a.is_negative())
                .ok_or_else(|| not_amount(part))?;
            match (words.next(), words.next()) {
                (None, _) if out.other.is_none() => out.other = Some(amount),
                (None, _) => {
                    return Err(ProblemText::new(
                        tkey("config.error.threshold_one_bare"),
                        &[("text", part)],
                    ));
                }
                (Some(cur), None) => {
                    let cur = super::money::check_currency(cur)?;
                    if out.by_currency.insert(cur.clone(), amount).is_some() {
                        return Err(ProblemText::new(
                            tkey("config.error.threshold_twice"),
                            &[("currency", &cur)],
                        ));
                    }
                }
                _ => return Err(not_amount(part)),
            }
        }
        if out.by_currency.is_empty() && out.other.is_none() {
            return Err(ProblemText::new(tkey("config.error.threshold_none"), &[]));
        }
        Ok(out)
    }

    /// The threshold for `currency` (an amount without one counts as "other").
    pub fn for_currency(&self, currency: Option<&str>) -> Option<Decimal> {
        currency
            .and_then(|c| self.by_currency.get(c).copied())
            .or(self.other)
    }

    /// Whether releasing `amount` in `currency` needs approval.
    pub fn exceeded(&self, amount: Decimal, currency: Option<&str>) -> bool {
        match self.for_currency(currency) {
            Some(t) => amount > t,
            None => true,
        }
    }
}

/// Whether a closing needs a second pair of eyes: releasing a held amount over its
/// currency's threshold (any of the case's alert amounts), or closing an AML case as
/// a false positive.
pub fn approval_needed(
    closing: &Closing,
    held: &[(Decimal, Option<String>)],
    thresholds: &ReleaseThresholds,
    aml_case: bool,
) -> Option<ApprovalReason> {
    if aml_case && closing.disposition == Disposition::FalsePositive {
        return Some(ApprovalReason::AmlFalsePositive);
    }
    if closing.action == Action::Released
        && held
            .iter()
            .any(|(a, c)| thresholds.exceeded(*a, c.as_deref()))
    {
        return Some(ApprovalReason::ReleaseOverThreshold);
    }
    None
}

/// Whether `approver` may decide a request made by `requester`: a supervisor or an
/// admin, never the one who asked.
pub fn may_approve(approver_id: i64, approver_is_supervisor: bool, requester: Option<i64>) -> bool {
    approver_is_supervisor && requester != Some(approver_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn every_disposition_has_its_label() {
        let labels: Vec<(&str, Label)> = Disposition::ALL
            .iter()
            .map(|d| (d.as_str(), d.label()))
            .collect();
        assert_eq!(
            labels,
            [
                ("false_positive", Label::FalsePositive),
                ("confirmed_fraud", Label::TruePositive),
                ("escalated_aml", Label::TruePositive),
                ("unreachable", Label::Unknown),
                ("duplicate", Label::NotCounted),
            ]
        );
    }

    #[test]
    fn the_false_positive_rate_counts_only_the_closings_that_tell() {
        let tally = |ds: &[Disposition]| {
            let mut t = Tally::default();
            for d in ds {
                t.add(d.label());
            }
            t
        };
        // One false positive, one fraud, one duplicate, one unreachable: wrong in 1
        // of the 2 that tell, 1 unknown.
        let four = tally(&[
            Disposition::FalsePositive,
            Disposition::ConfirmedFraud,
            Disposition::Duplicate,
            Disposition::Unreachable,
        ]);
        assert_eq!(
            four,
            Tally {
                true_positive: 1,
                false_positive: 1,
                unknown: 1,
                not_counted: 1,
            }
        );
        assert_eq!(four.fp_fraction(), Some((1, 2)));
        // AML escalations are true positives too.
        let aml = tally(&[
            Disposition::EscalatedAml,
            Disposition::EscalatedAml,
            Disposition::FalsePositive,
        ]);
        assert_eq!(aml.fp_fraction(), Some((1, 3)));
        assert_eq!(
            tally(&[Disposition::FalsePositive]).fp_fraction(),
            Some((1, 1))
        );
        // Nothing that tells: no rate, not 0 %.
        let none = tally(&[Disposition::Duplicate, Disposition::Unreachable]);
        assert_eq!(none.decided(), 0);
        assert_eq!(none.fp_fraction(), None);
        assert_eq!(Tally::default().fp_fraction(), None);
        assert_eq!(
            Label::Unknown.dispositions().collect::<Vec<_>>(),
            [Disposition::Unreachable]
        );
        assert_eq!(
            Label::TruePositive.dispositions().collect::<Vec<_>>(),
            [Disposition::ConfirmedFraud, Disposition::EscalatedAml]
        );
    }

    #[test]
    fn a_closing_names_every_problem() {
        let err = Closing::parse("maybe", "kept", "-5", " ").unwrap_err();
        let fields: Vec<_> = err.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["disposition", "action", "amount_protected", "note"]
        );
        let long = "x".repeat(NOTE_MAX + 1);
        let err = Closing::parse("duplicate", "no_action", "", &long).unwrap_err();
        assert_eq!(err[0].key, "resolution.error.note_long");
        assert!(Closing::parse("false_positive", "released", "abc", "ok").is_err());
    }

    #[test]
    fn contradictory_closings_are_refused() {
        let err = Closing::parse("confirmed_fraud", "released", "", "sure").unwrap_err();
        assert_eq!(err[0].key, "resolution.error.fraud_released");
        let err = Closing::parse("false_positive", "frozen", "", "sure").unwrap_err();
        assert_eq!(err[0].key, "resolution.error.false_positive_kept");
        let ok = Closing::parse("confirmed_fraud", "blocked", "125000.00", " called ").unwrap();
        assert_eq!(ok.amount_protected, Some(d("125000")));
        assert_eq!(ok.note, "called");
    }

    #[test]
    fn risky_closings_need_approval() {
        let release = Closing::parse("false_positive", "released", "", "ok").unwrap();
        let t = ReleaseThresholds::parse("50000").unwrap();
        let cny = |a: &str| vec![(d(a), Some("CNY".to_string()))];
        assert_eq!(
            approval_needed(&release, &cny("50000.01"), &t, false),
            Some(ApprovalReason::ReleaseOverThreshold)
        );
        assert_eq!(approval_needed(&release, &cny("50000"), &t, false), None);
        assert_eq!(approval_needed(&release, &[], &t, false), None);
        assert_eq!(
            approval_needed(&release, &[], &t, true),
            Some(ApprovalReason::AmlFalsePositive)
        );
        let block = Closing::parse("confirmed_fraud", "blocked", "", "ok").unwrap();
        assert_eq!(approval_needed(&block, &cny("900000"), &t, true), None);
    }

    #[test]
    fn the_release_threshold_is_per_currency() {
        let release = Closing::parse("false_positive", "released", "", "ok").unwrap();
        let t = ReleaseThresholds::parse("50000 CNY, 7000 USD").unwrap();
        let held = |a: &str, c: &str| vec![(d(a), Some(c.to_string()))];
        // 8,000 is small in yuan and large in dollars.
        assert_eq!(
            approval_needed(&release, &held("8000", "CNY"), &t, false),
            None
        );
        assert_eq!(
            approval_needed(&release, &held("8000", "USD"), &t, false),
            Some(ApprovalReason::ReleaseOverThreshold)
        );
        // A currency the desk has no threshold for always asks.
        assert_eq!(
            approval_needed(&release, &held("1", "JPY"), &t, false),
            Some(ApprovalReason::ReleaseOverThreshold)
        );
        // Any alert over its threshold is enough.
        let mixed = vec![
            (d("100"), Some("USD".to_string())),
            (d("60000"), Some("CNY".to_string())),
        ];
        assert_eq!(
            approval_needed(&release, &mixed, &t, false),
            Some(ApprovalReason::ReleaseOverThreshold)
        );
        // A bare amount covers the currencies not named.
        let t = ReleaseThresholds::parse("50000 CNY, 1000000").unwrap();
        assert_eq!(
            approval_needed(&release, &held("900", "JPY"), &t, false),
            None
        );
        for bad in [
            "",
            "lots",
            "50000 CNY, 70000 CNY",
            "1 2",
            "50000 yuan",
            "-1 USD",
            "5 USD X",
        ] {
            assert!(ReleaseThresholds::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_approver_is_a_supervisor_other_than_the_resolver() {
        assert!(may_approve(2, true, Some(1)));
        assert!(!may_approve(1, true, Some(1)));
        assert!(!may_approve(2, false, Some(1)));
        assert!(may_approve(2, true, None));
    }
}
