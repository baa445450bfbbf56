// Directory sign-in rules, no I/O: the LDAP settings as checked at start-up, the
// search filter for an e-mail (RFC 4515 escaped) and the role a user's groups give.

use std::fmt;
use std::time::Duration;

use super::Role;

/// The default search for the user who signs in.
pub const DEFAULT_USER_FILTER: &str = "(mail={email})";

/// How long the directory has to accept a connection and to answer each operation.
pub const DIRECTORY_TIMEOUT: Duration = Duration::from_secs(5);

/// The directory's settings, checked.
#[derive(Clone)]
pub struct DirectorySettings {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// The service account that searches, with its password; None searches anonymously.
    pub bind: Option<(String, String)>,
    /// Where users are searched (the whole subtree).
    pub user_base: String,
    pub user_filter: UserFilter,
    pub role_groups: RoleGroups,
    /// Connection and per-operation timeout.
    pub timeout: Duration,
}

impl fmt::Debug for DirectorySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectorySettings")
            .field("url", &self.url)
            .field("bind_dn", &self.bind.as_ref().map(|(dn, _)| dn))
            .field("user_base", &self.user_base)
            .field("user_filter", &self.user_filter.0)
            .field("role_groups", &self.role_groups)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A problem with one of the directory settings: the flag and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    pub setting: &'static str,
    pub message: String,
}

impl fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

fn problem(setting: &'static str, message: impl Into<String>) -> SettingProblem {
    SettingProblem {
        setting,
        message: message.into(),
    }
}

/// The directory settings as given (flags or variables), unchecked.
#[derive(Debug, Clone, Default)]
pub struct DirectoryInput<'a> {
    pub url: Option<&'a str>,
    pub bind_dn: Option<&'a str>,
    pub bind_password: Option<&'a str>,
    pub user_base: Option<&'a str>,
    pub user_filter: Option<&'a str>,
    pub role_groups: Option<&'a str>,
}

impl DirectoryInput<'_> {
    /// The checked settings; None when no directory is configured (no URL and no
    /// other directory setting).
    pub fn check(&self) -> Result<Option<DirectorySettings>, SettingProblem> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|s| !s.is_empty())
        }
        let Some(url) = given(self.url) else {
            let others = [
                ("--ldap-bind-dn", self.bind_dn),
                ("--ldap-bind-password", self.bind_password),
                ("--ldap-user-base", self.user_base),
                ("--ldap-user-filter", self.user_filter),
                ("--ldap-role-groups", self.role_groups),
            ];
            if let Some((name, _)) = others.iter().find(|(_, v)| given(*v).is_some()) {
                return Err(problem(
                    name,
                    "is set but --ldap-url is not: give the directory's URL too",
                ));
            }
            return Ok(None);
        };
        let url = check_url(url)?;
        let bind = match (
            given(self.bind_dn),
            self.bind_password.filter(|p| !p.is_empty()),
        ) {
            (Some(dn), Some(pw)) => Some((dn.to_string(), pw.to_string())),
            (None, None) => None,
            (Some(_), None) => {
                return Err(problem(
                    "--ldap-bind-password",
                    "is missing: the service account of --ldap-bind-dn needs its password",
                ));
            }
            (None, Some(_)) => {
                return Err(problem(
                    "--ldap-bind-dn",
                    "is missing: --ldap-bind-password is set without the account it belongs to",
                ));
            }
        };
        let user_base = given(self.user_base).ok_or_else(|| {
            problem(
                "--ldap-user-base",
                "is missing: name the entry under which users are searched, such as ou=people,dc=bank,dc=example",
            )
        })?;
        if !user_base.contains('=') {
            return Err(problem(
                "--ldap-user-base",
                format!(
                    "'{user_base}' is not a distinguished name such as ou=people,dc=bank,dc=example"
                ),
            ));
        }
        let user_filter = UserFilter::parse(given(self.user_filter).unwrap_or(DEFAULT_USER_FILTER))
            .map_err(|m| problem("--ldap-user-filter", m))?;
        let role_groups = RoleGroups::parse(given(self.role_groups).ok_or_else(|| {
            problem(
                "--ldap-role-groups",
                "is missing: give at least one group, such as agent=cn=riskdesk-agents,ou=groups,dc=bank,dc=example",
            )
        })?)
        .map_err(|m| problem("--ldap-role-groups", m))?;
        Ok(Some(DirectorySettings {
            url,
            bind,
            user_base: user_base.to_string(),
            user_filter,
            role_groups,
            timeout: DIRECTORY_TIMEOUT,
        }))
    }
}

