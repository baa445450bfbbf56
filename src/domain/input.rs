// Reading JSON input into the desk's typed values: every problem is named by its JSON
// path and all are reported at once; each value type carries its own OpenAPI schema,
// built from the same rules its parser checks, so the description is the parser.

use chrono::{DateTime, Timelike, Utc};
use serde_json::{Map, Value};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::{PartialSchema, ToSchema};

use super::money::Decimal;
use super::text::TextRule;
use super::{FieldProblem, ProblemText};
use crate::i18n::tkey;

/// The OpenAPI schema builders, for the description's parts built by hand.
pub mod oas {
    pub use utoipa::openapi::RefOr;
    pub use utoipa::openapi::schema::{
        AdditionalProperties, AllOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder,
        Schema, SchemaFormat, SchemaType, Type,
    };
}

/// How the whole body is named in a problem's `field`.
pub const BODY: &str = "(body)";

/// Where a value stands in the body: `customer.external_id`, `alerts[3].rule`,
/// `attributes["a.b"]`; the whole body is [`BODY`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    /// The whole body.
    pub fn root() -> Path {
        Path(String::new())
    }

    /// A path that starts at `name` (a member of the body, or a query parameter).
    pub fn named(name: &str) -> Path {
        Path::root().key(name)
    }

    /// The member `key` of the object here.
    pub fn key(&self, key: &str) -> Path {
        let plain = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let mut p = self.0.clone();
        if plain {
            if !p.is_empty() {
                p.push('.');
            }
            p.push_str(key);
        } else {
            p.push('[');
            p.push_str(&serde_json::to_string(key).unwrap_or_default());
            p.push(']');
        }
        Path(p)
    }

    /// The item `i` of the list here.
    pub fn index(&self, i: usize) -> Path {
        Path(format!("{}[{i}]", self.0))
    }

    /// The path as a problem names it.
    pub fn name(&self) -> String {
        if self.0.is_empty() {
            BODY.to_string()
        } else {
            self.0.clone()
        }
    }
}

/// The problems found so far.
pub type Problems = Vec<FieldProblem>;

/// Records that the value at `at` is wrong, as the catalog's `key` with `args`.
pub fn problem(
    problems: &mut Problems,
    at: &Path,
    key: &'static str,
    args: &[(&'static str, &str)],
) {
    problems.push(FieldProblem::text(at.name(), ProblemText::new(key, args)));
}

/// Records `text` as the problem of the value at `at`.
pub fn problem_text(problems: &mut Problems, at: &Path, text: ProblemText) {
    problems.push(FieldProblem::text(at.name(), text));
}

/// A value read from JSON at a path; what is wrong goes to `problems`.
pub trait FromJson: Sized {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self>;
}

/// Reads the whole body as a `T`.
pub fn read_body<T: FromJson>(v: &Value) -> Result<T, Problems> {
    let mut problems = Vec::new();
    match T::from_json(v, &Path::root(), &mut problems) {
        Some(t) if problems.is_empty() => Ok(t),
        _ => Err(problems),
    }
}

/// An object's members, read one by one. A member that is `null` counts as left
/// out; members the reader does not ask for are ignored.
pub struct Object<'a> {
    map: &'a Map<String, Value>,
    at: Path,
}

impl<'a> Object<'a> {
    /// The object at `at`, or a problem when the value is not one.
    pub fn of(v: &'a Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        match v {
            Value::Object(map) => Some(Object {
                map,
                at: at.clone(),
            }),
            _ => {
                problem(problems, at, tkey("input.error.object"), &[]);
                None
            }
        }
    }

    /// Every member, as given.
    pub fn members(&self) -> &'a Map<String, Value> {
        self.map
    }

    pub fn path(&self, key: &str) -> Path {
        self.at.key(key)
    }

    /// The member `key`, unless it is left out or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A member that must be given (not null).
    pub fn required<T: FromJson>(&self, key: &str, problems: &mut Problems) -> Option<T> {
        match self.get(key) {
            Some(v) => T::from_json(v, &self.path(key), problems),
            None => {
                problem(problems, &self.path(key), tkey("input.error.required"), &[]);
                None
            }
        }
    }

    /// A member that may be left out or null.
    pub fn optional<T: FromJson>(&self, key: &str, problems: &mut Problems) -> Option<T> {
        self.get(key)
            .and_then(|v| T::from_json(v, &self.path(key), problems))
    }
}

