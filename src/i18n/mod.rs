// The translation layer: every word of the interface is a key looked up in the
// English or Simplified Chinese catalog; both must hold every key.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::domain::Lang;

pub mod events;

/// Each language's catalog, in parts by area of the interface; a key may appear in
/// one part only.
const EN: &[(&str, &str)] = &[
    ("en.toml", include_str!("en.toml")),
    ("workspace.en.toml", include_str!("workspace.en.toml")),
    ("mail.en.toml", include_str!("mail.en.toml")),
    (
        "conversations.en.toml",
        include_str!("conversations.en.toml"),
    ),
    ("casepage.en.toml", include_str!("casepage.en.toml")),
    ("board.en.toml", include_str!("board.en.toml")),
    ("reports.en.toml", include_str!("reports.en.toml")),
    ("lifecycle.en.toml", include_str!("lifecycle.en.toml")),
    ("campaign.en.toml", include_str!("campaign.en.toml")),
    ("bulk.en.toml", include_str!("bulk.en.toml")),
    (
        "admin_campaigns.en.toml",
        include_str!("admin_campaigns.en.toml"),
    ),
    ("search.en.toml", include_str!("search.en.toml")),
    ("webhooks.en.toml", include_str!("webhooks.en.toml")),
    ("snooze.en.toml", include_str!("snooze.en.toml")),
    ("self_release.en.toml", include_str!("self_release.en.toml")),
    ("aml_report.en.toml", include_str!("aml_report.en.toml")),
    ("oncall.en.toml", include_str!("oncall.en.toml")),
    (
        "notifications.en.toml",
        include_str!("notifications.en.toml"),
    ),
    ("emergency.en.toml", include_str!("emergency.en.toml")),
    ("setup.en.toml", include_str!("setup.en.toml")),
    (
        "config_errors.en.toml",
        include_str!("config_errors.en.toml"),
    ),
    ("layout.en.toml", include_str!("layout.en.toml")),
    ("security.en.toml", include_str!("security.en.toml")),
    ("mfa.en.toml", include_str!("mfa.en.toml")),
    ("directory.en.toml", include_str!("directory.en.toml")),
    ("apikeys.en.toml", include_str!("apikeys.en.toml")),
    ("input.en.toml", include_str!("input.en.toml")),
    ("replies.en.toml", include_str!("replies.en.toml")),
    ("knowledge.en.toml", include_str!("knowledge.en.toml")),
];
const ZH_CN: &[(&str, &str)] = &[
    ("zh-CN.toml", include_str!("zh-CN.toml")),
    ("workspace.zh-CN.toml", include_str!("workspace.zh-CN.toml")),
    ("mail.zh-CN.toml", include_str!("mail.zh-CN.toml")),
    (
        "conversations.zh-CN.toml",
        include_str!("conversations.zh-CN.toml"),
    ),
    ("casepage.zh-CN.toml", include_str!("casepage.zh-CN.toml")),
    ("board.zh-CN.toml", include_str!("board.zh-CN.toml")),
    ("reports.zh-CN.toml", include_str!("reports.zh-CN.toml")),
    ("lifecycle.zh-CN.toml", include_str!("lifecycle.zh-CN.toml")),
    ("campaign.zh-CN.toml", include_str!("campaign.zh-CN.toml")),
    ("bulk.zh-CN.toml", include_str!("bulk.zh-CN.toml")),
    (
        "admin_campaigns.zh-CN.toml",
        include_str!("admin_campaigns.zh-CN.toml"),
    ),
    ("search.zh-CN.toml", include_str!("search.zh-CN.toml")),
    ("webhooks.zh-CN.toml", include_str!("webhooks.zh-CN.toml")),
    ("snooze.zh-CN.toml", include_str!("snooze.zh-CN.toml")),
    (
        "self_release.zh-CN.toml",
        include_str!("self_release.zh-CN.toml"),
    ),
    (
        "aml_report.zh-CN.toml",
        include_str!("aml_report.zh-CN.toml"),
    ),
    ("oncall.zh-CN.toml", include_str!("oncall.zh-CN.toml")),
    (
        "notifications.zh-CN.toml",
        include_str!("notifications.zh-CN.toml"),
    ),
    ("emergency.zh-CN.toml", include_str!("emergency.zh-CN.toml")),
    ("setup.zh-CN.toml", include_str!("setup.zh-CN.toml")),
    (
        "config_errors.zh-CN.toml",
        include_str!("config_errors.zh-CN.toml"),
    ),
    ("layout.zh-CN.toml", include_str!("layout.zh-CN.toml")),
    ("security.zh-CN.toml", include_str!("security.zh-CN.toml")),
    ("mfa.zh-CN.toml", include_str!("mfa.zh-CN.toml")),
    ("directory.zh-CN.toml", include_str!("directory.zh-CN.toml")),
    ("apikeys.zh-CN.toml", include_str!("apikeys.zh-CN.toml")),
    ("input.zh-CN.toml", include_str!("input.zh-CN.toml")),
    ("replies.zh-CN.toml", include_str!("replies.zh-CN.toml")),
    ("knowledge.zh-CN.toml", include_str!("knowledge.zh-CN.toml")),
];

type Catalog = HashMap<String, String>;

fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalog) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => panic!("catalog entry {key} is not text: {other}"),
        }
    }
}

fn parse(parts: &[(&str, &str)]) -> Catalog {
    let mut out = Catalog::new();
    for (name, src) in parts {
        let table: toml::Table = src
            .parse()
            .unwrap_or_else(|e| panic!("catalog {name} does not parse: {e}"));
        let mut part = Catalog::new();
        flatten("", &table, &mut part);
        for (k, v) in part {
            if out.insert(k.clone(), v).is_some() {
                panic!("catalog key {k} appears twice (again in {name})");
            }
        }
    }
    out
}

