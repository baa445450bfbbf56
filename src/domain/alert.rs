// An alert as the risk engine posts it, parsed at the edge into validated values;
// every broken field is named, so the engine's developers can fix all at once.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::input::{
    self, AmountValue, AttributeKey, AttributeValue, Currency, EmailAddress, ExternalId, FromJson,
    Locale, Object, Path, PersonName, Phone, Problems, Reference, RuleCode, TimeZone, Timestamp,
};
use super::money::Decimal;
use super::severity::Severity;
use super::{FieldProblem, Lang};
use crate::i18n::tkey;

pub const MAX_ATTRIBUTES: usize = 50;

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerInput {
    pub external_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    /// `Some(true)`: the customer must not be e-mailed; absent leaves it as it was.
    pub do_not_contact: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub value: Decimal,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub external_id: String,
    pub rule: String,
    pub severity: Option<Severity>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub customer: CustomerInput,
    pub amount: Option<Amount>,
    pub transaction_ref: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

/// The earliest `occurred_at` the desk takes.
pub fn earliest_occurrence() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid instant")
}

/// How far past its own clock the desk takes an `occurred_at` (clocks drift).
pub const OCCURRENCE_LEEWAY_HOURS: i64 = 24;

/// An alert as the risk engine posts it: the body of `POST /api/v1/alerts`. The
/// parser reads exactly these members (others are ignored) and the description's
/// schema is derived from these types.
#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({
    "external_id": "eng-7f3a-000123", "rule": "LARGE_TRANSFER", "severity": "high",
    "occurred_at": "2026-11-24T09:15:00+08:00",
    "customer": {"external_id": "C-100234", "name": "王伟", "email": "wei@example.com",
                 "phone": "+8613800138000", "locale": "zh-CN", "timezone": "Asia/Shanghai"},
    "amount": {"value": "125000.00", "currency": "CNY"},
    "transaction_ref": "TX-20261124-88812",
    "attributes": {"device_id": "d-91ab", "ip": "203.0.113.7", "channel": "app"}
}))]
pub struct AlertBody {
    /// The engine's id of the alert: the idempotency key.
    pub external_id: ExternalId,
    /// The rule that fired.
    pub rule: RuleCode,
    /// Default: the rule's.
    pub severity: Option<Severity>,
    /// When the activity happened: from 2000-01-01T00:00:00Z to one day past the
    /// desk's clock.
    pub occurred_at: Option<Timestamp>,
    pub customer: CustomerBody,
    pub amount: Option<AmountBody>,
    pub transaction_ref: Option<Reference>,
    pub attributes: Option<Attributes>,
}

/// The customer the alert is about.
#[derive(Debug, Clone, ToSchema)]
pub struct CustomerBody {
    pub external_id: ExternalId,
    pub name: Option<PersonName>,
    pub email: Option<EmailAddress>,
    pub phone: Option<Phone>,
    pub locale: Option<Locale>,
    pub timezone: Option<TimeZone>,
    /// True: the customer must not be e-mailed (left out or null: unchanged).
    pub do_not_contact: Option<bool>,
}

/// The amount at stake.
#[derive(Debug, Clone, ToSchema)]
pub struct AmountBody {
    pub value: AmountValue,
    pub currency: Currency,
}

/// A flat map of strings, at most 50 members.
#[derive(Debug, Clone, Default)]
pub struct Attributes(pub BTreeMap<String, String>);

impl FromJson for AlertBody {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        let o = Object::of(v, at, problems)?;
        let external_id = o.required("external_id", problems);
        let rule = o.required("rule", problems);
        let severity = o.optional("severity", problems);
        let occurred_at = o.optional("occurred_at", problems);
        let customer = o.required("customer", problems);
        let amount = o.optional("amount", problems);
        let transaction_ref = o.optional("transaction_ref", problems);
        let attributes = o.optional("attributes", problems);
        Some(AlertBody {
            external_id: external_id?,
            rule: rule?,
            severity,
            occurred_at,
            customer: customer?,
            amount,
            transaction_ref,
            attributes,
        })
    }
}

