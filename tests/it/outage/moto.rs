//! An S3-compatible service of the test's own (`moto_server` on a free port), to be killed.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts `program` and waits until it answers.
    pub async fn start(program: &str) -> Moto {
        let port = super::free_port();
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let client = edu_tests::http().build().expect("http client");
        for _ in 0..150 {
            let up = client
                .get(format!("{}/moto-api/", moto.endpoint))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                return moto;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{program} did not answer on {} within 30 s", moto.endpoint);
    }

    /// Kills the service at once, as a crash or a lost network would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
    }
}
