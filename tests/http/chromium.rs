// A small driver for Debian's headless Chromium over the DevTools protocol: one page,
// navigation, script evaluation, form filling and clicking, keyboard presses,
// phone-sized screens, screenshots kept under `target/tmp/browser/`, and axe-core's
// accessibility check (vendored under tests/http/vendor/, for the tests only).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Where Chromium lives: `RISKDESK_CHROMIUM`, else Debian's package.
fn binary() -> String {
    std::env::var("RISKDESK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

pub struct Chromium {
    child: Child,
    ws: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    shot_count: usize,
}

impl Chromium {
    /// Starts a headless Chromium with a fresh profile; screenshots of this run go
    /// to `target/tmp/browser/<run>/`.
    pub fn launch(run: &str) -> Chromium {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(binary())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): the browser test needs Debian's chromium \
                     (bash .ci/test installs it)",
                    binary()
                )
            });
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("chromium exited before it listened")
                .unwrap();
            if let Some(i) = line.find("ws://") {
                break line[i..].trim().to_string();
            }
        };
        // Keep draining Chromium's messages so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let addr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let stream = TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("devtools websocket");
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("browser")
            .join(run);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        let mut c = Chromium {
            child,
            ws,
            session: String::new(),
            next_id: 0,
            _profile: profile,
            shots,
            shot_count: 0,
        };
        let target = c.browser_call("Target.createTarget", json!({"url": "about:blank"}));
        let attached = c.browser_call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        c.session = attached["sessionId"].as_str().unwrap().to_string();
        c.call("Page.enable", json!({}));
        c.call("Runtime.enable", json!({}));
        c
    }

    fn send(&mut self, method: &str, params: Value, session: Option<String>) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("devtools send");
        loop {
            let m = self.ws.read().expect("devtools read");
            let Message::Text(text) = m else { continue };
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["id"] == json!(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method} failed: {e}");
                }
                return v["result"].clone();
            }
        }
    }

    fn browser_call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    /// A DevTools command on the page.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.send(method, params, Some(s))
    }

    /// Evaluates `js` in the page; returns its value.
    pub fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("script failed: {js}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Waits until `js` is true in the page (10 s at most).
    pub fn wait_for(&mut self, js: &str) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.eval(&format!("Boolean({js})")) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let html = self.eval("document.body ? document.body.innerText : ''");
        panic!("timed out waiting for {js}; the page says: {html}");
    }

    /// Marks the current document, so that a new one (after a navigation) is told
    /// apart from it.
    fn mark(&mut self) {
        self.eval("window.__riskdesk_old = true");
    }

    fn wait_new_document(&mut self) {
        self.wait_for("window.__riskdesk_old === undefined && document.readyState === 'complete'");
    }

    pub fn goto(&mut self, url: &str) {
        self.mark();
        self.call("Page.navigate", json!({"url": url}));
        self.wait_new_document();
    }

    /// The visible text of the page.
    pub fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn path(&mut self) -> String {
        self.eval("location.pathname").as_str().unwrap().to_string()
    }

    /// Types `value` into the field `selector` as a user would leave it.
    pub fn fill(&mut self, selector: &str, value: &str) {
        let js = format!(
            "(() => {{ const e = document.querySelector({s}); if (!e) throw new Error('no ' + {s}); \
             e.focus(); e.value = {v}; e.dispatchEvent(new Event('input', {{bubbles: true}})); \
             e.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }})()",
            s = json!(selector),
            v = json!(value)
        );
        self.eval(&js);
    }

    /// Clicks `selector` and waits for the page it leads to.
    pub fn click_and_wait(&mut self, selector: &str) {
        self.mark();
        self.click(selector);
        self.wait_new_document();
    }

    /// Clicks `selector` (a real click at its centre, as a mouse would).
    pub fn click(&mut self, selector: &str) {
        let js = format!(
            "(() => {{ const e = document.querySelector({s}); if (!e) throw new Error('no ' + {s}); \
             e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
             return [r.left + r.width / 2, r.top + r.height / 2]; }})()",
            s = json!(selector)
        );
        let at = self.eval(&js);
        let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// Chooses `files` in the file input `selector`, as a user picking them would.
    pub fn set_files(&mut self, selector: &str, files: &[&std::path::Path]) {
        let doc = self.call("DOM.getDocument", json!({}));
        let node = self.call(
            "DOM.querySelector",
            json!({"nodeId": doc["root"]["nodeId"], "selector": selector}),
        );
        let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        self.call(
            "DOM.setFileInputFiles",
            json!({"nodeId": node["nodeId"], "files": files}),
        );
    }

    /// Presses a key (`"j"`, `"Enter"`…) on the page.
    pub fn press(&mut self, key: &str) {
        let (text, code) = match key {
            "Enter" => ("\r".to_string(), 13),
            k => (
                k.to_string(),
                k.to_ascii_uppercase().chars().next().unwrap() as i64,
            ),
        };
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyDown", "key": key, "text": text, "windowsVirtualKeyCode": code}),
        );
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key, "windowsVirtualKeyCode": code}),
        );
    }

    /// Presses a key that leads to another page, and waits for it.
    pub fn press_and_wait(&mut self, key: &str) {
        self.mark();
        self.press(key);
        self.wait_new_document();
    }

    /// A phone-sized screen (390 × 844, touch) or back to the desktop.
    pub fn phone(&mut self, on: bool) {
        if on {
            self.call(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true}),
            );
        } else {
            self.call("Emulation.clearDeviceMetricsOverride", json!({}));
        }
    }

    /// A screen `width` pixels wide and `height` tall (a phone's when `mobile`).
    pub fn screen(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// Runs axe-core on the page; returns the serious and critical violations as
    /// "rule: target, target…" lines (empty when there are none).
    pub fn axe(&mut self) -> Vec<String> {
        const AXE: &str = include_str!("vendor/axe-core/axe.min.js");
        if self.eval("typeof window.axe === 'undefined'") == json!(true) {
            let r = self.call(
                "Runtime.evaluate",
                json!({"expression": AXE, "returnByValue": false}),
            );
            assert!(r.get("exceptionDetails").is_none(), "axe failed to load");
        }
        let found = self.eval(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations \
             .filter(v => v.impact === 'serious' || v.impact === 'critical') \
             .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 5) \
             .map(n => n.target.join(' ') + (n.failureSummary ? ' — ' + \
             n.failureSummary.replace(/\\s+/g, ' ') : '')).join('; ')))",
        );
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The page's height, and how far down `selector` starts, in CSS pixels.
    pub fn heights(&mut self, selector: &str) -> (f64, f64) {
        let v = self.eval(&format!(
            "(() => {{ const e = document.querySelector({s});              return [document.documentElement.scrollHeight,              e ? e.getBoundingClientRect().top + window.scrollY : -1]; }})()",
            s = json!(selector)
        ));
        (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
    }

    /// Saves a screenshot of the whole page as `NN-name.png`; returns its path.
    pub fn screenshot(&mut self, name: &str) -> PathBuf {
        self.shot_count += 1;
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let path = self
            .shots
            .join(format!("{:02}-{name}.png", self.shot_count));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