/// A string at `at`, or a problem when the value is not one.
pub fn string<'v>(v: &'v Value, at: &Path, problems: &mut Problems) -> Option<&'v str> {
    match v {
        Value::String(s) => Some(s),
        _ => {
            problem(problems, at, tkey("input.error.string"), &[]);
            None
        }
    }
}

impl FromJson for bool {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(*b),
            _ => {
                problem(problems, at, tkey("input.error.boolean"), &[]);
                None
            }
        }
    }
}

impl FromJson for super::Severity {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        let s = string(v, at, problems)?;
        super::Severity::check(s)
            .map_err(|t| problem_text(problems, at, t))
            .ok()
    }
}

impl PartialSchema for super::Severity {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(super::Severity::ALL.iter().map(|s| s.as_str())))
            .description(Some("low, medium, high or critical"))
            .into()
    }
}

impl ToSchema for super::Severity {}

/// A JSON number that is a whole number (`480`, or `480.0`, which JSON Schema also
/// counts as an integer) exactly, within ±2^53.
pub fn whole_number(v: &Value) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_991.0;
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

/// A string type whose values follow a [`TextRule`], and maybe a further check with
/// a pattern of its own that replaces the rule's in the description.
macro_rules! text_type {
    (
        $(#[$doc:meta])*
        $name:ident, $rule:expr, example = $example:expr
        $(, pattern = $pattern:expr)?
        $(, format = $format:expr)?
        $(, refine = $refine:expr)?
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const RULE: $crate::domain::text::TextRule = $rule;

            /// Checks `s`; what is wrong as a catalog key.
            pub fn check(s: &str) -> Result<$name, $crate::domain::ProblemText> {
                Self::RULE.check(s)?;
                $( ($refine)(s)?; )?
                Ok($name(s.to_string()))
            }

            /// The description's pattern of the value.
            pub fn pattern() -> String {
                #[allow(unused_mut, unused_assignments)]
                let mut p = Self::RULE.pattern();
                $( p = ($pattern).to_string(); )?
                p
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl $crate::domain::input::FromJson for $name {
            fn from_json(
                v: &serde_json::Value,
                at: &$crate::domain::input::Path,
                problems: &mut $crate::domain::input::Problems,
            ) -> Option<Self> {
                let s = $crate::domain::input::string(v, at, problems)?;
                match $name::check(s) {
                    Ok(t) => Some(t),
                    Err(text) => {
                        $crate::domain::input::problem_text(problems, at, text);
                        None
                    }
                }
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let doc = [$(stringify!($doc)),*]
                    .iter()
                    .map(|d| $crate::domain::input::doc_text(d))
                    .collect::<Vec<_>>()
                    .join(" ");
                #[allow(unused_mut)]
                let mut b = utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(doc))
                    .min_length((Self::RULE.min > 0).then_some(Self::RULE.min))
                    .max_length(Some(Self::RULE.max))
                    .pattern(Some(Self::pattern()))
                    .examples([serde_json::Value::from($example)]);
                $( b = b.format(Some($format)); )?
                b.into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// The text of a `doc = "…"` attribute as `stringify!` gives it.
pub fn doc_text(attr: &str) -> String {
    let inner = attr
        .trim()
        .strip_prefix("doc")
        .map(str::trim_start)
        .and_then(|s| s.strip_prefix('='))
        .map(str::trim)
        .unwrap_or(attr);
    if let Some(raw) = inner.strip_prefix('r') {
        let raw = raw.trim_matches('#');
        return raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw)
            .trim()
            .to_string();
    }
    serde_json::from_str::<String>(inner)
        .unwrap_or_else(|_| inner.trim_matches('"').to_string())
        .trim()
        .to_string()
}

pub(crate) use text_type;

text_type! {
    /// An identifier the risk engine gives (an alert's or a customer's id): 1 to 200
    /// characters, no spaces, control characters, or invisible and
    /// direction-changing characters.
    ExternalId, TextRule::identifier(200), example = "eng-7f3a-000123"
}

text_type! {
    /// A reference such as a transaction's: 1 to 200 characters, no spaces, control
    /// characters, or invisible and direction-changing characters.
    Reference, TextRule::identifier(200), example = "TX-20261124-88812"
}

text_type! {
    /// A rule's code: 1 to 64 ASCII letters, digits, `_`, `-` and `.`.
    RuleCode, TextRule::identifier(64), example = "LARGE_TRANSFER",
    pattern = "^[A-Za-z0-9_.-]+$",
    refine = |s: &str| {
        if s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            Ok(())
        } else {
            Err(ProblemText::new(tkey("input.error.rule_code"), &[("text", s)]))
        }
    }
}

text_type! {
    /// A person's name: 1 to 200 characters; spaces only between other characters;
    /// no control characters, or invisible and direction-changing characters.
    PersonName, TextRule::name(200), example = "王伟"
}

text_type! {
    /// An e-mail address: up to 254 characters, no spaces, control characters, or
    /// invisible and direction-changing characters.
    EmailAddress, TextRule::identifier(254), example = "wei@example.com",
    format = SchemaFormat::Custom("email".into()),
    refine = |s: &str| {
        super::Email::parse(s)
            .map(|_| ())
            .map_err(|_| ProblemText::new(tkey("input.error.email"), &[]))
    }
}

/// The phone pattern: 5 to 20 digits, with `+ - ( )` anywhere and spaces between
/// the other characters.
pub const PHONE_PATTERN: &str =
    "^(?:[+()-][+() -]*)?[0-9](?:[+() -]*[0-9]){4,19}(?:[+() -]*[+()-])?$";

fn check_phone(s: &str) -> Result<(), ProblemText> {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let chars_ok = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
    if chars_ok && (5..=20).contains(&digits) {
        Ok(())
    } else {
        Err(ProblemText::new(tkey("input.error.phone"), &[]))
    }
}

text_type! {
    /// A phone number: 5 to 20 digits, with `+ - ( )` and spaces between them, up
    /// to 32 characters.
    Phone, TextRule::name(32), example = "+8613800138000",
    pattern = PHONE_PATTERN,
    refine = check_phone
}

text_type! {
    /// A language tag: 1 to 35 ASCII letters, digits, `-` and `_`.
    Locale, TextRule::identifier(35), example = "zh-CN",
    pattern = "^[A-Za-z0-9_-]+$",
    refine = |s: &str| {
        if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            Ok(())
        } else {
            Err(ProblemText::new(tkey("input.error.locale"), &[("text", s)]))
        }
    }
}

text_type! {
    /// A currency: three capital letters (ISO 4217).
    Currency, TextRule::identifier(3), example = "CNY",
    pattern = "^[A-Z]{3}$",
    refine = |s: &str| {
        super::money::check_currency(s).map(|_| ())
    }
}

text_type! {
    /// The name of an attribute: 1 to 64 characters, no spaces, control characters,
    /// or invisible and direction-changing characters.
    AttributeKey, TextRule::identifier(64), example = "device_id"
}

text_type! {
    /// The value of an attribute: up to 1000 characters; spaces only between other
    /// characters; no control characters, or invisible and direction-changing
    /// characters.
    AttributeValue, TextRule::text(1000), example = "d-91ab"
}

/// An IANA time-zone name such as `Asia/Shanghai`, exactly as the tz database
/// spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone(pub chrono_tz::Tz);

impl TimeZone {
    pub fn check(s: &str) -> Result<TimeZone, ProblemText> {
        s.parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| ProblemText::new(tkey("input.error.timezone"), &[("text", s)]))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl FromJson for TimeZone {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        let s = string(v, at, problems)?;
        TimeZone::check(s)
            .map_err(|t| problem_text(problems, at, t))
            .ok()
    }
}

impl PartialSchema for TimeZone {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An IANA time-zone name, as the tz database spells it"))
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
            .examples([Value::from("Asia/Shanghai")])
            .into()
    }
}

impl ToSchema for TimeZone {}

/// The pattern of an RFC 3339 instant as the desk reads it: seconds required, up to
/// nine decimals, `T` and `Z` in capitals, an offset of hours and minutes.
pub const TIME_PATTERN: &str = "^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:[.][0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$";

/// The pattern of a calendar date: `YYYY-MM-DD`.
pub const DATE_PATTERN: &str = "^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$";

/// An instant written in RFC 3339, such as `2026-11-24T09:15:00+08:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

fn matches_time_shape(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(b.len() >= 20
        && digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && at(10, b'T')
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19))
    {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        let n = b[i + 1..].iter().take_while(|x| x.is_ascii_digit()).count();
        if !(1..=9).contains(&n) {
            return false;
        }
        i += 1 + n;
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            b.len() == i + 6 && digits(i + 1..i + 3) && at(i + 3, b':') && digits(i + 4..i + 6)
        }
        _ => false,
    }
}

