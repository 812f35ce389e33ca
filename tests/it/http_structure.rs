//! Groups, modules, subjects and access links over real HTTP, on both backends: an authorization
//! matrix of every route under `/admin/groups`, `/admin/modules` and `/access` for each kind of
//! caller, then the behaviour each route promises, each check trying to break a rule.

use edu_core::Store;
use edu_tests::{
    Actor, Reply, TestApp, add_members, assign, call, get, link, new_group, new_module, new_subject, read,
};
use reqwest::Method;
use serde_json::{Value, json};

edu_tests::on_both_backends!(
    admin_routes_answer_401_403_and_200_by_role,
    staff_routes_answer_by_role_and_ownership,
    own_routes_hide_modules_of_other_groups_and_subjects,
    hidden_and_missing_modules_answer_alike,
    ids_that_are_not_numbers_are_404,
    groups_have_unique_names_and_the_legacy_shape,
    deleting_a_group_keeps_its_users,
    deleting_a_group_with_users_keeps_admins,
    adding_members_checks_every_id_and_the_body,
    removing_a_member,
    modules_accept_null_description_and_numeric_course,
    module_update_is_partial,
    deleting_a_module_removes_its_subjects_but_not_groups,
    subject_titles_are_unique_per_module_ignoring_case,
    group_to_module_is_idempotent,
    teacher_to_subject_refuses_non_teachers,
    subject_group_link_and_unlink_change_what_students_see,
    my_modules_depend_on_the_role,
    lessons_of_hidden_subjects_are_404,
    concurrent_writes_never_answer_5xx,
    groups_subjects_and_modules_are_edited_in_place,
    members_move_between_groups_and_names_are_unique_in_any_case,
);

/// A request with a raw body (for malformed JSON).
async fn call_raw<S: Store>(app: &TestApp<S>, method: Method, path: &str, who: &Actor, body: &str) -> Reply {
    let req = app
        .request(method, path, Some(who))
        .header("content-type", "application/json")
        .body(body.to_owned());
    read(req.send().await.expect("request")).await
}

/// The ids of the modules in a list response.
fn module_ids(body: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = body
        .as_array()
        .expect("a list of modules")
        .iter()
        .map(|m| m["id"].as_i64().expect("module id"))
        .collect();
    ids.sort_unstable();
    ids
}

/// Two modules, each with a subject taught by its own teacher and linked to its own group, each
/// group with one student; and a student in no group and a teacher of nothing.
struct World {
    admin: Actor,
    /// Teaches `s1` in `m1`.
    teacher1: Actor,
    /// Teaches `s2` in `m2`: a teacher of another subject.
    teacher2: Actor,
    /// Teaches nothing.
    idle_teacher: Actor,
    /// In `g1`, which is linked to `m1`.
    student1: Actor,
    /// In `g2`, which is linked to `m2`: a student of another group.
    student2: Actor,
    /// In no group.
    loner: Actor,
    g1: i64,
    g2: i64,
    m1: i64,
    m2: i64,
    s1: i64,
    s2: i64,
}

async fn world<S: Store>(app: &TestApp<S>) -> World {
    let admin = app.admin().await;
    let (teacher1, teacher2, idle_teacher) = (app.teacher().await, app.teacher().await, app.teacher().await);
    let (student1, student2, loner) = (app.student().await, app.student().await, app.student().await);
    let g1 = new_group(app, &admin, "ИС-21").await;
    let g2 = new_group(app, &admin, "ИС-22").await;
    add_members(app, &admin, g1, &[student1.id]).await;
    add_members(app, &admin, g2, &[student2.id]).await;
    let m1 = new_module(app, &admin, "Модуль 1").await;
    let m2 = new_module(app, &admin, "Модуль 2").await;
    let s1 = new_subject(app, &admin, m1, "Математика").await;
    let s2 = new_subject(app, &admin, m2, "Физика").await;
    assign(app, &admin, &teacher1, m1, s1).await;
    assign(app, &admin, &teacher2, m2, s2).await;
    link(app, &admin, g1, m1).await;
    link(app, &admin, g2, m2).await;
    World {
        admin,
        teacher1,
        teacher2,
        idle_teacher,
        student1,
        student2,
        loner,
        g1,
        g2,
        m1,
        m2,
        s1,
        s2,
    }
}

/// Every admin-only route: 401 without a token, 403 for a student and for a teacher (before any
/// validation or lookup), and the documented success for an admin. Each row gets fresh objects,
/// so a guard that let a lower role through would also show as the admin's call failing.
async fn admin_routes_answer_401_403_and_200_by_role<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let a = &w.admin;
    let victim = app.student().await;
    let mut n = 0;
    let mut fresh = |prefix: &str| {
        n += 1;
        format!("{prefix}-{n}")
    };
    // (method, path, body, status for the admin)
    let mut rows: Vec<(Method, String, Option<Value>, u16)> = vec![
        (
            Method::POST,
            "/admin/groups/".into(),
            Some(json!({"name": fresh("new")})),
            200,
        ),
        (Method::GET, "/admin/groups/".into(), None, 200),
        (Method::GET, "/admin/groups".into(), None, 200),
        (Method::GET, format!("/admin/groups/{}", w.g1), None, 200),
        (Method::GET, format!("/admin/groups/{}/users", w.g1), None, 200),
        (Method::GET, "/admin/groups/987654".into(), None, 404),
        (Method::GET, "/admin/modules/with-teachers".into(), None, 200),
        (Method::POST, "/admin/modules/".into(), Some(json!({"title": "M"})), 200),
        (
            Method::PUT,
            format!("/admin/modules/{}", w.m1),
            Some(json!({"course": "3"})),
            200,
        ),
        (
            Method::PUT,
            "/admin/modules/987654".into(),
            Some(json!({"course": "3"})),
            404,
        ),
        (
            Method::POST,
            format!("/admin/modules/{}/subjects", w.m1),
            Some(json!({"title": "Химия"})),
            200,
        ),
        (
            Method::POST,
            "/admin/modules/987654/subjects".into(),
            Some(json!({"title": "Химия"})),
            404,
        ),
        (Method::DELETE, "/admin/modules/subjects/987654".into(), None, 404),
        (Method::GET, "/access/access-overview".into(), None, 200),
        (Method::GET, format!("/access/module/{}/groups", w.m1), None, 200),
        (Method::GET, "/access/admin-modules".into(), None, 200),
        (Method::GET, format!("/access/admin-modules/{}", w.m2), None, 200),
        (Method::GET, "/access/admin-modules/987654".into(), None, 404),
        (
            Method::POST,
            "/access/admin/group-to-module".into(),
            Some(json!({"group_id": w.g2, "module_id": w.m1})),
            200,
        ),
        (
            Method::POST,
            "/access/admin/teacher-to-subject".into(),
            Some(json!({"teacher_iin": w.idle_teacher.iin, "module_id": w.m2, "subject_id": w.s2})),
            200,
        ),
    ];
    // Destructive rows, each on its own objects.
    let g = new_group(&app, a, &fresh("del")).await;
    rows.push((Method::DELETE, format!("/admin/groups/{g}"), None, 200));
    let g = new_group(&app, a, &fresh("del-all")).await;
    add_members(&app, a, g, &[victim.id]).await;
    rows.push((Method::DELETE, format!("/admin/groups/{g}/with-users"), None, 200));
    let g = new_group(&app, a, &fresh("add")).await;
    rows.push((
        Method::POST,
        format!("/admin/groups/{g}/users"),
        Some(json!([w.loner.id])),
        200,
    ));
    let g = new_group(&app, a, &fresh("rm")).await;
    add_members(&app, a, g, &[w.loner.id]).await;
    rows.push((
        Method::DELETE,
        format!("/admin/groups/{g}/users/{}", w.loner.id),
        None,
        200,
    ));
    let m = new_module(&app, a, "doomed").await;
    rows.push((Method::DELETE, format!("/admin/modules/{m}"), None, 200));
    let m = new_module(&app, a, "with doomed subject").await;
    let s = new_subject(&app, a, m, "doomed").await;
    rows.push((Method::DELETE, format!("/admin/modules/subjects/{s}"), None, 200));
    let g = new_group(&app, a, &fresh("link")).await;
    rows.push((Method::POST, format!("/access/subjects/{}/groups/{g}", w.s1), None, 200));
    let g = new_group(&app, a, &fresh("unlink")).await;
    link(&app, a, g, w.m2).await;
    rows.push((
        Method::DELETE,
        format!("/access/subjects/{}/groups/{g}", w.s2),
        None,
        200,
    ));

    for (method, path, body, admin_status) in rows {
        let none = call(&app, method.clone(), &path, None, body.clone()).await;
        assert_eq!(none.status, 401, "{method} {path} without a token: {}", none.body);
        for (who, label) in [
            (&w.student1, "student"),
            (&w.student2, "student of another group"),
            (&w.teacher1, "teacher"),
            (&w.idle_teacher, "teacher of nothing"),
        ] {
            let r = call(&app, method.clone(), &path, Some(who), body.clone()).await;
            assert_eq!(r.status, 403, "{method} {path} as {label}: {}", r.body);
            assert_eq!(r.body["code"], "forbidden", "{method} {path} as {label}: {}", r.body);
        }
        let r = call(&app, method.clone(), &path, Some(a), body.clone()).await;
        assert_eq!(r.status, admin_status, "{method} {path} as admin: {}", r.body);
    }
    // The victim of with-users is gone; nothing a lower role sent took effect before the admin's call.
    get(&app, &format!("/user/by-iin/{}", victim.iin), Some(a))
        .await
        .expect(404);
}