fn check_url(url: &str) -> Result<String, SettingProblem> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("ldap://")
        .or_else(|| lower.strip_prefix("ldaps://"));
    let Some(rest) = rest else {
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or(url);
        return Err(problem(
            "--ldap-url",
            format!("must start with ldap:// or ldaps://, not '{scheme}'"),
        ));
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || host.contains('@') {
        return Err(problem(
            "--ldap-url",
            "must name the directory's host, such as ldaps://ldap.bank.example",
        ));
    }
    if let Some((_, port)) = host.rsplit_once(':')
        && !host.ends_with(']')
        && port.parse::<u16>().is_err()
    {
        return Err(problem(
            "--ldap-url",
            format!("'{port}' is not a port number"),
        ));
    }
    Ok(url.to_string())
}

/// The search filter for the user who signs in, with `{email}` where the address goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFilter(String);

impl UserFilter {
    pub fn parse(template: &str) -> Result<Self, String> {
        let template = template.trim();
        if !template.contains("{email}") {
            return Err(format!(
                "'{template}' has no {{email}}: say where the address goes, such as (mail={{email}})"
            ));
        }
        let filter = UserFilter(template.to_string());
        if ldap3::parse_filter(filter.for_email("someone@bank.example")).is_err() {
            return Err(format!(
                "'{template}' is not an LDAP search filter, such as (mail={{email}}) or (&(objectClass=person)(userPrincipalName={{email}}))"
            ));
        }
        Ok(filter)
    }

