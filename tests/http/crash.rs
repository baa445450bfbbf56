// Acknowledged means stored: the server is killed (SIGKILL) while alerts pour in,
// and after a restart every alert it acknowledged is there, exactly once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cli::{desk, serve};
use crate::intake::alert;

#[test]
fn every_acknowledged_alert_survives_kill_9() {
    let d = desk();
    let (code, out, _) = d.run(&["apikey", "create", "--name", "crash"], None);
    assert_eq!(code, 0);
    let key = out
        .lines()
        .find(|l| l.starts_with("rdk_"))
        .unwrap()
        .to_string();
    let (mut server, base, _) = serve(&d, &[]);

    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let posters: Vec<_> = (0..6)
        .map(|t| {
            let (acked, stop, base, key) = (acked.clone(), stop.clone(), base.clone(), key.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let id = format!("crash-{t}-{i}");
                    let res = client
                        .post(format!("{base}/api/v1/alerts"))
                        .bearer_auth(&key)
                        .json(&alert(&id, "LARGE_TRANSFER", &format!("C-{t}-{}", i % 7)))
                        .send();
                    match res {
                        Ok(r) if r.status() == 201 => {
                            let v: Value = r.json().unwrap();
                            acked
                                .lock()
                                .unwrap()
                                .push((id, v["alert_id"].as_i64().unwrap()));
                        }
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        // The server died under us: this one was never acknowledged.
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    let start = Instant::now();
    while acked.lock().unwrap().len() < 300 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.0.kill().unwrap(); // SIGKILL: no shutdown, no flush beyond what was committed
    server.0.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for p in posters {
        p.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300, "only {} acknowledged", acked.len());

    let (_server, base, _) = serve(&d, &[]);
    let client = reqwest::blocking::Client::new();
    for (id, alert_id) in &acked {
        // Posting it again must find it: the same alert, not a second one.
        let t: Vec<&str> = id.split('-').collect();
        let res = client
            .post(format!("{base}/api/v1/alerts"))
            .bearer_auth(&key)
            .json(&alert(
                id,
                "LARGE_TRANSFER",
                &format!("C-{}-{}", t[1], t[2].parse::<i64>().unwrap() % 7),
            ))
            .send()
            .unwrap();
        assert_eq!(res.status(), 200, "{id} was acknowledged but not kept");
        let v: Value = res.json().unwrap();
        assert_eq!(v["deduplicated"], true);
        assert_eq!(v["alert_id"].as_i64().unwrap(), *alert_id);
    }
}