impl Timestamp {
    pub fn check(s: &str) -> Result<Timestamp, ProblemText> {
        let bad = || ProblemText::new(tkey("input.error.time"), &[]);
        if !matches_time_shape(s) {
            return Err(bad());
        }
        let t = DateTime::parse_from_rfc3339(s).map_err(|_| bad())?;
        // A leap second (:60) is not an instant the desk can keep.
        if t.nanosecond() >= 1_000_000_000 {
            return Err(bad());
        }
        Ok(Timestamp(t.with_timezone(&Utc)))
    }
}

impl FromJson for Timestamp {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        let s = string(v, at, problems)?;
        Timestamp::check(s)
            .map_err(|t| problem_text(problems, at, t))
            .ok()
    }
}

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .pattern(Some(TIME_PATTERN))
            .description(Some(
                "An RFC 3339 instant with seconds and an offset: 2026-11-24T09:15:00+08:00, \
                 2026-11-24T01:15:00.5Z",
            ))
            .examples([Value::from("2026-11-24T09:15:00+08:00")])
            .into()
    }
}

impl ToSchema for Timestamp {}

/// The canonical decimal pattern of an amount: no sign, no spaces, no exponent, no
/// leading zeros, up to 18 digits before the point and 6 after it.
pub const AMOUNT_PATTERN: &str = "^(?:0|[1-9][0-9]{0,17})(?:[.][0-9]{1,6})?$";

