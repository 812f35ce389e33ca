//! `edu groups …`, `edu modules list` and `edu subjects list`: names and ids for the other
//! commands (`export --group NAME`), and year-end promotion.

use anyhow::{Context, bail};
use edu_core::config::Config;
use edu_core::domain::GroupId;
use edu_core::{Platform, Store};

use crate::backend::{Job, with_existing_platform};

#[derive(Debug, clap::Subcommand)]
pub enum GroupsCommand {
    /// List groups: id, members, name.
    List {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rename a group (by id or name, any case); its members, links and history stay.
    Rename {
        /// The group: its id or its current name.
        group: String,
        /// The new name.
        name: String,
    },
    /// Move every member of one group into another and leave the first empty (year-end
    /// promotion, merging groups); homework, results and grades stay with the students.
    MoveMembers {
        /// The group that is emptied: its id or name.
        #[arg(long)]
        from: String,
        /// The group that receives them: its id or name.
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ModulesCommand {
    /// List modules: id, course, title, subjects.
    List {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum SubjectsCommand {
    /// List subjects: id, module, title, teacher.
    List {
        /// Only the subjects of this module (id or title).
        #[arg(long)]
        module: Option<String>,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
}

enum Task {
    Groups { json: bool },
    Rename { group: String, name: String },
    Move { from: String, to: String },
    Modules { json: bool },
    Subjects { module: Option<String>, json: bool },
}

async fn group_named<S: Store>(platform: &Platform<S>, wanted: &str) -> anyhow::Result<GroupId> {
    platform
        .find_group(wanted)
        .await?
        .with_context(|| format!("no group {wanted:?} (see `edu groups list`)"))
}

impl Job for Task {
    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        match self {
            Task::Groups { json } => {
                let groups = platform.operator_groups().await?;
                if json {
                    for g in &groups {
                        println!("{}", serde_json::to_string(g)?);
                    }
                    return Ok(());
                }
                println!("{:>6}  {:>7}  name", "id", "members");
                for g in &groups {
                    println!("{:>6}  {:>7}  {}", g.id.0, g.member_count.unwrap_or(0), g.name);
                }
            }
            Task::Rename { group, name } => {
                let id = group_named(&platform, &group).await?;
                let renamed = platform.operator_rename_group(id, &name).await?;
                println!("group {} is now {:?}", renamed.id, renamed.name);
            }
            Task::Move { from, to } => {
                let (from_id, to_id) = (group_named(&platform, &from).await?, group_named(&platform, &to).await?);
                let moved = platform.operator_move_group_members(from_id, to_id).await?;
                println!("moved {moved} member(s) from {from:?} to {to:?}");
            }
            Task::Modules { json } => {
                let modules = platform.operator_modules().await?;
                if json {
                    for m in &modules {
                        let line = serde_json::json!({
                            "id": m.module.id, "title": m.module.title, "course": m.module.course,
                            "subjects": m.subjects.iter().map(|s| serde_json::json!({"id": s.subject.id, "title": s.subject.title})).collect::<Vec<_>>(),
                        });
                        println!("{line}");
                    }
                    return Ok(());
                }
                println!("{:>6}  {:8}  {:>8}  title", "id", "course", "subjects");
                for m in &modules {
                    let course = m.module.course.as_deref().unwrap_or("");
                    println!(
                        "{:>6}  {:8}  {:>8}  {}",
                        m.module.id.0,
                        course,
                        m.subjects.len(),
                        m.module.title
                    );
                }
            }
            Task::Subjects { module, json } => {
                let modules = platform.operator_modules().await?;
                let only = match &module {
                    Some(wanted) => {
                        let found = platform.find_modules(wanted).await?;
                        if found.is_empty() {
                            bail!("no module {wanted:?} (see `edu modules list`)");
                        }
                        Some(found)
                    }
                    None => None,
                };
                if !json {
                    println!("{:>6}  {:>6}  {:30}  teacher", "id", "module", "title");
                }
                for m in modules
                    .iter()
                    .filter(|m| only.as_ref().is_none_or(|o| o.contains(&m.module.id)))
                {
                    for s in &m.subjects {
                        let teacher = s.teacher.as_ref().map(|t| t.full_name.as_str()).unwrap_or("");
                        if json {
                            let line = serde_json::json!({
                                "id": s.subject.id, "module_id": m.module.id, "module": m.module.title,
                                "title": s.subject.title, "teacher": s.teacher.as_ref().map(|t| &t.full_name),
                            });
                            println!("{line}");
                        } else {
                            println!(
                                "{:>6}  {:>6}  {:30}  {teacher}",
                                s.subject.id.0, m.module.id.0, s.subject.title
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

pub async fn run_groups(cmd: GroupsCommand, config: Config) -> anyhow::Result<()> {
    let task = match cmd {
        GroupsCommand::List { json } => Task::Groups { json },
        GroupsCommand::Rename { group, name } => Task::Rename { group, name },
        GroupsCommand::MoveMembers { from, to } => Task::Move { from, to },
    };
    with_existing_platform(&config, task).await
}

pub async fn run_modules(cmd: ModulesCommand, config: Config) -> anyhow::Result<()> {
    let ModulesCommand::List { json } = cmd;
    with_existing_platform(&config, Task::Modules { json }).await
}

pub async fn run_subjects(cmd: SubjectsCommand, config: Config) -> anyhow::Result<()> {
    let SubjectsCommand::List { module, json } = cmd;
    with_existing_platform(&config, Task::Subjects { module, json }).await
}