/// The teacher routes: 401, 403 for students, a teacher's own modules only, everything for admins.
async fn staff_routes_answer_by_role_and_ownership<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    for path in ["/access/teacher-modules", "/access/teacher-subjects"] {
        get(&app, path, None).await.expect(401);
        get(&app, path, Some(&w.student1)).await.expect(403);
        get(&app, path, Some(&w.loner)).await.expect(403);
        get(&app, path, Some(&w.teacher1)).await.expect(200);
        get(&app, path, Some(&w.admin)).await.expect(200);
    }
    let mine = format!("/access/teacher-modules/{}", w.m1);
    get(&app, &mine, None).await.expect(401);
    get(&app, &mine, Some(&w.student1)).await.expect(403);
    get(&app, &mine, Some(&w.teacher1)).await.expect(200);
    get(&app, &mine, Some(&w.teacher2)).await.expect(404);
    get(&app, &mine, Some(&w.idle_teacher)).await.expect(404);
    get(&app, &mine, Some(&w.admin)).await.expect(200);

    let r = get(&app, "/access/teacher-modules", Some(&w.teacher1)).await;
    assert_eq!(module_ids(r.expect(200)), vec![w.m1]);
    let r = get(&app, "/access/teacher-modules", Some(&w.idle_teacher)).await;
    assert_eq!(module_ids(r.expect(200)), Vec::<i64>::new());
    let r = get(&app, "/access/teacher-modules", Some(&w.admin)).await;
    assert_eq!(module_ids(r.expect(200)), vec![w.m1, w.m2]);

    let r = get(&app, "/access/teacher-subjects", Some(&w.teacher2)).await;
    let subjects: Vec<i64> = r
        .expect(200)
        .as_array()
        .expect("a list of subjects")
        .iter()
        .map(|s| s["id"].as_i64().expect("subject id"))
        .collect();
    assert_eq!(subjects, vec![w.s2]);
    let r = get(&app, "/access/teacher-subjects", Some(&w.admin)).await;
    assert_eq!(r.expect(200).as_array().expect("subjects").len(), 2);
}

/// auth(own) reads: a student of the linked group and the subject's teacher see the module; a
/// student of another group, a student in no group and a teacher of another subject get 404.
async fn own_routes_hide_modules_of_other_groups_and_subjects<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let paths = [
        format!("/admin/modules/{}", w.m1),
        format!("/access/my-modules/{}", w.m1),
        format!("/access/subjects/{}/lessons", w.s1),
    ];
    for path in &paths {
        get(&app, path, None).await.expect(401);
        for (who, label, status) in [
            (&w.student1, "student of the linked group", 200),
            (&w.teacher1, "teacher of the subject", 200),
            (&w.admin, "admin", 200),
            (&w.student2, "student of another group", 404),
            (&w.loner, "student in no group", 404),
            (&w.teacher2, "teacher of another subject", 404),
            (&w.idle_teacher, "teacher of nothing", 404),
        ] {
            let r = get(&app, path, Some(who)).await;
            assert_eq!(r.status, status, "GET {path} as {label}: {}", r.body);
        }
    }
    // The module a caller sees is the one asked for, with its subject and teacher.
    let r = get(&app, &format!("/access/my-modules/{}", w.m1), Some(&w.student1)).await;
    let body = r.expect(200);
    assert_eq!(body["id"], w.m1);
    assert_eq!(body["subjects"][0]["id"], w.s1);
    assert_eq!(body["subjects"][0]["teacher"]["id"], w.teacher1.id);
    // And the mirror image for the other module.
    for (who, status) in [
        (&w.student2, 200),
        (&w.teacher2, 200),
        (&w.student1, 404),
        (&w.teacher1, 404),
    ] {
        let r = get(&app, &format!("/admin/modules/{}", w.m2), Some(who)).await;
        assert_eq!(r.status, status, "module 2 as {}: {}", who.iin, r.body);
    }
    // Lists are filtered the same way.
    let r = get(&app, "/admin/modules/", Some(&w.student2)).await;
    assert_eq!(module_ids(r.expect(200)), vec![w.m2]);
    let r = get(&app, "/admin/modules/", Some(&w.loner)).await;
    assert_eq!(module_ids(r.expect(200)), Vec::<i64>::new());
    get(&app, "/admin/modules/", None).await.expect(401);
    get(&app, "/access/my-modules", None).await.expect(401);
    get(&app, "/access/lessons/1", None).await.expect(401);
}