/// The largest amount given as a JSON number: 2^53 − 1, the last whole number every
/// JSON parser keeps exactly.
pub const MAX_WHOLE_AMOUNT: i64 = 9_007_199_254_740_991;

/// A money amount: a canonical decimal string (`"125000.00"`), or a whole JSON
/// number from 0 to 2^53 − 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountValue(pub Decimal);

fn canonical_amount(s: &str) -> bool {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let int_ok = !int.is_empty()
        && int.len() <= 18
        && int.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'));
    let frac_ok =
        frac.is_none_or(|f| (1..=6).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()));
    int_ok && frac_ok
}

impl AmountValue {
    pub fn check(v: &Value) -> Result<AmountValue, ProblemText> {
        let bad = || ProblemText::new(tkey("input.error.amount"), &[]);
        match v {
            Value::String(s) if canonical_amount(s) => {
                Decimal::check(s).map(AmountValue).map_err(|_| bad())
            }
            Value::Number(_) => match whole_number(v) {
                Some(n) if (0..=MAX_WHOLE_AMOUNT).contains(&n) => n
                    .to_string()
                    .parse::<Decimal>()
                    .map(AmountValue)
                    .map_err(|_| bad()),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

impl FromJson for AmountValue {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        AmountValue::check(v)
            .map_err(|t| problem_text(problems, at, t))
            .ok()
    }
}

impl PartialSchema for AmountValue {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(AMOUNT_PATTERN))
                    .description(Some(
                        "A decimal string: no sign, spaces or exponent, no leading zeros, \
                         at most 18 digits before the point and 6 after it",
                    ))
                    .examples([Value::from("125000.00")]),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .maximum(Some(MAX_WHOLE_AMOUNT))
                    .description(Some(
                        "A whole amount as a JSON number (fractions must be sent as strings)",
                    )),
            )
            .description(Some(
                "An amount, never negative: a decimal string such as \"125000.00\", or a \
                 whole JSON number",
            ))
            .into()
    }
}

impl ToSchema for AmountValue {}

/// A whole number within `MIN..=MAX` (a JSON number, which may be written `480.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded<const MIN: i64, const MAX: i64>(pub i64);

impl<const MIN: i64, const MAX: i64> Bounded<MIN, MAX> {
    pub fn problem() -> ProblemText {
        ProblemText::new(
            tkey("input.error.integer"),
            &[("min", &MIN.to_string()), ("max", &MAX.to_string())],
        )
    }