impl FromJson for CustomerBody {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        let o = Object::of(v, at, problems)?;
        let external_id = o.required("external_id", problems);
        Some(CustomerBody {
            name: o.optional("name", problems),
            email: o.optional("email", problems),
            phone: o.optional("phone", problems),
            locale: o.optional("locale", problems),
            timezone: o.optional("timezone", problems),
            do_not_contact: o.optional("do_not_contact", problems),
            external_id: external_id?,
        })
    }
}

impl FromJson for AmountBody {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        let o = Object::of(v, at, problems)?;
        let value = o.required("value", problems);
        let currency = o.required("currency", problems);
        Some(AmountBody {
            value: value?,
            currency: currency?,
        })
    }
}

impl FromJson for Attributes {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        let o = Object::of(v, at, problems)?;
        let map = o.members();
        if map.len() > MAX_ATTRIBUTES {
            let count = map.len().to_string();
            let max = MAX_ATTRIBUTES.to_string();
            input::problem(
                problems,
                at,
                tkey("input.error.too_many"),
                &[("count", &count), ("max", &max)],
            );
            return None;
        }
        let before = problems.len();
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let here = at.key(k);
            if let Err(t) = AttributeKey::check(k) {
                input::problem_text(problems, &here, t);
                continue;
            }
            if let Some(value) = AttributeValue::from_json(v, &here, problems) {
                out.insert(k.clone(), value.into_string());
            }
        }
        (problems.len() == before).then_some(Attributes(out))
    }
}

impl PartialSchema for Attributes {
    fn schema() -> RefOr<Schema> {
        let value = match AttributeValue::schema() {
            RefOr::T(s) => s,
            RefOr::Ref(_) => unreachable!("a text type's schema is inline"),
        };
        let key = match AttributeKey::schema() {
            RefOr::T(s) => s,
            RefOr::Ref(_) => unreachable!("a text type's schema is inline"),
        };
        ObjectBuilder::new()
            .description(Some(
                "A flat map of strings, at most 50 members: names as AttributeKey, values \
                 as AttributeValue",
            ))
            .max_properties(Some(MAX_ATTRIBUTES))
            .property_names(Some(key))
            .additional_properties(Some(value))
            .examples([json!({"device_id": "d-91ab", "ip": "203.0.113.7", "channel": "app"})])
            .into()
    }
}

impl ToSchema for Attributes {}

/// Parses one alert read at `now` (the desk's clock bounds `occurred_at`). Unknown
/// members are ignored, so the engine may send more.
pub fn parse_alert(v: &Value, now: DateTime<Utc>) -> Result<NewAlert, Vec<FieldProblem>> {
    parse_alert_at(v, &Path::root(), now)
}

/// [`parse_alert`] for an alert found at `at` (an item of a batch).
pub fn parse_alert_at(
    v: &Value,
    at: &Path,
    now: DateTime<Utc>,
) -> Result<NewAlert, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let body = AlertBody::from_json(v, at, &mut problems);
    if let Some(t) = body.as_ref().and_then(|b| b.occurred_at) {
        let (earliest, latest) = (
            earliest_occurrence(),
            now + Duration::hours(OCCURRENCE_LEEWAY_HOURS),
        );
        if t.0 < earliest || t.0 > latest {
            input::problem(
                &mut problems,
                &at.key("occurred_at"),
                tkey("input.error.occurred_at"),
                &[
                    ("earliest", &earliest.to_rfc3339()),
                    ("latest", &latest.to_rfc3339()),
                ],
            );
        }
    }
    match body {
        Some(b) if problems.is_empty() => Ok(b.into_new_alert()),
        _ => Err(problems),
    }
}

