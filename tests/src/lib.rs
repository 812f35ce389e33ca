//! Helpers shared by the integration tests: a real server on `127.0.0.1:0` over a fresh database,
//! and typed helpers for acting as users of each role.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use edu_core::conformance::Fixture;
use edu_core::{CreateUser, Role, Store};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use edu_core::conformance::{pg_fixture, sqlite_fixture};

/// A running server and the database behind it.
pub struct TestApp<S: Store> {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub fx: Fixture<S>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub iin: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
    pub role: Role,
}

impl Actor {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

static NEXT_IIN: AtomicU64 = AtomicU64::new(100_000_000_001);

/// A fresh, valid IIN (unique within the test process).
pub fn fresh_iin() -> String {
    format!("{:012}", NEXT_IIN.fetch_add(1, Ordering::Relaxed))
}

impl<S: Store> TestApp<S> {
    pub async fn spawn(fx: Fixture<S>) -> Self {
        Self::spawn_with(
            fx,
            edu_http::Options {
                api_docs: true,
                ..edu_http::Options::default()
            },
        )
        .await
    }

    pub async fn spawn_with(fx: Fixture<S>, options: edu_http::Options) -> Self {
        init_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a test port");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        let platform = fx.platform.clone();
        let server = tokio::spawn(edu_http::serve_with(platform, listener, options, async {
            let _ = rx.await;
        }));
        Self {
            addr,
            client: reqwest::Client::builder().build().expect("http client"),
            fx,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates a user of `role` directly in the core and logs them in over HTTP.
    pub async fn user(&self, role: Role) -> Actor {
        let iin = fresh_iin();
        let password = format!("pw-{iin}");
        let profile = self
            .fx
            .platform
            .provision_user(CreateUser {
                iin: iin.clone(),
                full_name: format!("{role} {iin}"),
                phone: None,
                role: Some(role),
                password: password.clone(),
            })
            .await
            .expect("provision test user");
        let body = self.login(&iin, &password).await;
        Actor {
            id: profile.id.0,
            iin,
            password,
            token: body["access_token"].as_str().expect("access token").to_owned(),
            refresh_token: body["refresh_token"].as_str().expect("refresh token").to_owned(),
            role,
        }
    }

    pub async fn admin(&self) -> Actor {
        self.user(Role::Admin).await
    }

    pub async fn teacher(&self) -> Actor {
        self.user(Role::Teacher).await
    }

    pub async fn student(&self) -> Actor {
        self.user(Role::Student).await
    }

    /// `POST /auth/login`, expecting success.
    pub async fn login(&self, iin: &str, password: &str) -> Value {
        let res = self.post_login(iin, password).await;
        assert_eq!(res.status(), 200, "login of {iin} failed");
        res.json().await.expect("login body")
    }

    pub async fn post_login(&self, iin: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/auth/login"))
            .json(&serde_json::json!({"iin": iin, "password": password}))
            .send()
            .await
            .expect("request")
    }

    /// A request with an optional bearer token.
    pub fn request(&self, method: reqwest::Method, path: &str, who: Option<&Actor>) -> reqwest::RequestBuilder {
        let req = self.client.request(method, self.url(path));
        match who {
            Some(a) => req.header("authorization", a.bearer()),
            None => req,
        }
    }

    pub async fn get(&self, path: &str, who: Option<&Actor>) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, who)
            .send()
            .await
            .expect("request")
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }
}

impl<S: Store> Drop for TestApp<S> {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Logs stay quiet unless `TEST_LOG` is set.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_test_writer()
            .try_init();
    }
}

/// Runs each named `async fn name<S: Store>(app: TestApp<S>)` against SQLite and PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(fx) = $crate::sqlite_fixture().await else { return };
                    super::$name($crate::TestApp::spawn(fx).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(fx) = $crate::pg_fixture().await else { return };
                    super::$name($crate::TestApp::spawn(fx).await).await;
                }
            )*
        }
    };
}
