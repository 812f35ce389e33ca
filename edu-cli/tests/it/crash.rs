//! The server killed in the middle of an upload: every acknowledged upload is there after a
//! restart, no row points at a missing file, and `edu fsck` finds only the interrupted upload's
//! temporary file (and removes it with `--repair`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Server, free_port, serve};

const ADMIN_IIN: &str = "800101300011";
const ADMIN_PASSWORD: &str = "Admin-pass-1";

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn env(dir: &Path, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", format!("sqlite://{}", dir.join("edu.db").display())),
        ("EDU_DATA_DIR", dir.join("data").display().to_string()),
        ("BCRYPT_COST", "4".into()),
        ("ADMIN_IIN", ADMIN_IIN.into()),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
        ("EDU_BIND", format!("127.0.0.1:{port}")),
    ]
}

fn edu(dir: &Path, port: u16, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_edu"));
    c.args(args).current_dir(dir).env_clear().envs(env(dir, port));
    c
}

async fn start(dir: &Path, port: u16, client: &reqwest::Client) -> Server {
    serve(dir, env(dir, port), port, client).await
}

fn fsck(dir: &Path, port: u16, args: &[&str]) -> (Output, Value) {
    let mut all = vec!["fsck", "--json"];
    all.extend_from_slice(args);
    let out = edu(dir, port, &all).output().expect("edu fsck runs");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "a JSON report; stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, report)
}

fn multipart_head(name: &str) -> (String, Vec<u8>, Vec<u8>) {
    let boundary = "edu-crash-test-boundary".to_owned();
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    let tail = format!("\r\n--{boundary}--\r\n").into_bytes();
    (boundary, head, tail)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_upload_loses_nothing_acknowledged_and_leaves_no_orphan() {
    let dir = Dir(std::env::temp_dir().join(format!("edu-crash-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let port = free_port();
    let client = edu_tests::http().build().expect("http client");
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&dir.0, port, &client).await;

    let login: Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"iin": ADMIN_IIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["access_token"].as_str().expect("token").to_owned();

    // One upload acknowledged with 200.
    let pdf = b"%PDF-1.7\nacknowledged before the crash\n".to_vec();
    let part = reqwest::multipart::Part::bytes(pdf.clone()).file_name("kept.pdf");
    let done: Value = client
        .post(format!("{base}/lessons/upload/lesson-file"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    let url = done["url"].as_str().expect("an url").to_owned();

    // A second upload that stalls halfway; the server is killed while it is in flight.
    let (boundary, head, _tail) = multipart_head("cut.pdf");
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let stalled = tokio::spawn({
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            client
                .post(format!("{base}/lessons/upload/lesson-file"))
                .bearer_auth(&token)
                .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                .body(body)
                .send()
                .await
        }
    });
    let mut first = head;
    first.extend_from_slice(b"%PDF-1.7\n");
    first.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    tx.send(Ok(first)).await.expect("send");
    let tmp = dir.0.join("data").join("files").join("tmp");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "the upload reached the store");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    drop(tx);
    assert!(
        stalled
            .await
            .expect("task")
            .map(|r| !r.status().is_success())
            .unwrap_or(true),
        "the cut upload was never acknowledged"
    );

    // After a restart the acknowledged file is there.
    let _server = start(&dir.0, port, &client).await;
    let download = client
        .get(format!("{base}{url}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("download");
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.bytes().await.expect("bytes").as_ref(), pdf.as_slice());

    // fsck: nothing wrong by default (a young temporary file may still be an upload in progress);
    // asked to look at everything, only the interrupted upload's temporary file, never a row.
    let (out, report) = fsck(&dir.0, port, &[]);
    assert!(out.status.success(), "{report}");
    assert_eq!(
        (report["orphans"].clone(), report["missing"].clone()),
        (json!([]), json!([]))
    );
    let (out, report) = fsck(&dir.0, port, &["--grace", "0"]);
    assert!(!out.status.success(), "the leftover is reported: {report}");
    let orphans = report["orphans"].as_array().expect("orphans").clone();
    assert!(!orphans.is_empty());
    assert!(
        orphans
            .iter()
            .all(|k| k.as_str().is_some_and(|k| k.starts_with("tmp/"))),
        "only temporary files: {orphans:?}"
    );
    assert_eq!(report["missing"], json!([]), "no row lost its file");
    let (out, _) = fsck(&dir.0, port, &["--repair", "--grace", "0"]);
    assert!(out.status.success());
    let (out, report) = fsck(&dir.0, port, &["--grace", "0"]);
    assert!(out.status.success(), "clean after repair: {report}");
    assert_eq!(report["objects"], 1, "the acknowledged file is kept");
}
