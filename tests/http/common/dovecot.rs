// A real IMAP server (Debian's Dovecot 2.3) for the inbound mail tests: its own
// configuration in a temporary directory (passwd-file sign-in, a maildir per user),
// served on a free loopback port, stopped and started again on the same port, and
// killed when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "desk";
pub const PASSWORD: &str = "mailbox secret";

fn dovecot_binary() -> PathBuf {
    let path = std::env::var("RISKDESK_DOVECOT").unwrap_or_else(|_| "/usr/sbin/dovecot".into());
    let path = PathBuf::from(path);
    assert!(
        path.exists(),
        "{} is missing: install Debian's dovecot-imapd (.ci/test does)",
        path.display()
    );
    path
}

/// The uid and gid of the system user `name`, from /etc/passwd.
fn ids_of(name: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name)).then(|| (f[2].parse().unwrap(), f[3].parse().unwrap()))
        })
        .unwrap_or_else(|| panic!("no system user {name}: install dovecot-core"))
}

/// A running Dovecot with one mailbox user.
pub struct Dovecot {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        r#"base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"#
    )
}

impl Dovecot {
    pub fn start() -> Dovecot {
        let dir = tempfile::tempdir().expect("temp dir");
        // Dovecot's own users (dovecot, dovenull) work in the directory.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let (uid, gid) = ids_of("dovecot");
        std::os::unix::fs::chown(dir.path().join("mail"), Some(uid), Some(gid)).unwrap();
        std::fs::write(
            dir.path().join("passwd"),
            format!("{USER}:{{PLAIN}}{PASSWORD}\n"),
        )
        .unwrap();
        let mut d = Dovecot {
            port: 0,
            dir,
            child: None,
        };
        d.run();
        d
    }

    /// The desk's setting for this mailbox.
    pub fn url(&self) -> String {
        format!(
            "imap://{USER}:{}@127.0.0.1:{}/INBOX",
            PASSWORD.replace(' ', "%20"),
            self.port
        )
    }

    /// Starts the server (again): on a free port the first time, on the same port
    /// after [`Dovecot::stop`]; returns once it answers.
    pub fn run(&mut self) {
        for _ in 0..5 {
            let port = if self.port == 0 {
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            } else {
                self.port
            };
            let conf = self.dir.path().join("dovecot.conf");
            std::fs::write(&conf, config(self.dir.path(), port)).unwrap();
            let _ = std::fs::remove_file(self.dir.path().join("run").join("master.pid"));
            let log = std::fs::File::create(self.dir.path().join("out.log")).unwrap();
            let mut child = Command::new(dovecot_binary())
                .arg("-F")
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start dovecot");
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if greets(port) {
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
                // The same port again: give the old process a moment to let go.
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        panic!(
            "dovecot did not start: {}\n{}",
            std::fs::read_to_string(self.dir.path().join("out.log")).unwrap_or_default(),
            std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
        );
    }

    /// Stops the server (the mailbox is down).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM lets the master stop its children.
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Puts a message in the user's INBOX over IMAP (APPEND), unseen.
    pub fn deliver(&self, raw: &[u8]) {
        let port = self.port;
        let raw = raw.to_vec();
        actix_web::rt::System::new().block_on(async move {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect to dovecot");
            let mut client = async_imap::Client::new(stream);
            client.read_response().await.unwrap();
            let mut session = client
                .login(USER, PASSWORD)
                .await
                .map_err(|(e, _)| e)
                .expect("login");
            session
                .append("INBOX", None, None, &raw)
                .await
                .expect("append");
            session.logout().await.unwrap();
        });
    }

    /// The flags of every message in the INBOX, by UID.
    pub fn flags(&self) -> Vec<(u32, bool)> {
        let port = self.port;
        actix_web::rt::System::new().block_on(async move {
            use futures_util::TryStreamExt;
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let mut client = async_imap::Client::new(stream);
            client.read_response().await.unwrap();
            let mut session = client
                .login(USER, PASSWORD)
                .await
                .map_err(|(e, _)| e)
                .unwrap();
            session.examine("INBOX").await.unwrap();
            let fetches: Vec<_> = session
                .uid_fetch("1:*", "FLAGS")
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            let out = fetches
                .iter()
                .map(|f| {
                    (
                        f.uid.unwrap_or_default(),
                        f.flags()
                            .any(|fl| matches!(fl, async_imap::types::Flag::Seen)),
                    )
                })
                .collect();
            session.logout().await.unwrap();
            out
        })
    }
}

/// Whether something on `port` greets as an IMAP server.
fn greets(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(n) if n > 4 && buf.starts_with(b"* OK"))
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}
