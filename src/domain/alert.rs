// An alert as the risk engine posts it, parsed at the edge into validated values;
// every broken field is named, so the engine's developers can fix all at once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::FieldProblem;
use super::money::{Decimal, parse_currency};
use super::severity::Severity;
use super::{Lang, parse_timezone};

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

struct Fields<'a> {
    problems: Vec<FieldProblem>,
    obj: Option<&'a serde_json::Map<String, Value>>,
    prefix: &'static str,
}

impl<'a> Fields<'a> {
    fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn problem(&mut self, key: &str, message: impl Into<String>) {
        let field = self.name(key);
        self.problems.push(FieldProblem::new(field, message));
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.and_then(|o| o.get(key)).filter(|v| !v.is_null())
    }

    /// A string of 1..=max characters without control characters.
    fn text(&mut self, key: &str, required: bool, max: usize) -> Option<String> {
        match self.get(key) {
            None if required => {
                self.problem(key, "is required");
                None
            }
            None => None,
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    if required {
                        self.problem(key, "must not be empty");
                    }
                    None
                } else if s.chars().count() > max {
                    self.problem(key, format!("must be at most {max} characters"));
                    None
                } else if s.chars().any(char::is_control) {
                    self.problem(key, "must not contain control characters");
                    None
                } else {
                    Some(s.to_string())
                }
            }
            Some(_) => {
                self.problem(key, "must be a string");
                None
            }
        }
    }
}

fn object(v: Option<&Value>) -> Result<Option<&serde_json::Map<String, Value>>, &'static str> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err("must be an object"),
    }
}

/// Parses one alert. Unknown keys are ignored, so the engine may send more.
pub fn parse_alert(v: &Value) -> Result<NewAlert, Vec<FieldProblem>> {
    let Value::Object(obj) = v else {
        return Err(vec![FieldProblem::new(
            "",
            "the alert must be a JSON object",
        )]);
    };
    let mut f = Fields {
        problems: Vec::new(),
        obj: Some(obj),
        prefix: "",
    };
    let external_id = f.text("external_id", true, 200);
    let rule = f.text("rule", true, 64);
    if let Some(r) = &rule
        && !r
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        f.problem(
            "rule",
            format!("'{r}' may hold only letters, digits, _ - ."),
        );
    }
    let severity = f
        .text("severity", false, 16)
        .and_then(|s| match s.parse::<Severity>() {
            Ok(v) => Some(v),
            Err(e) => {
                f.problem("severity", e);
                None
            }
        });
    let occurred_at =
        f.text("occurred_at", false, 64)
            .and_then(|s| match DateTime::parse_from_rfc3339(&s) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(_) => {
                    f.problem(
                        "occurred_at",
                        format!("'{s}' is not an RFC 3339 time such as 2026-11-24T09:15:00+08:00"),
                    );
                    None
                }
            });
    let transaction_ref = f.text("transaction_ref", false, 200);

    // customer
    let customer = match object(obj.get("customer")) {
        Err(m) => {
            f.problem("customer", m);
            None
        }
        Ok(None) => {
            f.problem("customer.external_id", "is required");
            None
        }
        Ok(Some(c)) => {
            let mut cf = Fields {
                problems: Vec::new(),
                obj: Some(c),
                prefix: "customer.",
            };
            let external_id = cf.text("external_id", true, 200);
            let name = cf.text("name", false, 200);
            let email = cf.text("email", false, 254);
            if let Some(e) = &email
                && super::Email::parse(e).is_err()
            {
                // Personal data is never echoed back, not even in an error.
                cf.problem("email", "is not an e-mail address");
            }
            let phone = cf.text("phone", false, 32);
            if let Some(p) = &phone {
                let digits = p.chars().filter(char::is_ascii_digit).count();
                let ok_chars = p
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
                if !ok_chars || !(5..=20).contains(&digits) {
                    cf.problem(
                        "phone",
                        "is not a phone number (digits with + - ( ) and spaces)",
                    );
                }
            }
            let locale = cf.text("locale", false, 35);
            if let Some(l) = &locale
                && !l
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                cf.problem(
                    "locale",
                    format!("'{l}' is not a language tag such as zh-CN"),
                );
            }
            let timezone = cf.text("timezone", false, 64);
            if let Some(t) = &timezone
                && let Err(e) = parse_timezone(t)
            {
                cf.problem("timezone", e);
            }
            let do_not_contact = match cf.get("do_not_contact") {
                None => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => {
                    cf.problem("do_not_contact", "must be true or false");
                    None
                }
            };
            f.problems.append(&mut cf.problems);
            external_id.map(|external_id| CustomerInput {
                external_id,
                name,
                email,
                phone,
                locale: locale.map(|l| Lang::parse(&l).map(|x| x.code().to_string()).unwrap_or(l)),
                timezone,
                do_not_contact,
            })
        }
    };

    // amount
    let amount = match object(obj.get("amount")) {
        Err(m) => {
            f.problem("amount", m);
            None
        }
        Ok(None) => None,
        Ok(Some(a)) => {
            let mut af = Fields {
                problems: Vec::new(),
                obj: Some(a),
                prefix: "amount.",
            };
            let value = match af.get("value") {
                None => {
                    af.problem("value", "is required");
                    None
                }
                Some(Value::String(s)) => match s.parse::<Decimal>() {
                    Ok(d) if d.is_negative() => {
                        af.problem("value", "must not be negative");
                        None
                    }
                    Ok(d) => Some(d),
                    Err(e) => {
                        af.problem("value", e);
                        None
                    }
                },
                Some(_) => {
                    af.problem("value", "must be a decimal string such as \"125000.00\"");
                    None
                }
            };
            let currency = af
                .text("currency", true, 3)
                .and_then(|c| match parse_currency(&c) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        af.problem("currency", e);
                        None
                    }
                });
            f.problems.append(&mut af.problems);
            match (value, currency) {
                (Some(value), Some(currency)) => Some(Amount { value, currency }),
                _ => None,
            }
        }
    };

    // attributes
    let mut attributes = BTreeMap::new();
    match object(obj.get("attributes")) {
        Err(m) => f.problem("attributes", m),
        Ok(None) => {}
        Ok(Some(a)) => {
            if a.len() > MAX_ATTRIBUTES {
                f.problem(
                    "attributes",
                    format!("has {} keys; at most {MAX_ATTRIBUTES} are allowed", a.len()),
                );
            } else {
                for (k, v) in a {
                    let field = format!("attributes.{k}");
                    if k.is_empty() || k.chars().count() > 64 {
                        f.problem(&field, "keys must have 1 to 64 characters");
                        continue;
                    }
                    match v {
                        Value::String(s) if s.chars().count() <= 1000 => {
                            attributes.insert(k.clone(), s.clone());
                        }
                        Value::String(_) => f.problem(&field, "must be at most 1000 characters"),
                        _ => f.problem(
                            &field,
                            "must be a string (attributes are a flat map of strings)",
                        ),
                    }
                }
            }
        }
    }

    if !f.problems.is_empty() {
        return Err(f.problems);
    }
    Ok(NewAlert {
        external_id: external_id.expect("checked"),
        rule: rule.expect("checked"),
        severity,
        occurred_at,
        customer: customer.expect("checked"),
        amount,
        transaction_ref,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let a = parse_alert(&example()).unwrap();
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
            "amount": {"value": 125000, "currency": "yuan"},
            "attributes": {"ok": "fine", "n": 3}
        });
        let problems = parse_alert(&v).unwrap_err();
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
        let p = parse_alert(&v).unwrap_err();
        assert_eq!(p[0].field, "attributes");
    }
}