impl AlertBody {
    fn into_new_alert(self) -> NewAlert {
        let c = self.customer;
        NewAlert {
            external_id: self.external_id.into_string(),
            rule: self.rule.into_string(),
            severity: self.severity,
            occurred_at: self.occurred_at.map(|t| t.0),
            customer: CustomerInput {
                external_id: c.external_id.into_string(),
                name: c.name.map(PersonName::into_string),
                email: c.email.map(EmailAddress::into_string),
                phone: c.phone.map(Phone::into_string),
                locale: c.locale.map(|l| {
                    Lang::parse(l.as_str())
                        .map(|x| x.code().to_string())
                        .unwrap_or_else(|| l.into_string())
                }),
                timezone: c.timezone.map(|t| t.name().to_string()),
                do_not_contact: c.do_not_contact,
            },
            amount: self.amount.map(|a| Amount {
                value: a.value.0,
                currency: a.currency.into_string(),
            }),
            transaction_ref: self.transaction_ref.map(Reference::into_string),
            attributes: self.attributes.unwrap_or_default().0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap()
    }

    fn example() -> Value {
        json!({
          "external_id": "eng-7f3a-000123",
          "rule": "LARGE_TRANSFER",
          "severity": "high",
          "occurred_at": "2026-11-24T09:15:00+08:00",
          "customer": {
            "external_id": "C-100234", "name": "王伟", "email": "wei@example.com",
            "phone": "+8613800138000", "locale": "zh-CN", "timezone": "Asia/Shanghai"
          },
          "amount": {"value": "125000.00", "currency": "CNY"},
          "transaction_ref": "TX-20261124-88812",
          "attributes": {"device_id": "d-91ab", "ip": "203.0.113.7", "channel": "app"}
        })
    }

    #[test]
    fn the_contract_example_parses() {
        let a = parse_alert(&example(), now()).unwrap();
        assert_eq!(a.rule, "LARGE_TRANSFER");
        assert_eq!(a.severity, Some(Severity::High));
        assert_eq!(
            a.occurred_at.unwrap().to_rfc3339(),
            "2026-11-24T01:15:00+00:00"
        );
        assert_eq!(a.amount.unwrap().value.to_string(), "125000.00");
        assert_eq!(a.attributes.len(), 3);
        assert_eq!(a.customer.locale.as_deref(), Some("zh-CN"));
    }

    #[test]
    fn only_three_fields_are_required() {
        let a = parse_alert(
            &json!({"external_id": "x", "rule": "R", "customer": {"external_id": "c"}}),
            now(),
        )
        .unwrap();
        assert_eq!(a.severity, None);
        assert!(a.amount.is_none() && a.attributes.is_empty());
    }

    #[test]
    fn every_broken_field_is_named() {
        let v = json!({
            "rule": 5,
            "severity": "urgent",
            "occurred_at": "yesterday",
            "customer": {"email": "nope", "timezone": "Mars/Base"},
            "amount": {"value": 125000.5, "currency": "yuan"},
            "attributes": {"ok": "fine", "n": 3}
        });
        let problems = parse_alert(&v, now()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for f in [
            "external_id",
            "rule",
            "severity",
            "occurred_at",
            "customer.external_id",
            "customer.email",
            "customer.timezone",
            "amount.value",
            "amount.currency",
            "attributes.n",
        ] {
            assert!(fields.contains(&f), "{f} not named in {fields:?}");
        }
    }

    #[test]
    fn attributes_are_bounded() {
        let mut v = example();
        let many: serde_json::Map<String, Value> =
            (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
        v["attributes"] = Value::Object(many);
        let p = parse_alert(&v, now()).unwrap_err();
        assert_eq!(p[0].field, "attributes");
    }

    fn fields(v: &Value) -> Vec<String> {
        parse_alert(v, now())
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect()
    }

    #[test]
    fn empty_strings_are_refused_where_a_value_is_required() {
        let mut v = example();
        v["rule"] = json!("");
        v["customer"]["external_id"] = json!("");
        v["external_id"] = json!("");
        let f = fields(&v);
        for name in ["rule", "customer.external_id", "external_id"] {
            assert!(f.contains(&name.to_string()), "{name} in {f:?}");
        }
    }

    #[test]
    fn a_body_that_is_not_an_object_is_named_as_the_body() {
        for body in [json!([]), json!("alert"), json!(null), json!(5)] {
            assert_eq!(fields(&body), ["(body)"], "{body}");
        }
        let mut v = example();
        v["customer"] = json!(["C-1"]);
        assert_eq!(fields(&v), ["customer"]);
    }

    #[test]
    fn amounts_are_canonical() {
        for bad in ["  1", "+1", "1e3", "1 ", "0x10", "-5"] {
            let mut v = example();
            v["amount"]["value"] = json!(bad);
            assert_eq!(fields(&v), ["amount.value"], "{bad:?}");
        }
        let mut v = example();
        v["amount"]["value"] = json!(125000);
        let a = parse_alert(&v, now()).unwrap();
        assert_eq!(a.amount.unwrap().value.to_string(), "125000.00");
    }

    #[test]
    fn control_characters_are_refused_everywhere() {
        for bad in ["a\u{0}b", "a\u{85}b", "a\u{9b}", "a\u{7f}", "a\nb"] {
            let mut v = example();
            v["attributes"] = json!({"channel": bad});
            assert_eq!(fields(&v), ["attributes.channel"], "{bad:?}");
            let mut v = example();
            v["attributes"] = json!({format!("k{bad}"): "x"});
            assert_eq!(fields(&v).len(), 1, "{bad:?}");
            assert!(
                fields(&v)[0].starts_with("attributes[\""),
                "{:?}",
                fields(&v)
            );
            let mut v = example();
            v["customer"]["name"] = json!(bad);
            assert_eq!(fields(&v), ["customer.name"], "{bad:?}");
        }
    }

    #[test]
    fn look_alike_identifiers_are_refused() {
        for (path, bad) in [
            ("external_id", "eng-\u{202e}321"),
            ("customer.external_id", "C-100\u{200b}234"),
            ("transaction_ref", "TX\u{2066}1"),
            ("customer.name", "Wang\u{202e}Wei"),
            ("attributes.device_id", "d-91ab\u{feff}"),
            ("customer.external_id", "C 100234"),
        ] {
            let mut v = example();
            let mut at = &mut v;
            for part in path.split('.') {
                at = &mut at[part];
            }
            *at = json!(bad);
            assert_eq!(fields(&v), [path], "{bad:?}");
        }
    }

    #[test]
    fn occurred_at_lies_in_a_sane_window() {
        for bad in [
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "1999-12-31T23:59:59Z",
            "2026-11-25T01:00:01Z",
        ] {
            let mut v = example();
            v["occurred_at"] = json!(bad);
            assert_eq!(fields(&v), ["occurred_at"], "{bad}");
        }
        for ok in [
            "2000-01-01T00:00:00Z",
            "2026-11-25T01:00:00Z",
            "2026-11-25T09:00:00+08:00",
        ] {
            let mut v = example();
            v["occurred_at"] = json!(ok);
            assert!(parse_alert(&v, now()).is_ok(), "{ok}");
        }
    }

    #[test]
    fn a_batch_item_is_named_by_its_place() {
        let mut v = example();
        v["customer"]["external_id"] = json!("");
        let p = parse_alert_at(&v, &Path::named("alerts").index(3), now()).unwrap_err();
        assert_eq!(p[0].field, "alerts[3].customer.external_id");
    }

    #[test]
    fn the_description_is_what_the_parser_reads() {
        input::assert_schema_is_parser::<AlertBody>();
        input::assert_schema_is_parser::<CustomerBody>();
        input::assert_schema_is_parser::<AmountBody>();
    }
}
