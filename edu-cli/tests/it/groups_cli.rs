//! `edu groups list|rename|move-members`, `edu modules list` and `edu subjects list` as the real
//! binary: names and ids to use elsewhere, names matched in any case, and year-end promotion.

use edu_core::domain::NewModule;
use edu_core::{ClientInfo, Role};

use crate::common::{Workdir, provision, text};

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_modules_and_subjects_are_listed_renamed_and_promoted() {
    let wd = Workdir::new("groups");
    assert!(wd.edu(&["migrate"]).status.success());
    let p = wd.platform().await;
    provision(&p, "000000000001", "Админ", Role::Admin, "Admin-pass-1").await;
    let session = p
        .login("000000000001", "Admin-pass-1", ClientInfo::default())
        .await
        .expect("login");
    let admin = p.authenticate(&session.tokens.access_token).await.expect("admin");
    let first = p.create_group(&admin, "ПО-23-1", None).await.expect("group");
    let second = p.create_group(&admin, "ПО-24-1", None).await.expect("group");
    let mut students = Vec::new();
    for n in 2..5 {
        let user = provision(
            &p,
            &format!("00000000000{n}"),
            &format!("Студент {n}"),
            Role::Student,
            "Student-pass-1",
        )
        .await;
        students.push(user.id);
    }
    p.add_group_members(&admin, first.id, &students).await.expect("members");
    p.add_group_members(&admin, second.id, &students[..1])
        .await
        .expect("member");
    let module = p
        .create_module(
            &admin,
            NewModule {
                title: "Алгоритмы".into(),
                course: Some("2".into()),
                description: None,
            },
        )
        .await
        .expect("module");
    p.create_subject(&admin, module.id, "Графы").await.expect("subject");

    let list = stdout(&wd.edu(&["groups", "list"]));
    assert!(
        list.lines()
            .next()
            .is_some_and(|h| h.contains("members") && h.contains("name")),
        "{list}"
    );
    assert!(list.contains("ПО-23-1") && list.contains("ПО-24-1"), "{list}");
    let json = stdout(&wd.edu(&["groups", "list", "--json"]));
    let rows: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["member_count"], 3);

    let modules = stdout(&wd.edu(&["modules", "list", "--json"]));
    let module_row: serde_json::Value = serde_json::from_str(modules.trim()).expect("one module");
    assert_eq!(module_row["title"], "Алгоритмы");
    assert_eq!(module_row["subjects"][0]["title"], "Графы");
    let subjects = stdout(&wd.edu(&["subjects", "list", "--module", "алгоритмы"]));
    assert!(
        subjects.contains("Графы"),
        "module titles match in any case: {subjects}"
    );
    let out = wd.edu(&["subjects", "list", "--module", "Нет такого"]);
    assert!(
        !out.status.success() && text(&out).contains("no module"),
        "{}",
        text(&out)
    );

    // Names are matched regardless of case; a name another group has, in any case, is refused.
    let out = wd.edu(&["groups", "rename", "по-23-1", "по-24-1"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    stdout(&wd.edu(&["groups", "rename", "по-23-1", "ПО-23-1 (архив)"]));

    // Year-end promotion: everyone moves up, the old group is left empty, nobody twice.
    let moved = stdout(&wd.edu(&["groups", "move-members", "--from", "по-23-1 (АРХИВ)", "--to", "ПО-24-1"]));
    assert!(moved.contains("moved 3 member(s)"), "{moved}");
    let members = p.group_members(&admin, second.id).await.expect("members");
    assert_eq!(members.len(), 3);
    assert!(p.group_members(&admin, first.id).await.expect("members").is_empty());
    let out = wd.edu(&["groups", "move-members", "--from", "ПО-24-1", "--to", "ПО-99"]);
    assert!(
        !out.status.success() && text(&out).contains("no group"),
        "{}",
        text(&out)
    );

    // Each change is in the audit log, made by the operator.
    let log = stdout(&wd.edu(&["audit", "list", "--action", "group.move_members"]));
    assert!(log.contains("group.move_members"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teachers_are_created_from_the_command_line_and_change_their_password_first() {
    use std::io::Write;
    let wd = Workdir::new("users-create");
    assert!(wd.edu(&["migrate"]).status.success());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_edu"))
        .args([
            "users",
            "create",
            "--iin",
            "000000000007",
            "--full-name",
            "Оспанова Гульнар",
            "--role",
            "teacher",
        ])
        .current_dir(wd.path(""))
        .env_clear()
        .envs(wd.vars())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("edu runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"Chosen-for-her-1\n")
        .expect("the password");
    let out = child.wait_with_output().expect("edu ends");
    let shown = stdout(&out);
    assert!(shown.contains("created teacher Оспанова Гульнар"), "{shown}");
    assert!(!text(&out).contains("Chosen-for-her-1"), "the password is never shown");

    let p = wd.platform().await;
    let session = p
        .login("000000000007", "Chosen-for-her-1", ClientInfo::default())
        .await
        .expect("login");
    assert_eq!(session.user.role, Role::Teacher);
    assert!(session.user.must_change_password, "someone else chose it");
    let list = stdout(&wd.edu(&["users", "list"]));
    let row = list.lines().find(|l| l.contains("000000000007")).expect("listed");
    assert!(row.contains("teacher") && row.contains("active"), "{row}");
    // Columns line up whatever the values: the name starts where the header says.
    let header = list.lines().next().expect("a header");
    assert_eq!(
        row.find("Оспанова").map(|i| row[..i].chars().count()),
        header.find("name")
    );
}
