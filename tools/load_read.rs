//! Load tool for the read path: students who are logged in browse their modules and grades.
//!
//! ```sh
//! cargo run --release -p edu-tests --example load_read -- --iins iins.txt \
//!     [--url http://127.0.0.1:8000] [--users 50] [--duration 15] [--password seed-password] [--seed 1]
//! ```
//!
//! Made for a database filled by `edu seed --iins-out iins.txt`. Each virtual user logs in once
//! as a different student from the file (logins are timed and reported on their own), then, once
//! every login is done, all of them loop for `--duration` seconds over a weighted mix of reads:
//! `GET /` ×1, `GET /auth/check` ×3, `GET /access/my-modules` ×5, `GET /lessons/student/grades` ×4.
//! Reports requests per second, and per route the count, status codes, p50/p99/max latency and
//! the mean response size. Only talks to the address given.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Barrier;

type Failure = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str =
    "usage: load_read --iins FILE [--url URL] [--users N] [--duration SECONDS] [--password P] [--seed N]";

/// The mix: path, whether it needs the token, weight.
const ROUTES: &[(&str, bool, u32)] = &[
    ("/", false, 1),
    ("/auth/check", true, 3),
    ("/access/my-modules", true, 5),
    ("/lessons/student/grades", true, 4),
];

struct Options {
    url: String,
    users: usize,
    duration: Duration,
    iins: String,
    password: String,
    seed: u64,
}

fn options() -> Result<Options, Failure> {
    let mut o = Options {
        url: "http://127.0.0.1:8000".into(),
        users: 50,
        duration: Duration::from_secs(15),
        iins: String::new(),
        password: "seed-password".into(),
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (arg, None),
        };
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--url" => o.url = value.trim_end_matches('/').to_owned(),
            "--users" => o.users = value.parse()?,
            "--duration" => o.duration = Duration::from_secs_f64(value.parse()?),
            "--iins" => o.iins = value,
            "--password" => o.password = value,
            "--seed" => o.seed = value.parse()?,
            _ => return Err(format!("unknown option {flag}\n{USAGE}").into()),
        }
    }
    if o.iins.is_empty() {
        return Err(format!("--iins FILE is required (written by `edu seed --iins-out FILE`)\n{USAGE}").into());
    }
    if o.users == 0 {
        return Err("--users must be at least 1".into());
    }
    Ok(o)
}

/// SplitMix64: a small, seedable generator, enough to pick routes and students.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn pick_route(rng: &mut Rng) -> usize {
    let total: u32 = ROUTES.iter().map(|r| r.2).sum();
    let mut x = rng.below(u64::from(total));
    for (i, &(_, _, w)) in ROUTES.iter().enumerate() {
        if x < u64::from(w) {
            return i;
        }
        x -= u64::from(w);
    }
    ROUTES.len() - 1
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

