//! Login cost: one bcrypt verification at the configured cost, a whole `Platform::login` on
//! SQLite, and the throughput of N logins at once against the number of cores.
//!
//! `BCRYPT_COST` selects the cost (default 12, the product default).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use edu_core::auth::Hasher;
use edu_core::domain::Password;
use edu_core::{ClientInfo, CreateUser, Platform, PlatformConfig, PoolSettings, Role, SqliteStore, Store};

fn cost() -> u32 {
    std::env::var("BCRYPT_COST")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(12)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn bcrypt_verify(c: &mut Criterion) {
    let rt = runtime();
    let hasher = Hasher::new(cost());
    let password = Password::new("correct horse battery").expect("valid");
    let hash = rt.block_on(hasher.hash(&password)).expect("hash");
    let mut g = c.benchmark_group("bcrypt");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function(BenchmarkId::new("verify", format!("cost {}", cost())), |b| {
        b.to_async(&rt).iter(|| hasher.verify(&password, Some(&hash)))
    });
    g.finish();
}

fn login_sqlite(c: &mut Criterion) {
    let rt = runtime();
    let dir = std::env::temp_dir().join(format!("edu-bench-{}", std::process::id()));
    let platform = rt.block_on(async {
        let _ = std::fs::remove_dir_all(&dir);
        let url = format!("sqlite://{}", dir.join("bench.db").display());
        let store = SqliteStore::connect(&url, PoolSettings::default())
            .await
            .expect("open SQLite");
        store.migrate().await.expect("migrate");
        let mut config = PlatformConfig::new(b"bench-signing-key-0123456789abcdef".to_vec());
        config.bcrypt_cost = cost();
        let platform = Platform::new(store, config);
        platform
            .provision_user(CreateUser {
                iin: "990101300123".into(),
                full_name: "Bench User".into(),
                phone: None,
                role: Some(Role::Student),
                password: "bench-password".into(),
            })
            .await
            .expect("create user");
        platform
    });
    let mut g = c.benchmark_group("login");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function(BenchmarkId::new("sqlite", format!("cost {}", cost())), |b| {
        b.to_async(&rt).iter(|| async {
            platform
                .login("990101300123", "bench-password", ClientInfo::default())
                .await
                .expect("login")
        })
    });

    // N logins at once: throughput should grow up to the number of cores, then flatten.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    for n in [1, cores, cores * 4] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("parallel", n), |b| {
            b.to_async(&rt).iter(|| async {
                let tasks: Vec<_> = (0..n)
                    .map(|_| {
                        let p = platform.clone();
                        tokio::spawn(
                            async move { p.login("990101300123", "bench-password", ClientInfo::default()).await },
                        )
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("join").expect("login");
                }
            })
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bcrypt_verify, login_sqlite);
criterion_main!(benches);
