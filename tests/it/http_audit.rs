//! `GET /admin/audit` over real HTTP, on both backends: who may read the log, how it filters and
//! pages, and that malformed parameters are a 422.

use edu_core::Store;
use edu_tests::{TestApp, call, get, new_group};
use reqwest::Method;

edu_tests::on_both_backends!(
    the_audit_log_is_for_administrators_only,
    the_audit_log_filters_and_pages,
    malformed_audit_queries_are_refused_with_422,
);

async fn the_audit_log_is_for_administrators_only<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let teacher = app.teacher().await;
    for who in [&student, &teacher] {
        get(&app, "/admin/audit", Some(who))
            .await
            .expect_error(403, "forbidden");
        // The guard comes before the input: a malformed query tells them nothing either.
        get(&app, "/admin/audit?since=never", Some(who))
            .await
            .expect_error(403, "forbidden");
    }
    get(&app, "/admin/audit", None).await.expect_error(401, "unauthorized");
}

async fn the_audit_log_filters_and_pages<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let first = new_group(&app, &admin, "ИС-21").await;
    let second = new_group(&app, &admin, "ИС-22").await;
    call(
        &app,
        Method::DELETE,
        &format!("/admin/groups/{first}"),
        Some(&admin),
        None,
    )
    .await
    .expect(200);

    let all = get(&app, "/admin/audit?target=group:", Some(&admin)).await;
    let records = all.expect(200).as_array().expect("a list").clone();
    assert_eq!(all.header("x-total-count"), Some("3"));
    let seen: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap_or_default().to_owned(),
                r["target"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("group.delete".to_owned(), format!("group:{first}")),
            ("group.create".to_owned(), format!("group:{second}")),
            ("group.create".to_owned(), format!("group:{first}")),
        ],
        "newest first"
    );
    assert_eq!(records[0]["actor_iin"], admin.iin.as_str());
    assert_eq!(records[1]["after"]["name"], "ИС-22");

    let page = get(&app, "/admin/audit?target=group:&limit=1&offset=1", Some(&admin)).await;
    assert_eq!(page.expect(200).as_array().map(Vec::len), Some(1));
    assert_eq!(page.expect(200)[0], records[1]);
    assert_eq!(page.header("x-total-count"), Some("3"));

    let deletes = get(&app, "/admin/audit?action=group.delete", Some(&admin)).await;
    assert_eq!(deletes.expect(200).as_array().map(Vec::len), Some(1));
    let by_me = get(
        &app,
        &format!("/admin/audit?actor={}&target=group:", admin.iin),
        Some(&admin),
    )
    .await;
    assert_eq!(by_me.header("x-total-count"), Some("3"));
    let later = get(&app, "/admin/audit?since=2999-01-01", Some(&admin)).await;
    assert_eq!(later.expect(200).as_array().map(Vec::len), Some(0));
    let earlier = get(&app, "/admin/audit?until=2000-01-01T00:00:00Z", Some(&admin)).await;
    assert_eq!(earlier.header("x-total-count"), Some("0"));
}

async fn malformed_audit_queries_are_refused_with_422<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    for query in [
        "since=yesterday",
        "until=2026-13-01",
        "actor=12345",
        "actor=abcdefghijkl",
        "limit=many",
        "since=2026-09-02&until=2026-09-01",
    ] {
        get(&app, &format!("/admin/audit?{query}"), Some(&admin))
            .await
            .expect_error(422, "validation_error");
    }
}