    /// The filter for `email`, escaped (RFC 4515) so that no character of the
    /// address can change what the filter asks.
    pub fn for_email(&self, email: &str) -> String {
        self.0.replace("{email}", &escape_value(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A value escaped for an LDAP filter (RFC 4515): `*`, `(`, `)`, `\` and NUL
/// become `\2a`, `\28`, `\29`, `\5c` and `\00`.
pub fn escape_value(value: &str) -> String {
    ldap3::ldap_escape(value).into_owned()
}

/// The groups that give each role, highest role first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGroups(Vec<(Role, String)>);

impl RoleGroups {
    /// Parses `admin=<group DN>;supervisor=<group DN>;agent=<group DN>` (any of the
    /// three, each at most once).
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut groups: Vec<(Role, String)> = Vec::new();
        for part in input.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((role, dn)) = part.split_once('=') else {
                return Err(format!(
                    "'{part}' is not role=group DN, such as agent=cn=riskdesk-agents,ou=groups,dc=bank,dc=example"
                ));
            };
            let role: Role = role
                .trim()
                .parse()
                .map_err(|m| format!("{m} (in '{part}')"))?;
            let dn = dn.trim();
            if !dn.contains('=') {
                return Err(format!(
                    "the group of {role}, '{dn}', is not a distinguished name such as cn=riskdesk-agents,ou=groups,dc=bank,dc=example"
                ));
            }
            if groups.iter().any(|(r, _)| *r == role) {
                return Err(format!("{role} is given twice"));
            }
            groups.push((role, dn.to_string()));
        }
        if groups.is_empty() {
            return Err(
                "names no group: give role=group DN pairs separated by ';', such as agent=cn=riskdesk-agents,ou=groups,dc=bank,dc=example"
                    .into(),
            );
        }
        groups.sort_by_key(|(role, _)| std::cmp::Reverse(*role));
        Ok(RoleGroups(groups))
    }

    /// (role, group DN), highest role first.
    pub fn iter(&self) -> impl Iterator<Item = (Role, &str)> {
        self.0.iter().map(|(r, dn)| (*r, dn.as_str()))
    }

    /// The highest role among the groups `is_member` says the user is in; None when
    /// they are in none of them.
    pub fn role_of<E>(
        &self,
        mut is_member: impl FnMut(&str) -> Result<bool, E>,
    ) -> Result<Option<Role>, E> {
        for (role, dn) in self.iter() {
            if is_member(dn)? {
                return Ok(Some(role));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(url: &'a str, groups: &'a str) -> DirectoryInput<'a> {
        DirectoryInput {
            url: Some(url),
            bind_dn: Some("cn=riskdesk,ou=services,dc=bank,dc=example"),
            bind_password: Some("service secret"),
            user_base: Some("ou=people,dc=bank,dc=example"),
            user_filter: None,
            role_groups: Some(groups),
        }
    }

    #[test]
    fn escaping_follows_rfc_4515() {
        assert_eq!(escape_value("a*b(c)d\\e\0f"), "a\\2ab\\28c\\29d\\5ce\\00f");
        assert_eq!(
            escape_value("wang.wei@bank.example"),
            "wang.wei@bank.example"
        );
        let f = UserFilter::parse("(mail={email})").unwrap();
        assert_eq!(f.for_email("*@bank.example"), "(mail=\\2a@bank.example)");
        assert_eq!(
            f.for_email("x)(uid=*"),
            "(mail=x\\29\\28uid=\\2a)",
            "an address cannot close the filter and open another"
        );
        let both = UserFilter::parse("(|(mail={email})(userPrincipalName={email}))").unwrap();
        assert_eq!(
            both.for_email("a*@b.example"),
            "(|(mail=a\\2a@b.example)(userPrincipalName=a\\2a@b.example))"
        );
    }

    #[test]
    fn filters_must_be_filters_with_the_address() {
        assert!(
            UserFilter::parse("(mail=someone)")
                .unwrap_err()
                .contains("{email}")
        );
        assert!(
            UserFilter::parse("(mail={email}")
                .unwrap_err()
                .contains("not an LDAP")
        );
        assert!(UserFilter::parse("mail={email})(").is_err());
        assert!(UserFilter::parse("(&(objectClass=user)(userPrincipalName={email}))").is_ok());
    }

    #[test]
    fn role_groups_parse_and_rank() {
        let g = RoleGroups::parse(
            " agent=cn=agents,ou=groups,dc=b ; admin=cn=admins,ou=groups,dc=b;supervisor=cn=sup,dc=b;",
        )
        .unwrap();
        let order: Vec<_> = g.iter().map(|(r, dn)| (r.as_str(), dn)).collect();
        assert_eq!(
            order,
            [
                ("admin", "cn=admins,ou=groups,dc=b"),
                ("supervisor", "cn=sup,dc=b"),
                ("agent", "cn=agents,ou=groups,dc=b"),
            ]
        );
        // The highest role wins; no group, no role.
        let role = g
            .role_of::<()>(|dn| Ok(dn.starts_with("cn=agents") || dn.starts_with("cn=sup")))
            .unwrap();
        assert_eq!(role, Some(Role::Supervisor));
        assert_eq!(g.role_of::<()>(|_| Ok(false)).unwrap(), None);
        assert!(
            RoleGroups::parse("boss=cn=x,dc=b")
                .unwrap_err()
                .contains("unknown role 'boss'")
        );
        assert!(
            RoleGroups::parse("agent=cn=a,dc=b;agent=cn=c,dc=b")
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            RoleGroups::parse("agent")
                .unwrap_err()
                .contains("role=group DN")
        );
        assert!(
            RoleGroups::parse("agent=agents")
                .unwrap_err()
                .contains("distinguished name")
        );
        assert!(
            RoleGroups::parse(" ; ")
                .unwrap_err()
                .contains("names no group")
        );
    }

    #[test]
    fn settings_are_checked_naming_the_setting() {
        let ok = input("ldaps://ldap.bank.example:636", "agent=cn=a,dc=b")
            .check()
            .unwrap()
            .unwrap();
        assert_eq!(ok.user_filter.as_str(), DEFAULT_USER_FILTER);
        assert!(!format!("{ok:?}").contains("service secret"), "{ok:?}");
        assert!(DirectoryInput::default().check().unwrap().is_none());
        let e = input("http://ldap.bank.example", "agent=cn=a,dc=b")
            .check()
            .unwrap_err();
        assert_eq!(e.setting, "--ldap-url");
        assert!(e.message.contains("'http'"), "{e}");
        let e = input("ldap://", "agent=cn=a,dc=b").check().unwrap_err();
        assert_eq!(e.setting, "--ldap-url");
        let e = input("ldap://h:99999", "agent=cn=a,dc=b")
            .check()
            .unwrap_err();
        assert_eq!(e.setting, "--ldap-url");
        let e = input("ldap://h", "chief=cn=a,dc=b").check().unwrap_err();
        assert_eq!(e.setting, "--ldap-role-groups");
        assert!(e.to_string().contains("unknown role 'chief'"), "{e}");
        let e = DirectoryInput {
            user_filter: Some("(uid=someone)"),
            ..input("ldap://h", "agent=cn=a,dc=b")
        }
        .check()
        .unwrap_err();
        assert_eq!(e.setting, "--ldap-user-filter");
        let e = DirectoryInput {
            role_groups: None,
            ..input("ldap://h", "")
        }
        .check()
        .unwrap_err();
        assert_eq!(e.setting, "--ldap-role-groups");
        let e = DirectoryInput {
            user_base: None,
            ..input("ldap://h", "agent=cn=a,dc=b")
        }
        .check()
        .unwrap_err();
        assert_eq!(e.setting, "--ldap-user-base");
        let e = DirectoryInput {
            bind_password: None,
            ..input("ldap://h", "agent=cn=a,dc=b")
        }
        .check()
        .unwrap_err();
        assert_eq!(e.setting, "--ldap-bind-password");
        let e = DirectoryInput {
            user_base: Some("ou=people"),
            ..Default::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(e.setting, "--ldap-user-base");
        assert!(e.message.contains("--ldap-url"), "{e}");
    }
}
