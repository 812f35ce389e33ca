//! The file store's upkeep: the marker, the guards of `fsck --repair`, and the sweep of stale files.

use std::time::Duration;

use super::{PDF, admin, bytes_of};
use crate::conformance::Fixture;
use crate::files::{Area, DOCUMENTS, FileKey, StoredFile};
use crate::{FsckOptions, Marking, Platform, Principal, Store, SweepAges};

/// A lesson document uploaded by `who`: a file and the row that refers to it.
async fn document<S: Store>(p: &Platform<S>, who: &Principal) -> String {
    let uploaded = p
        .upload_lesson_file(who, "конспект.pdf", bytes_of(PDF))
        .await
        .expect("uploaded");
    let name = uploaded.url.rsplit('/').next().expect("a file name");
    format!("lessons/{name}")
}

/// A file under a final key with no row, as a crash between the two leaves.
async fn orphan<S: Store>(p: &Platform<S>) -> StoredFile {
    let files = p.files().expect("file store");
    let staged = files
        .stage("lost.pdf", DOCUMENTS, 1000, bytes_of(PDF))
        .await
        .expect("staged");
    files.commit(&staged, Area::Homework).await.expect("committed")
}

async fn exists<S: Store>(p: &Platform<S>, key: &str) -> bool {
    let key = FileKey::parse(key).expect("an edu key");
    p.files().expect("file store").exists(&key).await.expect("head")
}

fn repair(force: bool) -> FsckOptions {
    FsckOptions {
        repair: true,
        force,
        grace: Duration::ZERO,
    }
}

/// A repair is refused without the file store's marker, and, unless forced, when the store and the database disagree too much to be the same.
pub async fn fsck_repair_needs_the_marker_and_a_plausible_store<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let mut documents = Vec::new();
    for _ in 0..6 {
        documents.push(document(p, &admin).await);
    }
    let files = p.files().expect("file store");

    // A store nobody vouched for: nothing is deleted, however small the disagreement.
    files.delete_key(&documents[0]).await.expect("lose one file");
    let stray = orphan(p).await;
    let refused = p.fsck_with(repair(true)).await.expect("fsck");
    assert!(refused.marker.is_none());
    let why = refused.refused.expect("a repair without the marker is refused");
    assert!(why.contains(".edu-store") && why.contains("--init-marker"), "{why}");
    assert!(!refused.repaired);
    let after = p.fsck(false, Duration::ZERO).await.expect("fsck");
    assert_eq!(
        after.missing,
        std::slice::from_ref(&documents[0]),
        "the row is still there"
    );
    assert_eq!(after.orphans, [stray.key.to_string()], "the file is still there");
    assert_eq!(after.missing_rows.len(), 1);
    assert!(
        after.missing_rows[0].row.contains("конспект.pdf"),
        "{:?}",
        after.missing_rows
    );

    // The store is the database's (it holds files the rows refer to): marking it is allowed.
    let marked = p.mark_file_store().await.expect("mark");
    let Marking::Created(marker) = marked else {
        panic!("a store holding the database's files is marked: {marked:?}")
    };
    assert_eq!(
        p.mark_file_store().await.expect("mark"),
        Marking::Present(marker.clone())
    );
    assert_eq!(files.list().await.expect("list").len(), 6, "the marker is never listed");

    // Every file missing, as with an unmounted volume: refused unless forced.
    for key in &documents[1..] {
        files.delete_key(key).await.expect("lose the file");
    }
    let unmounted = p.fsck_with(repair(false)).await.expect("fsck");
    assert_eq!(unmounted.marker, Some(marker));
    assert_eq!(unmounted.missing.len(), 6);
    let why = unmounted.refused.expect("most files missing: refused");
    assert!(why.contains("6 of the 6") && why.contains("mounted"), "{why}");
    assert_eq!(
        p.store().referenced_keys().await.expect("keys").len(),
        6,
        "no row dropped"
    );
    assert!(exists(p, stray.key.as_str()).await, "no file removed");

    let forced = p.fsck_with(repair(true)).await.expect("fsck");
    assert!(forced.repaired && forced.refused.is_none(), "{forced:?}");
    assert!(p.store().referenced_keys().await.expect("keys").is_empty());
    assert!(!exists(p, stray.key.as_str()).await);

    // The other way round: files no row refers to, as with the wrong database. A key that
    // `legacy_files` maps an old path to is never an orphan.
    let kept = orphan(p).await;
    p.store()
        .record_legacy_file("static/lesson_docs/old.pdf", kept.key.as_str())
        .await
        .expect("legacy path");
    let mut strays = Vec::new();
    for _ in 0..6 {
        strays.push(orphan(p).await.key.to_string());
    }
    strays.sort();
    let wrong_db = p.fsck_with(repair(false)).await.expect("fsck");
    assert_eq!(wrong_db.orphans, strays, "the legacy file is not an orphan");
    let why = wrong_db.refused.expect("most files orphaned: refused");
    assert!(why.contains("DATABASE_URL"), "{why}");
    assert!(exists(p, &strays[0]).await);
    let forced = p.fsck_with(repair(true)).await.expect("fsck");
    assert!(forced.repaired, "{forced:?}");
    assert!(!exists(p, &strays[0]).await);
    assert!(exists(p, kept.key.as_str()).await, "the legacy file stays");
    let clean = p.fsck(false, Duration::ZERO).await.expect("fsck");
    assert!(clean.is_clean() && clean.objects == 1, "{clean:?}");
}