/// A hidden module answers exactly like one that does not exist: existence does not leak.
async fn hidden_and_missing_modules_answer_alike<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    for prefix in ["/admin/modules", "/access/my-modules"] {
        let hidden = get(&app, &format!("{prefix}/{}", w.m2), Some(&w.student1)).await;
        let missing = get(&app, &format!("{prefix}/987654"), Some(&w.student1)).await;
        hidden.expect(404);
        missing.expect(404);
        assert_eq!(hidden.body, missing.body, "{prefix}: hidden and missing differ");
    }
    let hidden = get(&app, &format!("/access/subjects/{}/lessons", w.s2), Some(&w.teacher1)).await;
    let missing = get(&app, "/access/subjects/987654/lessons", Some(&w.teacher1)).await;
    hidden.expect(404);
    assert_eq!(hidden.body, missing.body);
}

/// Ids that are not numbers (or do not fit in 64 bits) are 404, never 5xx; negative ids are unknown ids.
async fn ids_that_are_not_numbers_are_404<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let admin = Some(&w.admin);
    for bad in [
        "abc",
        "1.5",
        "99999999999999999999999",
        "%00",
        "1;DROP%20TABLE%20groups",
        "-1",
        "0",
    ] {
        for (method, path) in [
            (Method::GET, format!("/admin/groups/{bad}")),
            (Method::DELETE, format!("/admin/groups/{bad}")),
            (Method::DELETE, format!("/admin/groups/{bad}/with-users")),
            (Method::GET, format!("/admin/groups/{bad}/users")),
            (Method::DELETE, format!("/admin/groups/{}/users/{bad}", w.g1)),
            (Method::GET, format!("/admin/modules/{bad}")),
            (Method::DELETE, format!("/admin/modules/{bad}")),
            (Method::DELETE, format!("/admin/modules/subjects/{bad}")),
            (Method::GET, format!("/access/module/{bad}/groups")),
            (Method::GET, format!("/access/admin-modules/{bad}")),
            (Method::GET, format!("/access/my-modules/{bad}")),
            (Method::GET, format!("/access/teacher-modules/{bad}")),
            (Method::GET, format!("/access/subjects/{bad}/lessons")),
            (Method::POST, format!("/access/subjects/{bad}/groups/{}", w.g1)),
            (Method::DELETE, format!("/access/subjects/{}/groups/{bad}", w.s1)),
            (Method::GET, format!("/access/lessons/{bad}")),
        ] {
            let r = call(&app, method.clone(), &path, admin, None).await;
            assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        }
        let r = call(
            &app,
            Method::PUT,
            &format!("/admin/modules/{bad}"),
            admin,
            Some(json!({"title": "x"})),
        )
        .await;
        assert_eq!(r.status, 404, "PUT /admin/modules/{bad}: {}", r.body);
    }
    // Ids as strings or huge numbers in JSON bodies are validation errors.
    for body in [
        json!({"group_id": "1", "module_id": w.m1}),
        json!({"group_id": 1e30, "module_id": w.m1}),
        json!({"group_id": w.g1}),
        json!("1"),
    ] {
        let r = call(
            &app,
            Method::POST,
            "/access/admin/group-to-module",
            admin,
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
    }
    // Nothing was deleted along the way.
    get(&app, &format!("/admin/groups/{}", w.g1), admin).await.expect(200);
    let r = get(&app, &format!("/admin/groups/{}/users", w.g1), admin).await;
    assert_eq!(r.expect(200).as_array().expect("members").len(), 1);
}

async fn groups_have_unique_names_and_the_legacy_shape<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let r = call(
        &app,
        Method::POST,
        "/admin/groups/",
        Some(&admin),
        Some(json!({"name": "ВТ-11", "description": "первый курс"})),
    )
    .await;
    let g = r.expect(200);
    assert!(g["id"].as_i64().is_some(), "{g}");
    assert_eq!(g["name"], "ВТ-11");
    assert_eq!(g["title"], "ВТ-11");
    assert_eq!(g["description"], "первый курс");
    let id = r.id();

    let dup = call(
        &app,
        Method::POST,
        "/admin/groups/",
        Some(&admin),
        Some(json!({"name": "ВТ-11"})),
    )
    .await;
    assert_eq!(dup.expect(409)["code"], "conflict", "{}", dup.body);
    // Surrounding spaces do not make another name.
    let dup = call(
        &app,
        Method::POST,
        "/admin/groups/",
        Some(&admin),
        Some(json!({"name": "  ВТ-11 "})),
    )
    .await;
    dup.expect(409);
    // The legacy field name `title` works too.
    let r = call(
        &app,
        Method::POST,
        "/admin/groups/",
        Some(&admin),
        Some(json!({"title": "ВТ-12"})),
    )
    .await;
    assert_eq!(r.expect(200)["name"], "ВТ-12");

    for body in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": 5}),
        json!({"name": null}),
    ] {
        let r = call(&app, Method::POST, "/admin/groups/", Some(&admin), Some(body.clone())).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
    }
    let r = call_raw(&app, Method::POST, "/admin/groups/", &admin, "{\"name\": ").await;
    r.expect(400);

    let r = get(&app, &format!("/admin/groups/{id}"), Some(&admin)).await;
    let g = r.expect(200);
    assert_eq!(
        (g["id"].as_i64(), &g["name"], &g["title"]),
        (Some(id), &json!("ВТ-11"), &json!("ВТ-11"))
    );
    assert_eq!(g["users"], json!([]));

    let r = get(&app, "/admin/groups/", Some(&admin)).await;
    let list = r.expect(200).as_array().expect("a list of groups").clone();
    assert_eq!(list.len(), 2);
    for g in &list {
        assert!(
            g["id"].is_i64() && g["name"].is_string() && g["title"] == g["name"],
            "{g}"
        );
    }
    get(&app, "/admin/groups/?limit=1&offset=0", Some(&admin))
        .await
        .expect(200);
    get(&app, "/admin/groups/?limit=abc", Some(&admin)).await.expect(422);
}

async fn deleting_a_group_keeps_its_users<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let (student, teacher) = (app.student().await, app.teacher().await);
    let g = new_group(&app, &admin, "temp").await;
    let m = new_module(&app, &admin, "linked").await;
    add_members(&app, &admin, g, &[student.id, teacher.id]).await;
    link(&app, &admin, g, m).await;

    call(&app, Method::DELETE, &format!("/admin/groups/{g}"), Some(&admin), None)
        .await
        .expect(200);
    get(&app, &format!("/admin/groups/{g}"), Some(&admin)).await.expect(404);
    call(&app, Method::DELETE, &format!("/admin/groups/{g}"), Some(&admin), None)
        .await
        .expect(404);
    for who in [&student, &teacher] {
        get(&app, &format!("/user/by-iin/{}", who.iin), Some(&admin))
            .await
            .expect(200);
        // Their tokens still work.
        get(&app, "/auth/check", Some(who)).await.expect(200);
    }
    // The module stays, without the link.
    let r = get(&app, &format!("/access/module/{m}/groups"), Some(&admin)).await;
    assert_eq!(r.expect(200), &json!([]));
    let r = get(&app, "/access/my-modules", Some(&student)).await;
    assert_eq!(r.expect(200), &json!([]));
}

