//! A small load tool: N clients log in over and over while one probe measures `/healthz`.
//!
//! ```sh
//! cargo run --release -p edu-tests --example load_login -- http://127.0.0.1:8000 IIN PASSWORD [CLIENTS] [SECONDS]
//! ```
//!
//! Reports the probe's latency alone, then under load, and the login rate. Only talks to the
//! address given (run it against a local server), and stops by itself.

use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn probe(client: &reqwest::Client, url: &str, until: Instant) -> Vec<Duration> {
    let mut samples = Vec::new();
    while Instant::now() < until {
        let t = Instant::now();
        if client.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
            samples.push(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    samples.sort();
    samples
}

fn report(label: &str, s: &[Duration]) {
    println!(
        "{label:<22} n={:<6} p50={:>8.2?} p99={:>8.2?} max={:>8.2?}",
        s.len(),
        percentile(s, 0.5),
        percentile(s, 0.99),
        s.last().copied().unwrap_or_default()
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: load_login BASE_URL IIN PASSWORD [CLIENTS=20] [SECONDS=10]");
        std::process::exit(2);
    }
    let base = args[1].trim_end_matches('/').to_owned();
    let (iin, password) = (args[2].clone(), args[3].clone());
    let clients: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(20);
    let seconds: u64 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(10);
    let client = edu_tests::http().build().expect("http client");
    let health = format!("{base}/healthz");

    let idle = probe(&client, &health, Instant::now() + Duration::from_secs(3)).await;
    report("/healthz idle", &idle);

    let until = Instant::now() + Duration::from_secs(seconds);
    let login_url = format!("{base}/auth/login");
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (client, url) = (client.clone(), login_url.clone());
            let body = serde_json::json!({"iin": iin, "password": password});
            tokio::spawn(async move {
                let mut done = Vec::new();
                while Instant::now() < until {
                    let t = Instant::now();
                    match client.post(&url).json(&body).send().await {
                        Ok(r) if r.status().is_success() => done.push(t.elapsed()),
                        Ok(r) => eprintln!("login answered {}", r.status()),
                        Err(e) => eprintln!("login failed: {e}"),
                    }
                }
                done
            })
        })
        .collect();
    let loaded = probe(&client, &health, until).await;
    let mut logins = Vec::new();
    for w in workers {
        logins.extend(w.await.unwrap_or_default());
    }
    logins.sort();
    report("/healthz under load", &loaded);
    report("/auth/login", &logins);
    println!(
        "logins/s: {:.1} with {clients} clients over {seconds} s",
        logins.len() as f64 / seconds as f64
    );
}
