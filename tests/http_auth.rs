//! The auth and account routes over real HTTP, on both backends.

use edu_tests::{Actor, TestApp};
use edu_core::Store;
use serde_json::Value;

edu_tests::on_both_backends!(login_then_check);

async fn login_then_check<S: Store>(app: TestApp<S>) {
    let admin: Actor = app.admin().await;
    let res = app.get("/auth/check", Some(&admin)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["user"]["iin"], admin.iin.as_str());
    assert_eq!(body["user"]["role"], "admin");
}