async fn deleting_a_group_with_users_keeps_admins<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let other_admin = app.admin().await;
    let (student, teacher, bystander) = (app.student().await, app.teacher().await, app.student().await);
    let g = new_group(&app, &admin, "doomed").await;
    let keep = new_group(&app, &admin, "kept").await;
    add_members(&app, &admin, g, &[student.id, teacher.id, other_admin.id]).await;
    // The student is also in another group, and teaches nothing; the teacher teaches a subject.
    add_members(&app, &admin, keep, &[student.id, bystander.id]).await;
    let m = new_module(&app, &admin, "m").await;
    let s = new_subject(&app, &admin, m, "s").await;
    assign(&app, &admin, &teacher, m, s).await;
    link(&app, &admin, g, m).await;

    // A lower role cannot do it.
    let path = format!("/admin/groups/{g}/with-users");
    call(&app, Method::DELETE, &path, Some(&teacher), None)
        .await
        .expect(403);

    let r = call(&app, Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(r.expect(200)["deleted_users"], 2, "{}", r.body);
    get(&app, &format!("/admin/groups/{g}"), Some(&admin)).await.expect(404);
    for gone in [&student, &teacher] {
        get(&app, &format!("/user/by-iin/{}", gone.iin), Some(&admin))
            .await
            .expect(404);
        get(&app, "/auth/check", Some(gone)).await.expect(401);
    }
    get(&app, &format!("/user/by-iin/{}", other_admin.iin), Some(&admin))
        .await
        .expect(200);
    get(&app, "/auth/check", Some(&other_admin)).await.expect(200);
    // The other group keeps its other member; the subject stays, without a teacher.
    let r = get(&app, &format!("/admin/groups/{keep}/users"), Some(&admin)).await;
    let members: Vec<i64> = r
        .expect(200)
        .as_array()
        .expect("members")
        .iter()
        .map(|u| u["id"].as_i64().expect("user id"))
        .collect();
    assert_eq!(members, vec![bystander.id]);
    let r = get(&app, &format!("/admin/modules/{m}"), Some(&admin)).await;
    let body = r.expect(200);
    assert_eq!(body["subjects"][0]["id"], s);
    assert_eq!(body["subjects"][0]["teacher"], Value::Null);
    call(&app, Method::DELETE, &path, Some(&admin), None).await.expect(404);
}

async fn adding_members_checks_every_id_and_the_body<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let (s1, s2) = (app.student().await, app.student().await);
    let g = new_group(&app, &admin, "g").await;
    let path = format!("/admin/groups/{g}/users");

    let r = call(&app, Method::POST, &path, Some(&admin), Some(json!([s1.id, s2.id]))).await;
    assert_eq!(r.expect(200)["added"], 2);
    // Again, with a duplicate inside the list: nothing new.
    let r = call(
        &app,
        Method::POST,
        &path,
        Some(&admin),
        Some(json!([s1.id, s1.id, s2.id])),
    )
    .await;
    assert_eq!(r.expect(200)["added"], 0);
    let r = call(&app, Method::POST, &path, Some(&admin), Some(json!([]))).await;
    assert_eq!(r.expect(200)["added"], 0);

    // One unknown id: 404 and nobody is added.
    let s3 = app.student().await;
    let r = call(&app, Method::POST, &path, Some(&admin), Some(json!([s3.id, 987_654]))).await;
    r.expect(404);
    let r = get(&app, &path, Some(&admin)).await;
    assert_eq!(r.expect(200).as_array().expect("members").len(), 2);

    for body in [
        json!({"user_ids": [s3.id]}),
        json!(s3.id),
        json!([s3.iin]),
        json!(["x"]),
        json!([1.5]),
        json!(null),
    ] {
        let r = call(&app, Method::POST, &path, Some(&admin), Some(body.clone())).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
    }
    for raw in ["[1,", "not json", "[1, 2]]", ""] {
        let r = call_raw(&app, Method::POST, &path, &admin, raw).await;
        assert!(
            r.status == 400 || (raw.is_empty() && r.status == 422),
            "{raw:?}: {} {}",
            r.status,
            r.body
        );
    }
    let r = call(
        &app,
        Method::POST,
        "/admin/groups/987654/users",
        Some(&admin),
        Some(json!([s3.id])),
    )
    .await;
    r.expect(404);
    get(&app, "/admin/groups/987654/users", Some(&admin)).await.expect(404);

    // The members list has the user shape, never a password hash.
    let r = get(&app, &path, Some(&admin)).await;
    let members = r.expect(200).as_array().expect("members").clone();
    for m in &members {
        assert!(
            m["id"].is_i64() && m["iin"].is_string() && m["full_name"].is_string(),
            "{m}"
        );
        assert!(m.get("password_hash").is_none(), "{m}");
    }
}

