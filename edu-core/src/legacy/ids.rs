//! Which ids the imported rows get, decided against what the target already holds.
//!
//! Into an empty target every row keeps its old id, except a user whose id an existing
//! administrator already has (that user gets the next free id). With `merge`, every row gets a
//! new id after the highest one the target has used. Either way a user whose IIN the target
//! already knows is not written again: the old rows are attached to that account.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::plan::{Plan, unique_name};
use super::report::{Problem, ProblemKind};

/// A user of the target.
#[derive(Debug, Clone)]
pub struct TargetUser {
    /// Database id in the target.
    pub id: i64,
    /// The account's IIN.
    pub iin: String,
    /// The account's role name.
    pub role: String,
    /// The account's phone, if any; an imported user may not take it.
    pub phone: Option<String>,
}

/// What the target holds, as far as an import cares.
#[derive(Debug, Clone, Default)]
pub struct TargetState {
    /// Every account of the target.
    pub users: Vec<TargetUser>,
    /// Every group name of the target; imported groups are renamed around them.
    pub group_names: Vec<String>,
    /// Rows per table that make a target "not empty" (users: those that are not admins).
    pub busy: BTreeMap<&'static str, i64>,
    /// Every lesson as (module title, subject title, lesson title).
    pub lessons: Vec<(String, String, String)>,
    /// Every module title of the target.
    pub module_titles: Vec<String>,
    /// The first id never used yet, per table with ids.
    pub next_id: HashMap<&'static str, i64>,
}

impl TargetState {
    /// Empty: no groups, modules, subjects, lessons, tests, homework or results, and no users
    /// except administrators (a bootstrap admin does not make a target non-empty).
    pub fn is_empty(&self) -> bool {
        self.busy.values().all(|&n| n == 0)
    }

    /// What makes it non-empty, for the refusal message.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .busy
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| format!("{n} {t}"))
            .collect();
        parts.join(", ")
    }

    /// Whether the target already holds this import: every user to import is there under its
    /// IIN, every module under its title, and every lesson under its module, subject and lesson
    /// titles. (Group names are left out: with `merge` they may have been renamed.)
    pub fn holds(&self, plan: &Plan) -> bool {
        if plan.users.is_empty() && plan.modules.is_empty() && plan.groups.is_empty() {
            return false;
        }
        let iins: HashSet<&str> = self.users.iter().map(|u| u.iin.as_str()).collect();
        let titles: HashSet<&str> = self.module_titles.iter().map(String::as_str).collect();
        let lessons: HashSet<(&str, &str, &str)> = self
            .lessons
            .iter()
            .map(|(m, s, l)| (m.as_str(), s.as_str(), l.as_str()))
            .collect();
        let modules: HashMap<i64, &str> = plan.modules.iter().map(|m| (m.id, m.title.as_str())).collect();
        let subjects: HashMap<i64, (&str, &str)> = plan
            .subjects
            .iter()
            .filter_map(|s| Some((s.id, (*modules.get(&s.module)?, s.title.as_str()))))
            .collect();
        plan.users.iter().all(|u| iins.contains(u.iin.as_str()))
            && plan.modules.iter().all(|m| titles.contains(m.title.as_str()))
            && plan.lessons.iter().all(|l| {
                subjects
                    .get(&l.subject)
                    .is_some_and(|(m, s)| lessons.contains(&(m, s, l.title.as_str())))
            })
    }
}

/// Old id → new id, per table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdMaps {
    /// Per edu table, each old id with the id it is written with.
    pub tables: BTreeMap<&'static str, HashMap<i64, i64>>,
}

impl IdMaps {
    /// The new id of the row that had id `old` in `table`; `None` when it is not written.
    pub fn get(&self, table: &'static str, old: i64) -> Option<i64> {
        self.tables.get(table).and_then(|m| m.get(&old)).copied()
    }

    /// Only the ids that changed, ordered.
    pub fn changed(&self) -> BTreeMap<&'static str, BTreeMap<i64, i64>> {
        self.tables
            .iter()
            .map(|(t, m)| {
                (
                    *t,
                    m.iter()
                        .filter(|(o, n)| o != n)
                        .map(|(o, n)| (*o, *n))
                        .collect::<BTreeMap<_, _>>(),
                )
            })
            .filter(|(_, m)| !m.is_empty())
            .collect()
    }
}