    /// Parses a query parameter's text: digits only, no sign, spaces or leading zeros.
    pub fn from_text(s: &str) -> Result<Self, ProblemText> {
        let canonical = !s.is_empty()
            && s.len() <= 19
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        match s.parse::<i64>() {
            Ok(n) if canonical && (MIN..=MAX).contains(&n) => Ok(Bounded(n)),
            _ => Err(Self::problem()),
        }
    }

    pub fn schema_with(description: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(MIN))
            .maximum(Some(MAX))
            .description(Some(description))
    }
}

impl<const MIN: i64, const MAX: i64> FromJson for Bounded<MIN, MAX> {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        match whole_number(v) {
            Some(n) if (MIN..=MAX).contains(&n) => Some(Bounded(n)),
            _ => {
                problem_text(problems, at, Self::problem());
                None
            }
        }
    }
}

/// A list of `T`, each read at its index.
impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        let Value::Array(items) = v else {
            problem(problems, at, tkey("input.error.array"), &[]);
            return None;
        };
        let before = problems.len();
        let out: Vec<T> = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| T::from_json(item, &at.index(i), problems))
            .collect();
        (problems.len() == before).then_some(out)
    }
}

/// A list schema of `T` with at most `max` items.
pub fn list_of<T: ToSchema>(max: Option<usize>) -> ArrayBuilder {
    ArrayBuilder::new().items(T::schema()).max_items(max)
}