async fn removing_a_member<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let (s1, s2) = (app.student().await, app.student().await);
    let g = new_group(&app, &admin, "g").await;
    let m = new_module(&app, &admin, "m").await;
    link(&app, &admin, g, m).await;
    add_members(&app, &admin, g, &[s1.id, s2.id]).await;
    let r = get(&app, "/access/my-modules", Some(&s1)).await;
    assert_eq!(module_ids(r.expect(200)), vec![m]);

    let path = format!("/admin/groups/{g}/users/{}", s1.id);
    call(&app, Method::DELETE, &path, Some(&s1), None).await.expect(403);
    call(&app, Method::DELETE, &path, Some(&admin), None).await.expect(200);
    call(&app, Method::DELETE, &path, Some(&admin), None).await.expect(404);
    let r = get(&app, &format!("/admin/groups/{g}/users"), Some(&admin)).await;
    let ids: Vec<i64> = r
        .expect(200)
        .as_array()
        .expect("members")
        .iter()
        .map(|u| u["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![s2.id]);
    // The removed student keeps the account but loses the module.
    get(&app, "/auth/check", Some(&s1)).await.expect(200);
    let r = get(&app, "/access/my-modules", Some(&s1)).await;
    assert_eq!(r.expect(200), &json!([]));
    get(&app, &format!("/access/my-modules/{m}"), Some(&s1))
        .await
        .expect(404);
    call(
        &app,
        Method::DELETE,
        &format!("/admin/groups/987654/users/{}", s2.id),
        Some(&admin),
        None,
    )
    .await
    .expect(404);
}

async fn modules_accept_null_description_and_numeric_course<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let create = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move { call(app, Method::POST, "/admin/modules/", Some(admin), Some(body)).await }
    };
    let r = create(json!({"title": "Без описания", "description": null, "course": null})).await;
    let body = r.expect(200).clone();
    assert!(body["id"].as_i64().is_some(), "create returns an id: {body}");
    assert_eq!(body["description"], Value::Null);
    let plain = r.id();

    let r = create(json!({"title": "Числовой курс", "course": 2})).await;
    assert_eq!(r.expect(200)["course"], "2");
    let r = create(json!({"title": "Текстовый курс", "course": "2 курс", "description": "d"})).await;
    assert_eq!(r.expect(200)["course"], "2 курс");
    let r = create(json!({"title": "Только название"})).await;
    r.expect(200);

    for bad in [
        json!({}),
        json!({"title": ""}),
        json!({"title": "  "}),
        json!({"title": null}),
        json!({"title": 7}),
        json!({"title": "x", "course": [1]}),
        json!({"title": "x", "description": 5}),
        json!({"title": "x".repeat(201)}),
        json!([]),
    ] {
        let r = create(bad.clone()).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
    }
    let r = call_raw(&app, Method::POST, "/admin/modules/", &admin, "{\"title\": \"x\"").await;
    r.expect(400);

    // Reads of a module with nulls everywhere and linked to an empty group work for everybody.
    let empty = new_group(&app, &admin, "пустая").await;
    link(&app, &admin, empty, plain).await;
    let r = get(&app, &format!("/admin/modules/{plain}"), Some(&admin)).await;
    let body = r.expect(200);
    assert_eq!((&body["description"], &body["course"]), (&Value::Null, &Value::Null));
    assert_eq!(body["subjects"], json!([]));
    for path in [
        "/admin/modules/",
        "/admin/modules/with-teachers",
        "/access/admin-modules",
        "/access/my-modules",
    ] {
        let r = get(&app, path, Some(&admin)).await;
        assert_eq!(r.expect(200).as_array().expect("a list").len(), 4, "{path}");
    }
    let r = get(&app, "/access/access-overview", Some(&admin)).await;
    assert_eq!(r.expect(200)["modules"].as_array().expect("modules").len(), 4);
    let r = get(&app, &format!("/access/module/{plain}/groups"), Some(&admin)).await;
    let groups = r.expect(200);
    assert_eq!(groups.as_array().expect("groups").len(), 1);
    assert_eq!(groups[0]["id"], empty);
    assert_eq!(groups[0]["name"], "пустая");
    assert_eq!(groups[0]["title"], "пустая");
    let r = get(&app, "/access/access-overview", Some(&admin)).await;
    let overview = r.expect(200)["modules"].as_array().expect("overview").clone();
    let entry = overview
        .iter()
        .find(|m| m["module_id"] == plain)
        .expect("the module is in the overview");
    assert_eq!(entry["groups"][0]["id"], empty);
    get(&app, "/access/module/987654/groups", Some(&admin))
        .await
        .expect(404);
}

async fn module_update_is_partial<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let r = call(
        &app,
        Method::POST,
        "/admin/modules/",
        Some(&admin),
        Some(json!({"title": "Old", "course": "1", "description": "keep me"})),
    )
    .await;
    r.expect(200);
    let path = format!("/admin/modules/{}", r.id());
    let put = |body: Value| {
        let (app, admin, path) = (&app, &admin, path.clone());
        async move { call(app, Method::PUT, &path, Some(admin), Some(body)).await }
    };

    let r = put(json!({"title": "New"})).await;
    let body = r.expect(200);
    assert_eq!(
        (&body["title"], &body["course"], &body["description"]),
        (&json!("New"), &json!("1"), &json!("keep me"))
    );
    let r = put(json!({"course": 3})).await;
    let body = r.expect(200);
    assert_eq!((&body["title"], &body["course"]), (&json!("New"), &json!("3")));
    let r = put(json!({})).await;
    assert_eq!(r.expect(200)["description"], "keep me");
    let r = put(json!({"description": null})).await;
    let body = r.expect(200);
    assert_eq!(body["description"], Value::Null);
    assert_eq!(body["title"], "New");
    let r = put(json!({"course": null, "description": "back"})).await;
    let body = r.expect(200);
    assert_eq!((&body["course"], &body["description"]), (&Value::Null, &json!("back")));
    // What the update answered is what a read returns.
    let r = get(&app, &path, Some(&admin)).await;
    let body = r.expect(200);
    assert_eq!(
        (&body["title"], &body["course"], &body["description"]),
        (&json!("New"), &Value::Null, &json!("back"))
    );

    for bad in [
        json!({"title": ""}),
        json!({"title": "  "}),
        json!({"title": 5}),
        json!({"course": [1]}),
        json!("x"),
    ] {
        let r = put(bad.clone()).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
    }
    let r = get(&app, &path, Some(&admin)).await;
    assert_eq!(r.expect(200)["title"], "New", "a refused update changed nothing");
    // A null title (the field cannot be cleared) leaves the title as it is.
    let r = put(json!({"title": null})).await;
    assert_eq!(r.expect(200)["title"], "New");
}

async fn deleting_a_module_removes_its_subjects_but_not_groups<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let a = &w.admin;
    let extra = new_subject(&app, a, w.m1, "Алгебра").await;
    call(&app, Method::DELETE, &format!("/admin/modules/{}", w.m1), Some(a), None)
        .await
        .expect(200);
    call(&app, Method::DELETE, &format!("/admin/modules/{}", w.m1), Some(a), None)
        .await
        .expect(404);
    get(&app, &format!("/admin/modules/{}", w.m1), Some(a))
        .await
        .expect(404);
    for s in [w.s1, extra] {
        get(&app, &format!("/access/subjects/{s}/lessons"), Some(a))
            .await
            .expect(404);
        call(
            &app,
            Method::DELETE,
            &format!("/admin/modules/subjects/{s}"),
            Some(a),
            None,
        )
        .await
        .expect(404);
    }
    // A subject with the same title can be created again elsewhere; groups and people remain.
    get(&app, &format!("/admin/groups/{}", w.g1), Some(a)).await.expect(200);
    let r = get(&app, &format!("/admin/groups/{}/users", w.g1), Some(a)).await;
    assert_eq!(r.expect(200).as_array().expect("members").len(), 1);
    get(&app, &format!("/user/by-iin/{}", w.teacher1.iin), Some(a))
        .await
        .expect(200);
    let r = get(&app, "/access/my-modules", Some(&w.student1)).await;
    assert_eq!(r.expect(200), &json!([]));
    let r = get(&app, "/access/teacher-subjects", Some(&w.teacher1)).await;
    assert_eq!(r.expect(200), &json!([]));
    let r = get(&app, "/access/access-overview", Some(a)).await;
    assert_eq!(module_ids(&r.expect(200)["modules"]), vec![w.m2]);
    // The other module is untouched.
    let r = get(&app, &format!("/access/my-modules/{}", w.m2), Some(&w.student2)).await;
    assert_eq!(r.expect(200)["subjects"][0]["id"], w.s2);
}

