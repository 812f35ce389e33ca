//! A few clients kept busy against a server, every answer recorded with when it was asked and how
//! long it took, so that a test can tell what the server answered while the database was away.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

/// The longest a client waits for an answer, as a browser or a mobile client would.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a client asks, over and over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `POST /admin/groups/` with a fresh name: a write whose acknowledgement is checked later.
    CreateGroup,
    /// `GET /auth/check` as a student.
    Check,
    /// `GET /access/my-modules` as a student.
    MyModules,
    /// `GET /lessons/student/grades` as a student.
    Grades,
    /// `POST /auth/login` with the right password.
    Login,
    /// `GET /readyz`.
    Ready,
}

/// One answer (or the lack of one).
#[derive(Debug, Clone)]
pub struct Sample {
    pub ask: Ask,
    pub sent: Instant,
    pub took: Duration,
    pub outcome: Outcome,
    /// The group a 2xx `CreateGroup` acknowledged.
    pub acknowledged: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Answer {
        status: u16,
        retry_after: Option<String>,
        body: Value,
    },
    /// No answer: a timeout, a reset connection.
    Failed(String),
}

impl Sample {
    pub fn status(&self) -> Option<u16> {
        match &self.outcome {
            Outcome::Answer { status, .. } => Some(*status),
            Outcome::Failed(_) => None,
        }
    }

    pub fn ok(&self) -> bool {
        self.status().is_some_and(|s| (200..300).contains(&s))
    }

    /// A label for a histogram: the status, or what went wrong.
    pub fn label(&self) -> String {
        match &self.outcome {
            Outcome::Answer { status, .. } => status.to_string(),
            Outcome::Failed(e) if e.contains("timed out") || e.contains("timeout") => "client timeout".into(),
            Outcome::Failed(_) => "no answer".into(),
        }
    }
}

/// Who the clients act as.
#[derive(Clone)]
pub struct Target {
    pub base: String,
    pub admin_token: String,
    pub student_token: String,
    pub student_iin: String,
    pub student_password: String,
}

pub struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// One client per entry of `asks`, each asking as soon as its previous answer came (and a
    /// short pause).
    pub fn start(target: &Target, asks: &[Ask]) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let http = edu_tests::http().timeout(CLIENT_TIMEOUT).build().expect("http client");
        let clients = asks
            .iter()
            .enumerate()
            .map(|(n, &ask)| {
                let (stop, samples, http, target) = (stop.clone(), samples.clone(), http.clone(), target.clone());
                tokio::spawn(async move {
                    let mut i = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let sample = once(&http, &target, ask, &format!("outage {n}-{i}")).await;
                        samples.lock().unwrap_or_else(|e| e.into_inner()).push(sample);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                })
            })
            .collect();
        Load { stop, samples, clients }
    }

    /// Stops the clients, lets their last requests finish and returns every answer.
    pub async fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        for c in self.clients {
            c.await.expect("a client task");
        }
        self.samples.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

async fn once(http: &reqwest::Client, t: &Target, ask: Ask, name: &str) -> Sample {
    let url = |path: &str| format!("{}{path}", t.base);
    let student = format!("Bearer {}", t.student_token);
    let req = match ask {
        Ask::CreateGroup => http
            .request(Method::POST, url("/admin/groups/"))
            .header("authorization", format!("Bearer {}", t.admin_token))
            .json(&json!({"name": name})),
        Ask::Check => http.get(url("/auth/check")).header("authorization", student),
        Ask::MyModules => http.get(url("/access/my-modules")).header("authorization", student),
        Ask::Grades => http
            .get(url("/lessons/student/grades"))
            .header("authorization", student),
        Ask::Login => http
            .post(url("/auth/login"))
            .json(&json!({"iin": t.student_iin, "password": t.student_password})),
        Ask::Ready => http.get(url("/readyz")),
    };
    let sent = Instant::now();
    let outcome = match req.header("accept-language", "en").send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let retry_after = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            match res.bytes().await {
                Ok(bytes) => Outcome::Answer {
                    status,
                    retry_after,
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                },
                Err(e) => Outcome::Failed(format!("{e:?}")),
            }
        }
        Err(e) => Outcome::Failed(format!("{e:?}")),
    };
    let took = sent.elapsed();
    let mut sample = Sample {
        ask,
        sent,
        took,
        outcome,
        acknowledged: None,
    };
    if ask == Ask::CreateGroup && sample.ok() {
        sample.acknowledged = Some(name.to_owned());
    }
    sample
}

/// Counts by label, e.g. `{"200": 31, "503": 12}`.
pub fn histogram<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> BTreeMap<String, usize> {
    let mut h = BTreeMap::new();
    for s in samples {
        *h.entry(s.label()).or_insert(0) += 1;
    }
    h
}