/// A file store is marked only when it holds what the database refers to, or when an operator vouches for it.
pub async fn a_store_is_marked_only_when_it_is_the_databases<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let files = p.files().expect("file store").clone();
    // New: nothing stored, nothing referred to.
    let Marking::Created(first) = p.mark_file_store().await.expect("mark") else {
        panic!("a new store is marked")
    };
    assert_eq!(files.marker().await.expect("marker"), Some(first));
    files.delete_key(crate::files::MARKER_KEY).await.expect("unmark");

    // Rows refer to files, but the store holds none of them: an unmounted volume.
    let admin = admin(p).await;
    let document = document(p, &admin).await;
    files.delete_key(&document).await.expect("lose it");
    let Marking::Unmarked(why) = p.mark_file_store().await.expect("mark") else {
        panic!("an empty store under a database with files is not marked")
    };
    assert!(why.contains("mounted"), "{why}");
    assert_eq!(files.marker().await.expect("marker"), None);
    // Until an operator vouches for it.
    let vouched = p.init_file_store_marker().await.expect("init");
    assert_eq!(files.marker().await.expect("marker"), Some(vouched.clone()));
    assert_eq!(
        p.init_file_store_marker().await.expect("init"),
        vouched,
        "kept once there"
    );
}

/// Stale temporary files are swept after their grace period; orphans only in a marked store, and never so many that the database looks wrong.
pub async fn stale_files_are_swept_after_the_grace_period<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let referenced = document(p, &admin).await;
    let crashed = orphan(p).await.key.to_string();
    let legacy = orphan(p).await.key.to_string();
    p.store()
        .record_legacy_file("static/photos/1_old.png", &legacy)
        .await
        .expect("legacy path");
    let files = p.files().expect("file store");
    // An upload cut off before its rename: only a temporary object.
    let interrupted = files
        .stage("cut.pdf", DOCUMENTS, 1000, bytes_of(PDF))
        .await
        .expect("staged");
    let all = SweepAges {
        interrupted: Duration::ZERO,
        orphaned: Duration::ZERO,
    };

    // Without the marker, orphans stay (temporary files are still swept).
    let unmarked = p.sweep_stale_files(all).await.expect("sweep");
    assert!(unmarked.orphans.is_empty(), "{unmarked:?}");
    assert_eq!(unmarked.interrupted.len(), 1, "{unmarked:?}");
    assert!(unmarked.held_back.expect("a reason").contains("no marker"));
    assert!(exists(p, &crashed).await);
    drop(interrupted);

    p.init_file_store_marker().await.expect("marked");
    let _young = files
        .stage("running.pdf", DOCUMENTS, 1000, bytes_of(PDF))
        .await
        .expect("staged");
    let hour = Duration::from_secs(3600);
    let young = p
        .sweep_stale_files(SweepAges {
            interrupted: hour,
            orphaned: hour,
        })
        .await
        .expect("sweep");
    assert!(young.interrupted.is_empty() && young.orphans.is_empty(), "{young:?}");
    assert!(exists(p, &crashed).await, "younger than the grace period");

    let swept = p.sweep_stale_files(all).await.expect("sweep");
    assert_eq!(swept.orphans, std::slice::from_ref(&crashed));
    assert_eq!(swept.interrupted.len(), 1, "{swept:?}");
    assert!(swept.held_back.is_none());
    assert!(!exists(p, &crashed).await);
    assert!(exists(p, &referenced).await, "a file a row refers to stays");
    assert!(exists(p, &legacy).await, "a file legacy_files refers to stays");
    assert!(files.marker().await.expect("marker").is_some(), "the marker stays");
    let report = p.fsck(false, Duration::ZERO).await.expect("fsck");
    assert!(report.is_clean() && report.objects == 2, "{report:?}");

    // So many orphans that the database looks wrong: left in place.
    let mut strays = Vec::new();
    for _ in 0..6 {
        strays.push(orphan(p).await.key.to_string());
    }
    let held = p.sweep_stale_files(all).await.expect("sweep");
    assert!(held.orphans.is_empty(), "{held:?}");
    assert!(held.held_back.expect("a reason").contains("DATABASE_URL"));
    assert!(exists(p, &strays[0]).await);
}

/// Uploads from another process while this one sweeps: each upload's file exists before its row,
/// and the grace period keeps it until the row is there.
pub async fn sweeping_spares_uploads_in_flight_on_another_process<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    p.init_file_store_marker().await.expect("marked");
    let other = fx.second_process().await;
    let ages = SweepAges {
        interrupted: Duration::from_secs(60),
        orphaned: Duration::from_secs(60),
    };
    let uploads = async {
        let mut keys = Vec::new();
        for _ in 0..20 {
            keys.push(document(&other, &admin).await);
        }
        keys
    };
    let sweeps = async {
        let mut removed = Vec::new();
        for _ in 0..20 {
            let report = p.sweep_stale_files(ages).await.expect("sweep");
            removed.extend(report.interrupted);
            removed.extend(report.orphans);
        }
        removed
    };
    let (keys, removed) = tokio::join!(uploads, sweeps);
    assert!(removed.is_empty(), "nothing young is swept: {removed:?}");
    for key in &keys {
        assert!(exists(p, key).await, "{key}");
    }
    assert!(p.fsck(false, Duration::ZERO).await.expect("fsck").is_clean());
}