async fn subject_titles_are_unique_per_module_ignoring_case<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let m = new_module(&app, &admin, "m").await;
    let other = new_module(&app, &admin, "other").await;
    let path = format!("/admin/modules/{m}/subjects");
    let post = |path: String, title: Value| {
        let (app, admin) = (&app, &admin);
        async move { call(app, Method::POST, &path, Some(admin), Some(json!({"title": title}))).await }
    };

    let r = post(path.clone(), json!("Математика")).await;
    let body = r.expect(200);
    assert_eq!((&body["module_id"], &body["title"]), (&json!(m), &json!("Математика")));
    assert!(body["id"].is_i64());
    for dup in ["Математика", "МАТЕМАТИКА", "математика", "  Математика ", "мАТЕМАТИКА"]
    {
        let r = post(path.clone(), json!(dup)).await;
        assert_eq!(r.status, 409, "{dup:?}: {}", r.body);
        assert_eq!(r.body["code"], "conflict");
    }
    let r = post(path.clone(), json!("Ёлка")).await;
    r.expect(200);
    post(path.clone(), json!("ЁЛКА")).await.expect(409);
    post(path.clone(), json!("Physics")).await.expect(200);
    post(path.clone(), json!("PHYSICS")).await.expect(409);
    // Another title, and the same title in another module, are fine.
    post(path.clone(), json!("Математика 2")).await.expect(200);
    post(format!("/admin/modules/{other}/subjects"), json!("МАТЕМАТИКА"))
        .await
        .expect(200);
    // Unknown module: 404 (not 409, not 500), whatever the title.
    post("/admin/modules/987654/subjects".into(), json!("Математика"))
        .await
        .expect(404);
    for bad in [json!(""), json!("   "), json!(null), json!(12)] {
        let r = post(path.clone(), bad.clone()).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
    }
    let r = call_raw(&app, Method::POST, &path, &admin, "{").await;
    r.expect(400);

    let r = get(&app, &format!("/admin/modules/{m}"), Some(&admin)).await;
    assert_eq!(r.expect(200)["subjects"].as_array().expect("subjects").len(), 4);
    // A deleted subject's title is free again.
    let id = r.body["subjects"]
        .as_array()
        .expect("subjects")
        .iter()
        .find(|s| s["title"] == "Математика")
        .and_then(|s| s["id"].as_i64())
        .expect("the subject is listed");
    call(
        &app,
        Method::DELETE,
        &format!("/admin/modules/subjects/{id}"),
        Some(&admin),
        None,
    )
    .await
    .expect(200);
    post(path.clone(), json!("МАТЕМАТИКА")).await.expect(200);
}

async fn group_to_module_is_idempotent<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let student = app.student().await;
    let g = new_group(&app, &admin, "g").await;
    let m = new_module(&app, &admin, "m").await;
    add_members(&app, &admin, g, &[student.id]).await;
    let first = link(&app, &admin, g, m).await;
    assert_eq!(first["created"], true, "{first}");
    let second = link(&app, &admin, g, m).await;
    assert_eq!(second["created"], false, "{second}");
    let r = get(&app, &format!("/access/module/{m}/groups"), Some(&admin)).await;
    assert_eq!(r.expect(200).as_array().expect("groups").len(), 1);
    let r = get(&app, "/access/my-modules", Some(&student)).await;
    assert_eq!(module_ids(r.expect(200)), vec![m], "listed once");

    for (body, status) in [
        (json!({"group_id": 987_654, "module_id": m}), 404),
        (json!({"group_id": g, "module_id": 987_654}), 404),
        (json!({"group_id": g}), 422),
        (json!({"group_id": "abc", "module_id": m}), 422),
    ] {
        let r = call(
            &app,
            Method::POST,
            "/access/admin/group-to-module",
            Some(&admin),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }
    let r = call_raw(
        &app,
        Method::POST,
        "/access/admin/group-to-module",
        &admin,
        "{\"group_id\":",
    )
    .await;
    r.expect(400);
}

async fn teacher_to_subject_refuses_non_teachers<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let (teacher, student) = (app.teacher().await, app.student().await);
    let m = new_module(&app, &admin, "m").await;
    let s = new_subject(&app, &admin, m, "s").await;
    let other = new_module(&app, &admin, "other").await;
    let post = |body: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            call(
                app,
                Method::POST,
                "/access/admin/teacher-to-subject",
                Some(admin),
                Some(body),
            )
            .await
        }
    };
    for (iin, status) in [(&student.iin, 400), (&admin.iin, 400)] {
        let r = post(json!({"teacher_iin": iin, "module_id": m, "subject_id": s})).await;
        assert_eq!(r.status, status, "{iin}: {}", r.body);
    }
    let cases = [
        (
            json!({"teacher_iin": "999999999999", "module_id": m, "subject_id": s}),
            404,
        ),
        (json!({"teacher_iin": "12345", "module_id": m, "subject_id": s}), 422),
        (
            json!({"teacher_iin": teacher.iin, "module_id": other, "subject_id": s}),
            404,
        ),
        (
            json!({"teacher_iin": teacher.iin, "module_id": m, "subject_id": 987_654}),
            404,
        ),
        (json!({"teacher_iin": teacher.iin, "module_id": m}), 422),
        (json!({"teacher_iin": 123, "module_id": m, "subject_id": s}), 422),
    ];
    for (body, status) in cases {
        let r = post(body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }
    // Nothing so far gave anybody the module.
    for who in [&teacher, &student] {
        let r = get(&app, "/access/my-modules", Some(who)).await;
        assert_eq!(r.expect(200), &json!([]));
    }
    let r = post(json!({"teacher_iin": teacher.iin, "module_id": m, "subject_id": s})).await;
    let body = r.expect(200);
    assert_eq!((&body["id"], &body["teacher_id"]), (&json!(s), &json!(teacher.id)));
    let r = get(&app, "/access/my-modules", Some(&teacher)).await;
    assert_eq!(module_ids(r.expect(200)), vec![m]);
    let r = get(&app, "/admin/modules/with-teachers", Some(&admin)).await;
    let list = r.expect(200).as_array().expect("modules").clone();
    let module = list.iter().find(|x| x["id"] == m).expect("listed");
    assert_eq!(module["subjects"][0]["teacher"]["iin"], teacher.iin);
}

async fn subject_group_link_and_unlink_change_what_students_see<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let (student, outsider) = (app.student().await, app.student().await);
    let g = new_group(&app, &admin, "g").await;
    let other = new_group(&app, &admin, "other").await;
    add_members(&app, &admin, g, &[student.id]).await;
    add_members(&app, &admin, other, &[outsider.id]).await;
    let m = new_module(&app, &admin, "m").await;
    let s = new_subject(&app, &admin, m, "s").await;
    let path = format!("/access/subjects/{s}/groups/{g}");

    let r = get(&app, "/access/my-modules", Some(&student)).await;
    assert_eq!(r.expect(200), &json!([]));
    get(&app, &format!("/access/subjects/{s}/lessons"), Some(&student))
        .await
        .expect(404);

    let r = call(&app, Method::POST, &path, Some(&admin), None).await;
    assert_eq!(r.expect(200)["created"], true);
    let r = call(&app, Method::POST, &path, Some(&admin), None).await;
    assert_eq!(r.expect(200)["created"], false);
    let r = get(&app, "/access/my-modules", Some(&student)).await;
    assert_eq!(module_ids(r.expect(200)), vec![m]);
    get(&app, &format!("/access/my-modules/{m}"), Some(&student))
        .await
        .expect(200);
    let r = get(&app, &format!("/access/subjects/{s}/lessons"), Some(&student)).await;
    assert_eq!(r.expect(200), &json!([]));
    // The other group still sees nothing.
    let r = get(&app, "/access/my-modules", Some(&outsider)).await;
    assert_eq!(r.expect(200), &json!([]));
    get(&app, &format!("/access/my-modules/{m}"), Some(&outsider))
        .await
        .expect(404);

    call(&app, Method::DELETE, &path, Some(&admin), None).await.expect(200);
    let r = get(&app, "/access/my-modules", Some(&student)).await;
    assert_eq!(r.expect(200), &json!([]));
    get(&app, &format!("/access/my-modules/{m}"), Some(&student))
        .await
        .expect(404);
    get(&app, &format!("/access/subjects/{s}/lessons"), Some(&student))
        .await
        .expect(404);
    call(&app, Method::DELETE, &path, Some(&admin), None).await.expect(404);

    for (method, p) in [
        (Method::POST, format!("/access/subjects/987654/groups/{g}")),
        (Method::POST, format!("/access/subjects/{s}/groups/987654")),
        (Method::DELETE, format!("/access/subjects/987654/groups/{g}")),
        (Method::DELETE, format!("/access/subjects/{s}/groups/987654")),
    ] {
        let r = call(&app, method.clone(), &p, Some(&admin), None).await;
        assert_eq!(r.status, 404, "{method} {p}: {}", r.body);
    }
}

