//! `edu seed` run as the real binary on a SQLite database.

use std::collections::HashSet;

use edu_core::domain::Page;
use edu_core::{ClientInfo, Iin, Store};

use crate::common::{Workdir, text};

const SHAPE: &[&str] = &[
    "seed",
    "--students",
    "30",
    "--groups",
    "3",
    "--teachers",
    "2",
    "--modules",
    "3",
    "--subjects-per-module",
    "2",
    "--lessons-per-subject",
    "5",
    "--modules-per-group",
    "2",
    "--homework-share",
    "1",
    "--test-share",
    "1",
    "--password",
    "seed-pass-1",
];

fn seed(dir: &Workdir, extra: &[&str]) -> std::process::Output {
    let args: Vec<&str> = SHAPE.iter().chain(extra).copied().collect();
    dir.edu(&args)
}

#[tokio::test]
async fn seeds_an_empty_database_and_refuses_a_second_time() {
    let dir = Workdir::new("seed");
    let out = seed(&dir, &["--seed", "5", "--iins-out", "iins.txt"]);
    assert!(out.status.success(), "{}", text(&out));
    let list = std::fs::read_to_string(dir.path("iins.txt")).expect("the IIN list");
    let iins: Vec<&str> = list.lines().collect();
    assert_eq!(iins.len(), 30);
    assert!(iins.iter().all(|i| Iin::parse(i).is_ok()), "{iins:?}");
    assert_eq!(iins.iter().collect::<HashSet<_>>().len(), 30, "distinct IINs");

    let p = dir.platform().await;
    let store = dir.store().await;
    let users = || async { store.list_users(Page::default()).await.expect("users").1 };
    assert_eq!(users().await, 32, "30 students and 2 teachers");
    let session = p
        .login(iins[0], "seed-pass-1", ClientInfo::default())
        .await
        .expect("a seeded student logs in with the seeding password");
    assert!(!session.user.must_change_password);
    let me = p.authenticate(&session.tokens.access_token).await.expect("the token");
    assert!(!p.my_grades(&me).await.expect("grades").is_empty());

    // Refused on a database with groups: nothing written, the IIN list kept.
    let again = seed(&dir, &["--seed", "6", "--iins-out", "iins.txt"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--force"),
        "{}",
        text(&again)
    );
    assert_eq!(users().await, 32);
    assert_eq!(std::fs::read_to_string(dir.path("iins.txt")).expect("kept"), list);
    assert!(!dir.path("iins.txt.partial").exists());

    // The same seed again with --force clashes on IINs: still nothing written.
    let clash = seed(&dir, &["--seed", "5", "--force"]);
    assert_eq!(clash.status.code(), Some(1), "{}", text(&clash));
    assert_eq!(users().await, 32);

    // Another seed with --force adds a second dataset beside the first.
    let forced = seed(&dir, &["--seed", "6", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert_eq!(users().await, 64);
}

#[test]
fn refuses_bad_shapes_before_touching_the_database() {
    let dir = Workdir::new("seed-shape");
    for (args, complaint) in [
        (&["seed", "--students", "30", "--groups", "31"][..], "--groups"),
        (
            &["seed", "--modules", "3", "--modules-per-group", "4"][..],
            "--modules-per-group",
        ),
        (&["seed", "--test-share", "1.5"][..], "--test-share"),
        (&["seed", "--password", "short"][..], "--password"),
    ] {
        let out = dir.edu(args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(complaint),
            "{}",
            text(&out)
        );
    }
    assert!(!dir.path("edu.db").exists(), "no database was created");
}
