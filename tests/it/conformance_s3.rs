//! The file checks of the conformance suite with uploads kept in an S3-compatible bucket, plus the
//! store's own behaviour there: multipart uploads past the S3 part size, ranges, listing, fsck.
//!
//! The service comes from `EDU_TEST_S3_URL` (an endpoint such as `http://127.0.0.1:9000`; `.ci/run`
//! starts one). Without it these tests are skipped loudly, except under `CI`, where they fail.

use bytes::Bytes;
use edu_core::SqliteStore;
use edu_core::conformance::{Fixture, harness::sqlite_fixture_with_files};
use edu_core::files::{Area, ByteRange, DOCUMENTS, FileError, FileStore};
use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::sync::OnceCell;

const BUCKET: &str = "edu-conformance";

static ENDPOINT: OnceCell<Option<String>> = OnceCell::const_new();

async fn endpoint() -> Option<String> {
    ENDPOINT
        .get_or_init(|| async {
            let Some(url) = std::env::var("EDU_TEST_S3_URL").ok().filter(|u| !u.trim().is_empty()) else {
                let msg = "EDU_TEST_S3_URL is not set: the S3 file store tests cannot run";
                if std::env::var_os("CI").is_some() {
                    panic!("{msg} (refusing to skip under CI)");
                }
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "\n!!! SKIPPING S3 TESTS: {msg}\n");
                return None;
            };
            let url = url.trim_end_matches('/').to_owned();
            // An S3 emulator creates buckets on an unsigned PUT; a real service's bucket is made
            // beforehand, and then this answers 403 or 409, which is fine.
            let created = edu_tests::http()
                .build()
                .expect("http client")
                .put(format!("{url}/{BUCKET}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("the S3 service at {url} does not answer: {e}"));
            assert!(
                created.status().is_success() || created.status().as_u16() == 409,
                "could not create the test bucket: {}",
                created.status()
            );
            Some(url)
        })
        .await
        .clone()
}

/// A store in its own prefix of the test bucket, so that every test sees only its own objects.
async fn s3_store() -> Option<FileStore> {
    let endpoint = endpoint().await?;
    let url = format!("s3://{BUCKET}/t{}", uuid::Uuid::new_v4().simple());
    let options = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_allow_http", "true"),
        ("aws_region", "us-east-1"),
        ("aws_access_key_id", "edu-test"),
        ("aws_secret_access_key", "edu-test-secret"),
    ];
    let store = FileStore::from_url(&url, &options).expect("an S3 store");
    store.check().await.expect("the bucket answers");
    Some(store)
}

async fn s3_fixture() -> Option<Fixture<SqliteStore>> {
    Some(sqlite_fixture_with_files(s3_store().await?).await)
}