async fn my_modules_depend_on_the_role<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let m3 = new_module(&app, &w.admin, "unlinked").await;
    let mut all = vec![w.m1, w.m2, m3];
    all.sort_unstable();
    for (who, expected) in [
        (&w.admin, all.clone()),
        (&w.teacher1, vec![w.m1]),
        (&w.teacher2, vec![w.m2]),
        (&w.idle_teacher, vec![]),
        (&w.student1, vec![w.m1]),
        (&w.student2, vec![w.m2]),
        (&w.loner, vec![]),
    ] {
        let r = get(&app, "/access/my-modules", Some(who)).await;
        assert_eq!(
            module_ids(r.expect(200)),
            expected,
            "my-modules of {:?} {}",
            who.role,
            who.iin
        );
        let r = get(&app, "/admin/modules/", Some(who)).await;
        assert_eq!(
            module_ids(r.expect(200)),
            expected,
            "modules of {:?} {}",
            who.role,
            who.iin
        );
    }
    // A student in two groups sees both groups' modules, each once.
    add_members(&app, &w.admin, w.g2, &[w.student1.id]).await;
    link(&app, &w.admin, w.g2, w.m1).await;
    let r = get(&app, "/access/my-modules", Some(&w.student1)).await;
    assert_eq!(module_ids(r.expect(200)), vec![w.m1, w.m2]);
    // Linking a group to a module does not make its students teachers of it, nor the reverse.
    let r = get(&app, "/access/my-modules", Some(&w.teacher2)).await;
    assert_eq!(module_ids(r.expect(200)), vec![w.m2]);
}

async fn lessons_of_hidden_subjects_are_404<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    // There is no way to create lessons yet: every lesson id is unknown, for everybody.
    for who in [&w.admin, &w.teacher1, &w.student1, &w.loner] {
        for id in [1, 2, 987_654] {
            get(&app, &format!("/access/lessons/{id}"), Some(who)).await.expect(404);
        }
    }
    for (who, subject, status) in [
        (&w.student1, w.s1, 200),
        (&w.student1, w.s2, 404),
        (&w.student2, w.s1, 404),
        (&w.loner, w.s1, 404),
        (&w.teacher1, w.s2, 404),
        (&w.teacher2, w.s2, 200),
        (&w.admin, w.s1, 200),
        (&w.admin, 987_654, 404),
    ] {
        let r = get(&app, &format!("/access/subjects/{subject}/lessons"), Some(who)).await;
        assert_eq!(r.status, status, "subject {subject} as {}: {}", who.iin, r.body);
        if status == 200 {
            assert_eq!(r.body, json!([]));
        }
    }
}

/// The same write sent many times at once: the unique rules hold and nothing answers 5xx (the
/// `read` helper fails on any 5xx, such as a constraint violation or a busy database).
async fn concurrent_writes_never_answer_5xx<S: Store>(app: TestApp<S>) {
    use futures_util::future::join_all;
    let admin = app.admin().await;
    let students = [app.student().await, app.student().await, app.student().await];
    let ids: Vec<i64> = students.iter().map(|s| s.id).collect();

    let replies = join_all((0..8).map(|_| {
        call(
            &app,
            Method::POST,
            "/admin/groups/",
            Some(&admin),
            Some(json!({"name": "Гонка"})),
        )
    }))
    .await;
    let created: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(created.len(), 1, "{replies:?}");
    assert!(
        replies.iter().all(|r| r.status == 200 || r.status == 409),
        "{replies:?}"
    );
    let g = created[0].id();

    let m = new_module(&app, &admin, "m").await;
    let subjects_path = format!("/admin/modules/{m}/subjects");
    let titles = ["Химия", "ХИМИЯ", "химия", "Химия ", "хИМИЯ", "Химия", "ХиМиЯ", "химиЯ"];
    let replies = join_all(titles.iter().map(|t| {
        call(
            &app,
            Method::POST,
            &subjects_path,
            Some(&admin),
            Some(json!({"title": t})),
        )
    }))
    .await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1, "{replies:?}");
    assert!(
        replies.iter().all(|r| r.status == 200 || r.status == 409),
        "{replies:?}"
    );

    let replies = join_all((0..8).map(|_| {
        call(
            &app,
            Method::POST,
            "/access/admin/group-to-module",
            Some(&admin),
            Some(json!({"group_id": g, "module_id": m})),
        )
    }))
    .await;
    assert!(replies.iter().all(|r| r.status == 200), "{replies:?}");
    assert_eq!(
        replies.iter().filter(|r| r.body["created"] == true).count(),
        1,
        "{replies:?}"
    );

    let members_path = format!("/admin/groups/{g}/users");
    let replies =
        join_all((0..8).map(|_| call(&app, Method::POST, &members_path, Some(&admin), Some(json!(ids))))).await;
    assert!(replies.iter().all(|r| r.status == 200), "{replies:?}");
    let added: i64 = replies.iter().map(|r| r.body["added"].as_i64().expect("added")).sum();
    assert_eq!(added, 3, "{replies:?}");

    // Deleting a group while members are being added to it: each call succeeds or finds it gone.
    for round in 0..5 {
        let g = new_group(&app, &admin, &format!("race-{round}")).await;
        let (members_path, group_path) = (format!("/admin/groups/{g}/users"), format!("/admin/groups/{g}"));
        let add = call(&app, Method::POST, &members_path, Some(&admin), Some(json!(ids)));
        let link = call(
            &app,
            Method::POST,
            "/access/admin/group-to-module",
            Some(&admin),
            Some(json!({"group_id": g, "module_id": m})),
        );
        let delete = call(&app, Method::DELETE, &group_path, Some(&admin), None);
        let (add, link, delete) = tokio::join!(add, link, delete);
        assert_eq!(delete.status, 200, "{delete:?}");
        assert!(add.status == 200 || add.status == 404, "{add:?}");
        assert!(link.status == 200 || link.status == 404, "{link:?}");
        get(&app, &format!("/admin/groups/{g}/users"), Some(&admin))
            .await
            .expect(404);
    }
    let r = get(&app, &format!("/access/module/{m}/groups"), Some(&admin)).await;
    assert_eq!(
        r.expect(200).as_array().expect("groups").len(),
        1,
        "no link to a deleted group: {}",
        r.body
    );
}