fn statuses(counts: &BTreeMap<u16, usize>) -> String {
    counts
        .iter()
        .map(|(s, n)| {
            if *s == 0 {
                format!("error×{n}")
            } else {
                format!("{s}×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn login(client: &reqwest::Client, base: &str, iin: &str, password: &str) -> (u16, Duration, Option<String>) {
    let t = Instant::now();
    let res = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"iin": iin, "password": password}))
        .send()
        .await;
    let (status, token) = match res {
        Ok(r) => {
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (status, body["access_token"].as_str().map(str::to_owned))
        }
        Err(e) => {
            eprintln!("login failed: {e}");
            (0, None)
        }
    };
    (status, t.elapsed(), token)
}

/// One request of the mix: (route, status or 0 for a transport error, latency, body bytes).
type Sample = (usize, u16, Duration, usize);

async fn browse(client: reqwest::Client, base: Arc<str>, token: String, mut rng: Rng, until: Instant) -> Vec<Sample> {
    let mut samples = Vec::new();
    while Instant::now() < until {
        let route = pick_route(&mut rng);
        let (path, authed, _) = ROUTES[route];
        let mut request = client.get(format!("{base}{path}"));
        if authed {
            request = request.bearer_auth(&token);
        }
        let t = Instant::now();
        let (status, size) = match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.bytes().await {
                    Ok(body) => (status, body.len()),
                    Err(_) => (0, 0),
                }
            }
            Err(_) => (0, 0),
        };
        samples.push((route, status, t.elapsed(), size));
    }
    samples
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let o = options()?;
    let text = std::fs::read_to_string(&o.iins).map_err(|e| format!("cannot read {}: {e}", o.iins))?;
    let mut iins: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if iins.len() < o.users {
        return Err(format!("{} has {} IINs; --users {} needs as many", o.iins, iins.len(), o.users).into());
    }
    // A seeded shuffle, so that runs with different --seed log in as different students.
    let mut rng = Rng(o.seed);
    for i in (1..iins.len()).rev() {
        iins.swap(i, rng.below(i as u64 + 1) as usize);
    }
    iins.truncate(o.users);

    let client = edu_tests::http()
        .pool_max_idle_per_host(o.users)
        .tcp_nodelay(true)
        .build()?;
    let base: Arc<str> = Arc::from(o.url.as_str());

    println!("logging in {} students at {}…", o.users, o.url);
    let started = Instant::now();
    let logins: Vec<_> = iins
        .iter()
        .map(|iin| {
            let (client, base, iin, password) = (client.clone(), base.clone(), iin.to_string(), o.password.clone());
            tokio::spawn(async move { login(&client, &base, &iin, &password).await })
        })
        .collect();
    let mut tokens = Vec::new();
    let mut login_times = Vec::new();
    let mut login_statuses = BTreeMap::new();
    for l in logins {
        let (status, took, token) = l.await?;
        *login_statuses.entry(status).or_insert(0_usize) += 1;
        login_times.push(took);
        tokens.extend(token);
    }
    let login_wall = started.elapsed();
    login_times.sort();
    println!(
        "logins: {} in {:.2} s ({:.1}/s); statuses {}; p50={:.2?} p99={:.2?} max={:.2?}",
        login_times.len(),
        login_wall.as_secs_f64(),
        login_times.len() as f64 / login_wall.as_secs_f64(),
        statuses(&login_statuses),
        percentile(&login_times, 0.5),
        percentile(&login_times, 0.99),
        login_times.last().copied().unwrap_or_default()
    );
    if tokens.is_empty() {
        return Err("no student could log in: check --password and that the server runs on the seeded database".into());
    }
    if tokens.len() < o.users {
        eprintln!(
            "only {} of {} students logged in; the rest do not browse",
            tokens.len(),
            o.users
        );
    }

    println!("{} users browsing for {:.0} s…", tokens.len(), o.duration.as_secs_f64());
    let barrier = Arc::new(Barrier::new(tokens.len()));
    let start = Instant::now();
    let workers: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let (client, base, barrier) = (client.clone(), base.clone(), barrier.clone());
            let rng = Rng(o.seed ^ (i as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
            let duration = o.duration;
            tokio::spawn(async move {
                barrier.wait().await;
                browse(client, base, token, rng, Instant::now() + duration).await
            })
        })
        .collect();
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.await?);
    }
    let wall = start.elapsed().as_secs_f64();

    println!(
        "{:<34} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9}  statuses",
        "route", "count", "req/s", "p50", "p99", "max", "bytes"
    );
    for (i, (path, _, weight)) in ROUTES.iter().enumerate() {
        let mine: Vec<&Sample> = samples.iter().filter(|s| s.0 == i).collect();
        let mut times: Vec<Duration> = mine.iter().map(|s| s.2).collect();
        times.sort();
        let mut codes = BTreeMap::new();
        for s in &mine {
            *codes.entry(s.1).or_insert(0_usize) += 1;
        }
        let bytes = mine.iter().map(|s| s.3).sum::<usize>() / mine.len().max(1);
        println!(
            "{:<34} {:>7} {:>8.1} {:>9.2?} {:>9.2?} {:>9.2?} {:>9}  {}",
            format!("GET {path} (×{weight})"),
            mine.len(),
            mine.len() as f64 / wall,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or_default(),
            bytes,
            statuses(&codes)
        );
    }
    let mut all: Vec<Duration> = samples.iter().map(|s| s.2).collect();
    all.sort();
    let mut codes = BTreeMap::new();
    for s in &samples {
        *codes.entry(s.1).or_insert(0_usize) += 1;
    }
    println!(
        "{:<34} {:>7} {:>8.1} {:>9.2?} {:>9.2?} {:>9.2?} {:>9}  {}",
        "all",
        samples.len(),
        samples.len() as f64 / wall,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or_default(),
        "",
        statuses(&codes)
    );
    println!("{:.0} requests/s over {wall:.1} s", samples.len() as f64 / wall);
    Ok(())
}