/// Checks that the description of `T` says what its parser does: the members the
/// schema requires are exactly those the parser reports missing in `{}`; every
/// member the schema names is read by the parser (a wrong type is named); and a
/// member is nullable in the schema exactly when the parser takes null for it.
#[cfg(test)]
pub fn assert_schema_is_parser<T: ToSchema + FromJson>() {
    use std::collections::BTreeSet;
    let schema = serde_json::to_value(T::schema()).unwrap();
    let name = T::name();
    let required: BTreeSet<String> = schema["required"]
        .as_array()
        .map(|r| r.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    let mut p = Vec::new();
    T::from_json(&serde_json::json!({}), &Path::root(), &mut p);
    let missing: BTreeSet<String> = p.iter().map(|x| x.field.clone()).collect();
    assert_eq!(missing, required, "{name}: required members");
    let props = schema["properties"].as_object().expect("an object schema");
    for (prop, sub) in props {
        let mut p = Vec::new();
        T::from_json(&serde_json::json!({ prop: [[]] }), &Path::root(), &mut p);
        assert!(
            p.iter().any(|x| &x.field == prop),
            "{name}: the parser does not read '{prop}'"
        );
        let mut p = Vec::new();
        T::from_json(&serde_json::json!({ prop: null }), &Path::root(), &mut p);
        let takes_null = !p.iter().any(|x| &x.field == prop);
        let nullable = sub["oneOf"]
            .as_array()
            .is_some_and(|o| o.iter().any(|x| x["type"] == "null"))
            || sub["type"]
                .as_array()
                .is_some_and(|t| t.iter().any(|x| x == "null"));
        assert_eq!(takes_null, nullable, "{name}: '{prop}' nullable");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn paths_name_what_is_wrong() {
        let root = Path::root();
        assert_eq!(root.name(), "(body)");
        assert_eq!(
            root.key("alerts")
                .index(3)
                .key("customer")
                .key("external_id")
                .name(),
            "alerts[3].customer.external_id"
        );
        assert_eq!(
            root.key("attributes").key("a.b").name(),
            "attributes[\"a.b\"]"
        );
        assert_eq!(root.key("attributes").key("").name(), "attributes[\"\"]");
    }

    #[test]
    fn amounts_are_canonical_decimals_or_whole_numbers() {
        for ok in [
            "0",
            "0.5",
            "125000.00",
            "125000",
            "999999999999999999.999999",
        ] {
            assert!(AmountValue::check(&json!(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "  1",
            "1 ",
            "+1",
            "-1",
            "1e5",
            "01",
            "00.5",
            ".5",
            "1.",
            "1.0000001",
            "1,000.00",
            "",
            "1_000",
            "9999999999999999999",
            "１",
        ] {
            assert!(AmountValue::check(&json!(bad)).is_err(), "{bad:?}");
        }
        assert_eq!(
            AmountValue::check(&json!(125000)).unwrap().0.to_string(),
            "125000.00"
        );
        assert_eq!(
            AmountValue::check(&json!(1e5)).unwrap().0.to_string(),
            "100000.00"
        );
        for bad in [
            json!(-1),
            json!(0.5),
            json!(9007199254740992u64),
            json!(true),
            json!(null),
        ] {
            assert!(AmountValue::check(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_strict_rfc3339() {
        for ok in [
            "2026-11-24T09:15:00+08:00",
            "2026-11-24T01:15:00Z",
            "2026-11-24T01:15:00.123456789Z",
            "2026-11-24T01:15:00-00:30",
        ] {
            assert!(Timestamp::check(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2026-11-24 09:15:00Z",
            "2026-11-24t09:15:00Z",
            "2026-11-24T09:15:00z",
            "2026-11-24T09:15Z",
            "2026-11-24T09:15:00",
            "2026-11-24T23:59:60Z",
            "2026-02-30T09:15:00Z",
            " 2026-11-24T09:15:00Z",
            "2026-11-24T09:15:00.Z",
            "2026-11-24T09:15:00.1234567890Z",
            "2026-11-24T09:15:00+0800",
            "+2026-11-24T09:15:00Z",
        ] {
            assert!(Timestamp::check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounded_numbers_from_json_and_from_query_text() {
        type Limit = Bounded<1, 500>;
        assert_eq!(Limit::from_text("100").unwrap().0, 100);
        for bad in [
            "abc",
            "-1",
            "0",
            "501",
            "100000",
            "",
            " 5",
            "+5",
            "05",
            "1.0",
            "99999999999999999999",
        ] {
            assert!(Limit::from_text(bad).is_err(), "{bad:?}");
        }
        let mut p = Vec::new();
        assert_eq!(
            Limit::from_json(&json!(480.0), &Path::root(), &mut p),
            Some(Bounded(480))
        );
        assert_eq!(
            Limit::from_json(&json!(1.5), &Path::named("limit"), &mut p),
            None
        );
        assert_eq!(p[0].field, "limit");
    }

    #[test]
    fn objects_name_the_members_they_miss() {
        let v = json!({"a": null, "b": 3});
        let mut p = Vec::new();
        let o = Object::of(&v, &Path::root(), &mut p).unwrap();
        assert_eq!(o.required::<bool>("a", &mut p), None);
        assert_eq!(o.optional::<bool>("a", &mut p), None);
        assert_eq!(o.optional::<bool>("b", &mut p), None);
        let fields: Vec<&str> = p.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["a", "b"]);
        assert!(Object::of(&json!([1]), &Path::root(), &mut p).is_none());
        assert_eq!(p.last().unwrap().field, "(body)");
    }

    fn matches(pattern: &str, s: &str) -> bool {
        regex_lite::Regex::new(pattern).unwrap().is_match(s)
    }

    proptest! {
        #[test]
        fn the_phone_pattern_says_what_the_check_does(s in "[0-9 +()a-]{0,34}") {
            let by_check = Phone::check(&s).is_ok();
            let by_schema = matches(&Phone::pattern(), &s) && s.chars().count() <= 32;
            prop_assert_eq!(by_check, by_schema, "{:?}", s);
        }

        #[test]
        fn the_amount_pattern_says_what_the_check_does(s in "[-+0-9. e]{0,28}") {
            let by_check = AmountValue::check(&json!(s)).is_ok();
            prop_assert_eq!(by_check, matches(AMOUNT_PATTERN, &s), "{:?}", s);
        }

        #[test]
        fn the_time_pattern_is_the_shape_the_check_reads(
            s in "[0-9]{4}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,10})?(Z|z|[+-][0-2][0-9]:?[0-6][0-9])?"
        ) {
            let by_check = Timestamp::check(&s).is_ok();
            let by_schema = matches(TIME_PATTERN, &s);
            // The check is the pattern and a real calendar date.
            let date_ok = chrono::NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").is_ok();
            prop_assert_eq!(by_check, by_schema && date_ok, "{:?}", s);
        }

        #[test]
        fn rule_codes_and_locales_follow_their_patterns(s in "[A-Za-z0-9_.\\- é]{0,70}") {
            prop_assert_eq!(RuleCode::check(&s).is_ok(),
                matches(&RuleCode::pattern(), &s) && s.chars().count() <= 64, "{:?}", s);
            prop_assert_eq!(Locale::check(&s).is_ok(),
                matches(&Locale::pattern(), &s) && s.chars().count() <= 35, "{:?}", s);
        }
    }
}