edu_core::conformance_tests!(@each s3_fixture, [#[cfg_attr(edu_skip_s3, ignore = "no S3-compatible service: set EDU_TEST_S3_URL")]];
    homework_keeps_history_and_grades_are_audited,
    deleting_users_removes_their_files_and_keeps_grades_they_gave,
    fsck_finds_and_repairs_orphans_and_missing_files,
    fsck_repair_needs_the_marker_and_a_plausible_store,
    a_store_is_marked_only_when_it_is_the_databases,
    stale_files_are_swept_after_the_grace_period,
    sweeping_spares_uploads_in_flight_on_another_process,
    concurrent_submissions_are_stored_once_each,
);

/// A PDF of `len` bytes whose content is a function of the offset, in chunks of `chunk`.
fn pdf(len: usize, chunk: usize) -> (Vec<u8>, impl futures_util::Stream<Item = Result<Bytes, std::io::Error>>) {
    let mut data: Vec<u8> = b"%PDF-1.7\n".to_vec();
    data.extend((data.len()..len).map(|i| (i % 251) as u8));
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        data.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    (data, stream::iter(chunks))
}

async fn read_all(store: &FileStore, key: &edu_core::files::FileKey, range: Option<ByteRange>) -> Vec<u8> {
    let download = store.open(key, range).await.expect("open");
    let parts: Vec<Bytes> = download.body.try_collect().await.expect("read");
    parts.concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(edu_skip_s3, ignore = "no S3-compatible service: set EDU_TEST_S3_URL")]
async fn large_uploads_go_in_parts_and_read_back_in_ranges() {
    let Some(store) = s3_store().await else { return };
    // Past two S3 parts, sent in odd-sized chunks.
    let (data, body) = pdf(11 * 1024 * 1024 + 17, 300_001);
    let staged = store
        .stage("lecture.pdf", DOCUMENTS, 50 * 1024 * 1024, body)
        .await
        .expect("staged");
    let stored = store.commit(&staged, Area::Lessons).await.expect("committed");
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(read_all(&store, &stored.key, None).await, data, "byte for byte");
    let middle = read_all(
        &store,
        &stored.key,
        Some(ByteRange::From {
            start: 5 * 1024 * 1024 - 3,
            end: Some(5 * 1024 * 1024 + 9),
        }),
    )
    .await;
    assert_eq!(middle, data[5 * 1024 * 1024 - 3..=5 * 1024 * 1024 + 9]);
    let tail = read_all(&store, &stored.key, Some(ByteRange::Last(10))).await;
    assert_eq!(tail, data[data.len() - 10..]);

    let listed = store.list().await.expect("list");
    let keys: Vec<&str> = listed.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(keys, [stored.key.as_str()], "the temporary key is gone after commit");
    store.remove_all(std::slice::from_ref(&stored.key)).await;
    assert!(!store.exists(&stored.key).await.expect("head"));
    assert!(matches!(store.open(&stored.key, None).await, Err(FileError::NotFound)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(edu_skip_s3, ignore = "no S3-compatible service: set EDU_TEST_S3_URL")]
async fn a_refused_or_broken_upload_leaves_nothing_in_the_bucket() {
    let Some(store) = s3_store().await else { return };
    let (_, body) = pdf(7 * 1024 * 1024, 1024 * 1024);
    let too_large = store.stage("big.pdf", DOCUMENTS, 6 * 1024 * 1024, body).await;
    assert!(matches!(too_large, Err(FileError::TooLarge { .. })), "{too_large:?}");

    let (_, body) = pdf(6 * 1024 * 1024, 1024 * 1024);
    let broken = body.take(3).chain(stream::once(async {
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        ))
    }));
    let interrupted = store.stage("cut.pdf", DOCUMENTS, 50 * 1024 * 1024, broken).await;
    assert!(matches!(interrupted, Err(FileError::Interrupted(_))), "{interrupted:?}");

    let disguised = stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"<html><script>"))]);
    let rejected = store.stage("notes.pdf", DOCUMENTS, 1024, disguised).await;
    assert!(matches!(rejected, Err(FileError::Rejected(_))), "{rejected:?}");

    assert!(store.list().await.expect("list").is_empty(), "nothing is left behind");
}

#[tokio::test]
#[cfg_attr(edu_skip_s3, ignore = "no S3-compatible service: set EDU_TEST_S3_URL")]
async fn a_wrong_endpoint_is_reported_at_start() {
    if endpoint().await.is_none() {
        return;
    }
    let store = FileStore::from_url(
        "s3://edu-conformance/x",
        &[
            ("aws_endpoint", "http://127.0.0.1:9"),
            ("aws_allow_http", "true"),
            ("aws_region", "us-east-1"),
            ("aws_access_key_id", "k"),
            ("aws_secret_access_key", "s"),
            ("aws_connect_timeout", "1s"),
        ],
    )
    .expect("the URL and settings are valid");
    assert!(store.check().await.is_err(), "nothing listens on port 9");
    let bad = FileStore::from_url("s3://edu-conformance/x", &[("no_such_setting", "1")]);
    assert!(matches!(bad, Err(FileError::Config(_))), "{bad:?}");
}

#[tokio::test]
#[cfg_attr(edu_skip_s3, ignore = "no S3-compatible service: set EDU_TEST_S3_URL")]
async fn the_marker_lives_in_the_bucket_and_is_never_listed() {
    let Some(store) = s3_store().await else { return };
    assert_eq!(store.marker().await.expect("read"), None, "a new prefix has no marker");
    assert!(!store.holds_files().await.expect("list"));
    let marker = store.write_marker().await.expect("written");
    assert_eq!(store.marker().await.expect("read"), Some(marker));
    assert!(store.list().await.expect("list").is_empty(), "the marker is not listed");
    assert!(!store.holds_files().await.expect("list"), "the marker is not a file");
    let (_, body) = pdf(1000, 100);
    let staged = store.stage("a.pdf", DOCUMENTS, 10_000, body).await.expect("staged");
    assert!(
        !store.holds_files().await.expect("list"),
        "a temporary upload is not a file"
    );
    store.commit(&staged, Area::Lessons).await.expect("committed");
    assert!(store.holds_files().await.expect("list"));
}