/// The decisions that depend on the target.
#[derive(Debug, Clone, Default)]
pub struct Assignment {
    /// The id each planned row is written with.
    pub ids: IdMaps,
    /// Per plan user: whether it is written (false: an existing account with its IIN is used).
    pub insert_user: Vec<bool>,
    /// Per plan user: the phone it is written with.
    pub phones: Vec<Option<String>>,
    /// Per plan group: the name it is written with.
    pub group_names: Vec<String>,
    /// Defects found against the target (existing accounts, taken phones and names).
    pub problems: Vec<Problem>,
}

/// Assigns ids against `target`.
pub fn assign(plan: &Plan, target: &TargetState, merge: bool) -> Assignment {
    let mut out = Assignment::default();
    let next = |t: &'static str| target.next_id.get(t).copied().unwrap_or(1).max(1);

    // Users: an existing IIN wins; otherwise the old id if free (empty target) or a new one.
    let by_iin: HashMap<&str, &TargetUser> = target.users.iter().map(|u| (u.iin.as_str(), u)).collect();
    let taken_ids: HashSet<i64> = target.users.iter().map(|u| u.id).collect();
    let taken_phones: HashSet<&str> = target.users.iter().filter_map(|u| u.phone.as_deref()).collect();
    let max_old = plan.users.iter().map(|u| u.id).max().unwrap_or(0);
    let mut fresh = if merge {
        next("users")
    } else {
        next("users").max(max_old + 1)
    };
    let mut users = HashMap::new();
    for u in &plan.users {
        if let Some(existing) = by_iin.get(u.iin.as_str()) {
            out.problems.push(Problem {
                table: "users",
                id: u.id,
                kind: ProblemKind::ExistingAccount,
                detail: format!(
                    "an account with IIN {} is already here (id {}, {}): it is kept unchanged and this user's rows are attached to it",
                    u.iin, existing.id, existing.role
                ),
            });
            users.insert(u.id, existing.id);
            out.insert_user.push(false);
            out.phones.push(None);
            continue;
        }
        let id = if !merge && !taken_ids.contains(&u.id) {
            u.id
        } else {
            fresh += 1;
            fresh - 1
        };
        users.insert(u.id, id);
        out.insert_user.push(true);
        let phone = match &u.phone {
            Some(p) if taken_phones.contains(p.as_str()) => {
                out.problems.push(Problem {
                    table: "users",
                    id: u.id,
                    kind: ProblemKind::DuplicatePhone,
                    detail: format!("phone {p} belongs to an account already here: imported without a phone"),
                });
                None
            }
            other => other.clone(),
        };
        out.phones.push(phone);
    }
    out.ids.tables.insert("users", users);

    // Groups: names must stay unique against the target's too.
    let mut names: HashSet<String> = target.group_names.iter().cloned().collect();
    for g in &plan.groups {
        let name = unique_name(&g.name, &mut names, str::to_owned);
        if name != g.name {
            out.problems.push(Problem {
                table: "groups",
                id: g.id,
                kind: ProblemKind::DuplicateName,
                detail: format!("a group named {:?} is already here: renamed {name:?}", g.name),
            });
        }
        out.group_names.push(name);
    }

    let tables: [(&'static str, Vec<i64>); 9] = [
        ("groups", plan.groups.iter().map(|r| r.id).collect()),
        ("modules", plan.modules.iter().map(|r| r.id).collect()),
        ("subjects", plan.subjects.iter().map(|r| r.id).collect()),
        ("lessons", plan.lessons.iter().map(|r| r.id).collect()),
        ("tests", plan.tests.iter().map(|r| r.id).collect()),
        ("questions", plan.questions.iter().map(|r| r.id).collect()),
        ("options", plan.options.iter().map(|r| r.id).collect()),
        ("submissions", plan.submissions.iter().map(|r| r.id).collect()),
        ("attempts", plan.attempts.iter().map(|r| r.id).collect()),
    ];
    for (table, ids) in tables {
        let map: HashMap<i64, i64> = if merge {
            let start = next(table);
            ids.iter().zip(start..).map(|(&old, new)| (old, new)).collect()
        } else {
            ids.iter().map(|&id| (id, id)).collect()
        };
        out.ids.tables.insert(table, map);
    }
    out
}
