//! Load tool for test submissions: N students submit the same test at the same moment.
//!
//! ```sh
//! cargo run --release -p edu-tests --example load_submit -- http://127.0.0.1:8000 ADMIN_IIN ADMIN_PASSWORD [STUDENTS]
//! ```
//!
//! Sets up its own group, module, subject, test and lesson, creates STUDENTS (default 500)
//! students and logs them in (run the server with a low `BCRYPT_COST` to make that part quick; it
//! is not what is measured), then releases every submission at once and reports the status
//! codes, submissions per second and the latency percentiles, and checks that the teacher's list
//! holds exactly one result per student. Only talks to the address given.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{Barrier, Semaphore};

type Failure = Box<dyn std::error::Error + Send + Sync>;

async fn post(client: &reqwest::Client, url: String, token: &str, body: Value) -> Result<Value, Failure> {
    let res = client.post(url).bearer_auth(token).json(&body).send().await?;
    let status = res.status();
    let value: Value = res.json().await?;
    if !status.is_success() {
        return Err(format!("{status}: {value}").into());
    }
    Ok(value)
}

async fn login(client: &reqwest::Client, base: &str, iin: &str, password: &str) -> Result<String, Failure> {
    let res = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"iin": iin, "password": password}))
        .send()
        .await?;
    let value: Value = res.json().await?;
    value["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login failed: {value}").into())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, admin_iin, admin_password, rest @ ..] = args.as_slice() else {
        return Err("usage: load_submit BASE_URL ADMIN_IIN ADMIN_PASSWORD [STUDENTS]".into());
    };
    let students: usize = rest.first().map_or(Ok(500), |s| s.parse())?;
    let base = base.trim_end_matches('/').to_owned();
    let client = edu_tests::http().pool_max_idle_per_host(64).build()?;
    let admin = login(&client, &base, admin_iin, admin_password).await?;
    let tag = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis()
        % 1_000_000;

    let group = post(
        &client,
        format!("{base}/admin/groups/"),
        &admin,
        json!({"name": format!("load-{tag}")}),
    )
    .await?;
    let module = post(
        &client,
        format!("{base}/admin/modules/"),
        &admin,
        json!({"title": format!("load-{tag}")}),
    )
    .await?;
    let (group_id, module_id) = (group["id"].as_i64().unwrap_or(0), module["id"].as_i64().unwrap_or(0));
    let subject = post(
        &client,
        format!("{base}/admin/modules/{module_id}/subjects"),
        &admin,
        json!({"title": "load"}),
    )
    .await?;
    let subject_id = subject["id"].as_i64().unwrap_or(0);
    post(
        &client,
        format!("{base}/access/admin/group-to-module"),
        &admin,
        json!({"group_id": group_id, "module_id": module_id}),
    )
    .await?;
    let questions: Vec<Value> = (0..10)
        .map(|i| {
            json!({"question_text": format!("q{i}"), "correct_option_index": i % 3,
                   "options": [{"option_text": "a", "option_index": 0}, {"option_text": "b", "option_index": 1},
                               {"option_text": "c", "option_index": 2}]})
        })
        .collect();
    let test = post(
        &client,
        format!("{base}/tests/create"),
        &admin,
        json!({"title": "load", "subject_id": subject_id, "questions": questions}),
    )
    .await?;
    let test_id = test["id"].as_i64().unwrap_or(0);
    let question_ids: Vec<i64> = test["questions"]
        .as_array()
        .map(|qs| qs.iter().filter_map(|q| q["id"].as_i64()).collect())
        .unwrap_or_default();
    let lesson = post(
        &client,
        format!("{base}/lessons/add/subjects/{subject_id}"),
        &admin,
        json!({"title": "load", "type": "test", "test_id": test_id}),
    )
    .await?;
    let lesson_id = lesson["id"].as_i64().unwrap_or(0);

    eprintln!("creating and logging in {students} students…");
    let gate = Arc::new(Semaphore::new(32));
    let mut setup = Vec::new();
    for n in 0..students {
        let (client, base, admin, gate) = (client.clone(), base.clone(), admin.clone(), gate.clone());
        setup.push(tokio::spawn(async move {
            let _permit = gate.acquire().await?;
            let iin = format!("{:06}{:06}", tag, n);
            let user = post(
                &client,
                format!("{base}/admin/users/"),
                &admin,
                json!({"iin": iin, "full_name": format!("Load Student {n}"), "role": "student",
                       "password": "load-password-1"}),
            )
            .await?;
            let token = login(&client, &base, &iin, "load-password-1").await?;
            Ok::<_, Failure>((user["id"].as_i64().unwrap_or(0), token))
        }));
    }
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for t in setup {
        let (id, token) = t.await??;
        ids.push(id);
        tokens.push(token);
    }
    post(
        &client,
        format!("{base}/admin/groups/{group_id}/users"),
        &admin,
        json!(ids),
    )
    .await?;

    let barrier = Arc::new(Barrier::new(students));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for token in tokens {
        let (client, base, barrier) = (client.clone(), base.clone(), barrier.clone());
        let answers: Vec<Value> = question_ids
            .iter()
            .enumerate()
            .map(|(i, q)| json!({"question_id": q, "selected_index": i % 3}))
            .collect();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let t = Instant::now();
            let status = client
                .post(format!("{base}/tests/submit"))
                .bearer_auth(&token)
                .json(&json!({"test_id": test_id, "answers": answers}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            (status, t.elapsed())
        }));
    }
    let mut latencies = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        let (status, latency) = t.await?;
        *statuses.entry(status).or_insert(0usize) += 1;
        latencies.push(latency);
    }
    let wall = started.elapsed();
    latencies.sort();
    let results: Value = client
        .get(format!("{base}/lessons/{lesson_id}/submissions/tests"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    let stored = results.as_array().map_or(0, Vec::len);
    println!("statuses: {statuses:?}");
    println!(
        "{students} submissions in {:.2} s: {:.0}/s; latency p50={:?} p99={:?} max={:?}",
        wall.as_secs_f64(),
        students as f64 / wall.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    println!("results stored: {stored} (expected {students})");
    if stored != students {
        return Err("not every submission was stored exactly once".into());
    }
    Ok(())
}
