// A real OpenLDAP server (Debian's slapd) for the directory sign-in tests: a
// temporary slapd.conf with an mdb database, entries loaded with slapadd before it
// starts, served on a free loopback port, and killed when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ldap3::{LdapConn, LdapConnSettings, Mod};

pub const SUFFIX: &str = "dc=bank,dc=example";
pub const ROOT_DN: &str = "cn=admin,dc=bank,dc=example";
pub const ROOT_PASSWORD: &str = "root secret of the test directory";
/// The service account riskdesk searches with.
pub const SERVICE_DN: &str = "cn=riskdesk,ou=services,dc=bank,dc=example";
pub const SERVICE_PASSWORD: &str = "service secret";

fn slapd_binary() -> PathBuf {
    let path = std::env::var("RISKDESK_SLAPD").unwrap_or_else(|_| "/usr/sbin/slapd".into());
    let path = PathBuf::from(path);
    assert!(
        path.exists(),
        "{} is missing: install Debian's slapd and ldap-utils (.ci/test does)",
        path.display()
    );
    path
}

/// A running slapd holding `dc=bank,dc=example`.
pub struct Slapd {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Slapd {
    /// Starts slapd with the suffix entry and `ldif` (entries below it) loaded.
    pub fn start(ldif: &str) -> Slapd {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("db")).unwrap();
        std::fs::write(dir.path().join("slapd.conf"), config(dir.path())).unwrap();
        let all = format!(
            "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: bank\no: Bank\n\n{ldif}"
        );
        std::fs::write(dir.path().join("data.ldif"), all).unwrap();
        let slapadd = slapd_binary().with_file_name("slapadd");
        let out = Command::new(&slapadd)
            .arg("-f")
            .arg(dir.path().join("slapd.conf"))
            .arg("-l")
            .arg(dir.path().join("data.ldif"))
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", slapadd.display()));
        assert!(
            out.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut slapd = Slapd {
            port: 0,
            dir,
            child: None,
        };
        slapd.run();
        slapd
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again), on a free port the first time and on the same
    /// port after [`Slapd::stop`]; returns once it answers.
    fn run(&mut self) {
        for _ in 0..5 {
            let port = if self.port == 0 {
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            } else {
                self.port
            };
            let log = std::fs::File::create(self.dir.path().join("slapd.log")).unwrap();
            let mut child = Command::new(slapd_binary())
                .arg("-f")
                .arg(self.dir.path().join("slapd.conf"))
                .arg("-h")
                .arg(format!("ldap://127.0.0.1:{port}/"))
                // -d keeps slapd in the foreground, a child of this process.
                .args(["-d", "0"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start slapd");
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    // It could not take the port (taken meanwhile): try another.
                    break;
                }
                if answers(port) {
                    self.port = port;
                    self.child = Some(child);
                    return;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if self.port != 0 {
                break;
            }
        }
        panic!(
            "slapd did not start: {}",
            std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
        );
    }

    /// Stops the server (the directory is down).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A connection bound as the directory's root, to change entries.
    pub fn admin(&self) -> LdapConn {
        let mut ldap = LdapConn::with_settings(
            LdapConnSettings::new().set_conn_timeout(Duration::from_secs(5)),
            &self.url(),
        )
        .expect("connect to slapd");
        ldap.simple_bind(ROOT_DN, ROOT_PASSWORD)
            .unwrap()
            .success()
            .expect("root bind");
        ldap
    }

    /// Deletes an entry.
    pub fn delete(&self, dn: &str) {
        let mut ldap = self.admin();
        ldap.delete(dn).unwrap().success().expect("delete");
        let _ = ldap.unbind();
    }

    /// Adds `user` to `group`'s members.
    pub fn add_member(&self, group: &str, user: &str) {
        let mut ldap = self.admin();
        ldap.modify(group, vec![Mod::Add("member", [user].into())])
            .unwrap()
            .success()
            .expect("add member");
        let _ = ldap.unbind();
    }

    /// Removes `user` from `group`'s members.
    pub fn remove_member(&self, group: &str, user: &str) {
        let mut ldap = self.admin();
        ldap.modify(group, vec![Mod::Delete("member", [user].into())])
            .unwrap()
            .success()
            .expect("remove member");
        let _ = ldap.unbind();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether an LDAP server answers a bind on `port`.
fn answers(port: u16) -> bool {
    let Ok(mut ldap) = LdapConn::with_settings(
        LdapConnSettings::new().set_conn_timeout(Duration::from_millis(500)),
        &format!("ldap://127.0.0.1:{port}"),
    ) else {
        return false;
    };
    let ok = ldap
        .with_timeout(Duration::from_secs(2))
        .simple_bind(ROOT_DN, ROOT_PASSWORD)
        .is_ok_and(|r| r.rc == 0);
    let _ = ldap.unbind();
    ok
}

/// slapd.conf: the core, cosine and inetOrgPerson schemas, one mdb database; users'
/// passwords are only usable to bind, and only the service account (and each user,
/// their own entry) may read the tree.
fn config(dir: &Path) -> String {
    let schema = std::env::var("RISKDESK_LDAP_SCHEMA_DIR").unwrap_or("/etc/ldap/schema".into());
    let modules = std::env::var("RISKDESK_SLAPD_MODULES").unwrap_or("/usr/lib/ldap".into());
    format!(
        r#"include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
modulepath {modules}
moduleload back_mdb
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args

database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw "{ROOT_PASSWORD}"
directory {dir}/db

access to attrs=userPassword
    by anonymous auth
    by * none
access to *
    by dn.exact="{SERVICE_DN}" read
    by self read
    by * none
"#,
        dir = dir.display()
    )
}