/// Renaming a group, a subject or a module keeps everything hung on it: members, links, lessons.
/// Each edit is checked as on creation, refused to anyone but an admin, and audited.
async fn groups_subjects_and_modules_are_edited_in_place<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let teacher = app.teacher().await;
    let student = app.student().await;
    let group = new_group(&app, &admin, "ПО-23-1").await;
    let taken = new_group(&app, &admin, "ПО-23-2").await;
    let module = new_module(&app, &admin, "Алгоритмы").await;
    let subject = new_subject(&app, &admin, module, "Сортировки").await;
    new_subject(&app, &admin, module, "Графы").await;
    add_members(&app, &admin, group, &[student.id]).await;
    link(&app, &admin, group, module).await;
    let edit = |path: String, who: &Actor, body: Value| {
        let who = who.clone();
        let app = &app;
        async move { call(app, Method::PATCH, &path, Some(&who), Some(body)).await }
    };
    let group_path = format!("/admin/groups/{group}");
    let subject_path = format!("/admin/modules/subjects/{subject}");
    let module_path = format!("/admin/modules/{module}");

    for who in [&teacher, &student] {
        for path in [&group_path, &subject_path, &module_path] {
            edit(path.clone(), who, json!({"title": "Взлом"}))
                .await
                .expect_error(403, "forbidden");
        }
    }

    // Groups: the name and the description; the members and the module stay.
    let r = edit(
        group_path.clone(),
        &admin,
        json!({"name": " ПО-24-1 ", "description": "Выпуск 2028"}),
    )
    .await;
    assert_eq!(r.expect(200)["name"], "ПО-24-1");
    assert_eq!(r.expect(200)["description"], "Выпуск 2028");
    let r = edit(group_path.clone(), &admin, json!({"description": null})).await;
    assert_eq!(r.expect(200)["name"], "ПО-24-1", "a name not given is kept");
    assert_eq!(r.expect(200)["description"], Value::Null);
    edit(group_path.clone(), &admin, json!({"name": "ПО-23-2"}))
        .await
        .expect_error(409, "conflict");
    edit(group_path.clone(), &admin, json!({"name": ""}))
        .await
        .expect_error(422, "validation_error");
    edit(
        format!("/admin/groups/{}", taken + 1000),
        &admin,
        json!({"name": "Нет"}),
    )
    .await
    .expect_error(404, "not_found");
    let members = get(&app, &format!("/admin/groups/{group}/users"), Some(&admin)).await;
    assert_eq!(members.expect(200).as_array().map(Vec::len), Some(1));

    // Subjects: the title, unique in the module in any case.
    let r = edit(subject_path.clone(), &admin, json!({"title": "Сортировки и поиск"})).await;
    assert_eq!(r.expect(200)["title"], "Сортировки и поиск");
    edit(subject_path.clone(), &admin, json!({"title": "графы"}))
        .await
        .expect_error(409, "conflict");
    edit(subject_path.clone(), &admin, json!({"title": "  "}))
        .await
        .expect_error(422, "validation_error");

    // Modules take PATCH as well as PUT.
    let r = edit(
        module_path.clone(),
        &admin,
        json!({"title": "Алгоритмы и структуры данных"}),
    )
    .await;
    assert_eq!(r.expect(200)["title"], "Алгоритмы и структуры данных");

    // The student still sees the renamed module and subject through the renamed group.
    let mine = get(&app, "/access/my-modules", Some(&student)).await;
    let text = mine.expect(200).to_string();
    assert!(
        text.contains("Алгоритмы и структуры данных") && text.contains("Сортировки и поиск"),
        "{text}"
    );

    for (action, count) in [("group.update", 2), ("subject.update", 1), ("module.update", 1)] {
        let log = get(&app, &format!("/admin/audit?action={action}"), Some(&admin)).await;
        assert_eq!(log.expect(200).as_array().map(Vec::len), Some(count), "{action}");
    }
}

/// Year-end promotion over HTTP: a group's members move into another (those already there stay
/// once), the old group is left empty, and what the students see follows them. Group names are
/// unique regardless of case.
async fn members_move_between_groups_and_names_are_unique_in_any_case<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let (a, b, c) = (app.student().await, app.student().await, app.student().await);
    let old = new_group(&app, &admin, "ПО-23-1").await;
    let new = new_group(&app, &admin, "ПО-24-1").await;
    add_members(&app, &admin, old, &[a.id, b.id]).await;
    add_members(&app, &admin, new, &[b.id, c.id]).await;
    let module = new_module(&app, &admin, "Второй курс").await;
    link(&app, &admin, new, module).await;
    let move_to = |from: i64, to: Value, who: &Actor| {
        let who = who.clone();
        let app = &app;
        async move {
            call(
                app,
                Method::POST,
                &format!("/admin/groups/{from}/move-members"),
                Some(&who),
                Some(json!({"to_group_id": to})),
            )
            .await
        }
    };
    move_to(old, json!(new), &a).await.expect_error(403, "forbidden");
    move_to(old, json!(old), &admin)
        .await
        .expect_error(422, "validation_error");
    move_to(old, json!(new + 1000), &admin)
        .await
        .expect_error(404, "not_found");
    move_to(old, json!("ПО-24-1"), &admin)
        .await
        .expect_error(422, "validation_error");

    let r = move_to(old, json!(new), &admin).await;
    assert_eq!(r.expect(200)["moved"], 2);
    let members = get(&app, &format!("/admin/groups/{new}/users"), Some(&admin)).await;
    assert_eq!(members.expect(200).as_array().map(Vec::len), Some(3), "b is there once");
    let emptied = get(&app, &format!("/admin/groups/{old}/users"), Some(&admin)).await;
    assert_eq!(emptied.expect(200).as_array().map(Vec::len), Some(0));
    let mine = get(&app, "/access/my-modules", Some(&a)).await;
    assert!(mine.expect(200).to_string().contains("Второй курс"), "{}", mine.body);

    // `по-24-1` is the same name as `ПО-24-1`.
    call(
        &app,
        Method::POST,
        "/admin/groups/",
        Some(&admin),
        Some(json!({"name": "по-24-1"})),
    )
    .await
    .expect_error(409, "conflict");
    call(
        &app,
        Method::PATCH,
        &format!("/admin/groups/{old}"),
        Some(&admin),
        Some(json!({"name": "По-24-1"})),
    )
    .await
    .expect_error(409, "conflict");
    let log = get(&app, "/admin/audit?action=group.move_members", Some(&admin)).await;
    assert_eq!(log.expect(200)[0]["after"]["moved"], 2);
}
