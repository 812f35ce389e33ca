//! The smallest embedding: a `Platform` on a SQLite file of its own, an administrator, a login,
//! a group and a student enrolled in it, through the same access checks as the HTTP API.
//!
//! `cargo run -p edu-core --example embed`

use edu_core::{ClientInfo, CreateUser, Platform, PlatformConfig, PoolSettings, Role, SqliteStore, Store};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("edu-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = SqliteStore::connect(
        &format!("sqlite://{}", dir.join("edu.db").display()),
        PoolSettings::default(),
    )
    .await?;
    store.migrate().await?;
    let platform = Platform::new(
        store,
        PlatformConfig::new(b"a long random secret for the example".to_vec()),
    );

    let admin = CreateUser {
        iin: "880101300118".into(),
        full_name: "Әкімші".into(),
        phone: None,
        role: Some(Role::Admin),
        password: "first-admin-password".into(),
    };
    platform.provision_user(admin).await?;
    let session = platform
        .login("880101300118", "first-admin-password", ClientInfo::default())
        .await?;
    let me = platform.authenticate(&session.tokens.access_token).await?;
    let group = platform.create_group(&me, "ПО-23-1", Some("first year")).await?;
    let student = platform
        .provision_user(CreateUser {
            iin: "060101500014".into(),
            full_name: "Қасымов Дәурен".into(),
            phone: None,
            role: Some(Role::Student),
            password: "first-student-password".into(),
        })
        .await?;
    let added = platform.enroll(&me, group.id, &[student.id]).await?;
    println!(
        "{} made group {:?} (id {}) and enrolled {added} student(s)",
        session.user.full_name, group.name, group.id.0
    );

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