fn catalog(lang: Lang) -> &'static Catalog {
    static CATALOGS: OnceLock<[Catalog; 2]> = OnceLock::new();
    let all = CATALOGS.get_or_init(|| [parse(EN), parse(ZH_CN)]);
    match lang {
        Lang::En => &all[0],
        Lang::ZhCn => &all[1],
    }
}

/// A translator for one language.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Tr { lang }
    }

    /// The text for `key`; a missing key shows itself (and the catalog test fails).
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        match catalog(self.lang).get(key) {
            Some(s) => s.as_str(),
            None => {
                tracing::warn!(key, lang = self.lang.code(), "missing translation");
                key
            }
        }
    }

    /// The text for `key`, if the catalog has it.
    pub fn get(&self, key: &str) -> Option<&'static str> {
        catalog(self.lang).get(key).map(String::as_str)
    }

    /// The text for `key` with each `{name}` replaced by its value.
    /// One pass over the text: a value is never searched for further names, and a
    /// `{…}` that names no argument stays as it is.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        fill(self.t(key), args)
    }
}

/// `text` with each `{name}` of `args` replaced by its value, in one pass.
fn fill(text: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            args.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (close, *v))
        });
        match value {
            Some((close, v)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Marks a literal as a catalog key where the text is looked up later (flash
/// messages, labels chosen at run time), so the catalog test sees it.
pub const fn tkey(key: &'static str) -> &'static str {
    key
}

/// Every key of a language's catalog (for tests and tools).
pub fn keys(lang: Lang) -> Vec<&'static str> {
    let mut k: Vec<&'static str> = catalog(lang).keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_each_named_placeholder_once_and_leaves_the_rest() {
        assert_eq!(
            fill("{a} and {b}, {a} again", &[("a", "1"), ("b", "2")]),
            "1 and 2, 1 again"
        );
        // A value is not searched again for names.
        assert_eq!(fill("{a}{b}", &[("a", "{b}"), ("b", "x")]), "{b}x");
        // Unknown names, stray and unclosed braces stay.
        assert_eq!(fill("{c} { {a", &[("a", "1")]), "{c} { {a");
        assert_eq!(fill("100%", &[]), "100%");
        assert_eq!(fill("{a}", &[("a", "中文")]), "中文");
    }
    use std::collections::BTreeSet;
    use std::path::Path;

    #[test]
    fn catalogs_hold_the_same_keys() {
        let en: BTreeSet<_> = keys(Lang::En).into_iter().collect();
        let zh: BTreeSet<_> = keys(Lang::ZhCn).into_iter().collect();
        let only_en: Vec<_> = en.difference(&zh).collect();
        let only_zh: Vec<_> = zh.difference(&en).collect();
        assert!(only_en.is_empty(), "missing from zh-CN: {only_en:?}");
        assert!(only_zh.is_empty(), "missing from en: {only_zh:?}");
        for lang in Lang::ALL {
            for k in keys(lang) {
                assert!(
                    !catalog(lang)[k].trim().is_empty(),
                    "{k} is empty in {}",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn placeholders_match_between_languages() {
        let names = |s: &str| -> BTreeSet<String> {
            s.split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
                .collect()
        };
        for k in keys(Lang::En) {
            assert_eq!(
                names(&catalog(Lang::En)[k]),
                names(&catalog(Lang::ZhCn)[k]),
                "placeholders of {k} differ"
            );
        }
    }

    /// Finds every literal key passed to `t(`, `tf(` or `tkey(` in the templates
    /// and the Rust sources, and checks that both catalogs hold it.
    #[test]
    fn every_key_used_is_in_both_catalogs() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut used = BTreeSet::new();
        for dir in ["templates", "src"] {
            collect_keys(&root.join(dir), &mut used);
        }
        assert!(used.len() > 20, "too few keys found: {used:?}");
        let en: BTreeSet<_> = keys(Lang::En).into_iter().map(String::from).collect();
        let zh: BTreeSet<_> = keys(Lang::ZhCn).into_iter().map(String::from).collect();
        let missing: Vec<_> = used
            .iter()
            .filter(|k| !en.contains(*k) || !zh.contains(*k))
            .collect();
        assert!(
            missing.is_empty(),
            "keys used but not in both catalogs: {missing:?}"
        );
    }

    fn collect_keys(dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect_keys(&path, out);
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "rs" | "html" | "txt") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for marker in [
                "t(\"",
                "tf(\"",
                "tkey(\"",
                "\"flash.",
                "\"error.",
                "\"users.error.",
                "\"profile.",
                "\"password.",
            ] {
                let mut rest = text.as_str();
                while let Some(i) = rest.find(marker) {
                    let before = rest[..i].chars().last();
                    rest = &rest[i + marker.len()..];
                    // Only calls: `.t("` or ` t("`, not words ending in t.
                    if marker == "t(\"" && !matches!(before, Some('.') | Some(' ') | Some('(')) {
                        continue;
                    }
                    if let Some(end) = rest.find('"') {
                        let key = if let Some(ns) = marker.strip_prefix('"') {
                            format!("{ns}{}", &rest[..end])
                        } else {
                            rest[..end].to_string()
                        };
                        let key = key.as_str();
                        if key.ends_with(".html") || key.ends_with('.') {
                            continue;
                        }
                        if key.contains('.') && !key.contains(' ') && !key.contains('{') {
                            out.insert(key.to_string());
                        }
                    }
                }
            }
        }
    }
}
