//! Importing groups and students from a spreadsheet.

use std::collections::{BTreeSet, HashMap};

use futures_util::future::join_all;

use super::Platform;
use crate::auth::Principal;
use crate::domain::{Iin, ModuleScope, Password, Role, SubjectId, User, title_key};
use crate::error::{Error, Result};
use crate::import::{
    Credential, ImportMode, ImportOptions, ImportProgress, ImportReport, InitialPasswords, NAME_KEPT, NAME_UPDATED,
    NameChange, RosterEntry, RosterKind, RosterRules, RowError, SubjectAssignment, parse_workbook, read_sheets,
};
use crate::store::{AuditEntry, RosterOutcome, RosterRow, Store};

/// A row of a workbook: its number and, when several sheets are read, its sheet.
type RowKey = (usize, Option<String>);

impl<S: Store> Platform<S> {
    /// Imports a spreadsheet (admin only): each row's student into the group named in that row.
    ///
    /// Existing students are reused; re-importing the same file changes nothing. Valid rows are
    /// written in one transaction; with `AllOrNothing`, any invalid row means nothing is written.
    pub async fn import_groups(
        &self,
        who: &Principal,
        file: &[u8],
        options: ImportOptions,
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportReport> {
        let admin = crate::policy::admin(who)?;
        self.import_roster(&admin, RosterKind::Students, file, options, progress)
            .await
    }

    /// Operator task (`edu import groups`): the same import, recorded in the audit log without an
    /// acting account.
    pub async fn operator_import_groups(
        &self,
        file: &[u8],
        options: ImportOptions,
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportReport> {
        self.import_roster(
            &crate::policy::Operator.admin(),
            RosterKind::Students,
            file,
            options,
            progress,
        )
        .await
    }

    /// Imports teachers from a spreadsheet (admin only): an account per IIN, made the teacher of
    /// each subject its row names (`Subject`, or `Module / Subject` where titles repeat).
    ///
    /// Existing teachers are reused; an IIN that belongs to a student or an administrator is a
    /// row error. A subject taught by someone else passes to the file's teacher, and the report
    /// lists it in `subjects_assigned` with the previous teacher. Rows are written in one
    /// transaction, as for students.
    pub async fn import_teachers(
        &self,
        who: &Principal,
        file: &[u8],
        options: ImportOptions,
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportReport> {
        let admin = crate::policy::admin(who)?;
        self.import_roster(&admin, RosterKind::Teachers, file, options, progress)
            .await
    }

    /// Operator task (`edu import teachers`): the same import without an acting account.
    pub async fn operator_import_teachers(
        &self,
        file: &[u8],
        options: ImportOptions,
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportReport> {
        self.import_roster(
            &crate::policy::Operator.admin(),
            RosterKind::Teachers,
            file,
            options,
            progress,
        )
        .await
    }

    async fn import_roster(
        &self,
        admin: &crate::policy::Admin,
        kind: RosterKind,
        file: &[u8],
        options: ImportOptions,
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportReport> {
        let sheets = read_sheets(file).map_err(|e| Error::Validation(e.to_string()))?;
        let rules = RosterRules {
            allow_invalid_iin: options.allow_invalid_iin,
            kind,
        };
        let (mut entries, mut errors) =
            parse_workbook(&sheets, options.sheet.as_deref(), rules).map_err(Error::Validation)?;
        let rows_total = entries.len() + errors.iter().filter(|e| e.row > 0).count();
        // The accounts the file names that exist already.
        let mut existing: HashMap<Iin, Option<User>> = HashMap::new();
        for e in &entries {
            if !existing.contains_key(&e.iin) {
                existing.insert(e.iin.clone(), self.store().user_by_iin(&e.iin).await?);
            }
        }
        let mut subjects: HashMap<RowKey, Vec<SubjectId>> = HashMap::new();
        let mut assignments = Vec::new();
        match kind {
            RosterKind::Students => self.spell_groups_as_known(&mut entries).await?,
            RosterKind::Teachers => {
                let found = self.teachers_subjects(&mut entries, &mut errors, &existing).await?;
                (subjects, assignments) = found;
            }
        }
        let mut report = ImportReport {
            dry_run: options.dry_run,
            rows_total,
            rows_valid: entries.len(),
            errors,
            subjects_assigned: assignments,
            ..ImportReport::default()
        };
        let sheet_error = report.errors.iter().any(|e| e.row == 0);
        if sheet_error || (options.mode == ImportMode::AllOrNothing && !report.errors.is_empty()) {
            return Ok(report);
        }

        // Which IINs are new: the first row of each new IIN creates the account. An existing
        // account's name is compared with the file's (rows of one IIN agree, see `parse_roster`).
        let mut known: HashMap<Iin, bool> = HashMap::new();
        for e in &entries {
            if !known.contains_key(&e.iin) {
                let existing = existing.get(&e.iin).and_then(Option::as_ref);
                if let Some(user) = existing
                    && user.full_name != e.full_name
                {
                    report.name_changes.push(NameChange {
                        row: e.row,
                        iin: e.iin.to_string(),
                        old_name: user.full_name.clone(),
                        new_name: e.full_name.clone(),
                        updated: options.update_names,
                        message: if options.update_names { NAME_UPDATED } else { NAME_KEPT }.to_owned(),
                    });
                }
                known.insert(e.iin.clone(), existing.is_some());
            }
        }
        let renamed: BTreeSet<&str> = report
            .name_changes
            .iter()
            .filter(|c| c.updated)
            .map(|c| c.iin.as_str())
            .collect();
        let mut first_rows: Vec<&RosterEntry> = Vec::new();
        let mut seen = BTreeSet::new();
        for e in &entries {
            if seen.insert(e.iin.clone()) && !known.get(&e.iin).copied().unwrap_or(false) {
                first_rows.push(e);
            }
        }
        report.users_existing = entries
            .iter()
            .filter(|e| known.get(&e.iin).copied().unwrap_or(false))
            .count();
        if options.dry_run {
            report.users_created = first_rows.len();
            let mut groups = BTreeSet::new();
            for e in entries.iter().filter(|e| !e.group.is_empty()) {
                if !groups.contains(&e.group) && self.store().group_by_name(&e.group).await?.is_none() {
                    groups.insert(e.group.clone());
                }
            }
            report.groups_created = groups.into_iter().collect();
            return Ok(report);
        }

        let policy = options.passwords.unwrap_or(self.config().import_passwords);
        let credentials = self.initial_passwords(&first_rows, policy, progress).await?;
        let hashes: HashMap<&Iin, &str> = first_rows
            .iter()
            .zip(&credentials)
            .map(|(e, (_, hash))| (&e.iin, hash.as_str()))
            .collect();
        let rows: Vec<RosterRow> = entries
            .iter()
            .map(|e| RosterRow {
                group: (kind == RosterKind::Students).then(|| e.group.clone()),
                role: match kind {
                    RosterKind::Students => Role::Student,
                    RosterKind::Teachers => Role::Teacher,
                },
                subjects: subjects.remove(&(e.row, e.sheet.clone())).unwrap_or_default(),
                group_description: e.group_description.clone(),
                iin: e.iin.clone(),
                full_name: e.full_name.clone(),
                phone: e.phone.clone(),
                new_password_hash: hashes.get(&e.iin).map(|h| (*h).to_owned()),
                update_name: renamed.contains(e.iin.as_str()),
            })
            .collect();
        progress(ImportProgress::Writing);
        let name_changes = &report.name_changes;
        let rows_valid = report.rows_valid;
        let assigned = &report.subjects_assigned;
        let audit = |outcome: &RosterOutcome| AuditEntry {
            actor: admin.id(),
            action: match kind {
                RosterKind::Students => "groups.import",
                RosterKind::Teachers => "teachers.import",
            },
            target: format!("{rows_valid} rows"),
            before: None,
            after: Some(serde_json::json!({
                "users_created": outcome.users_created.len(),
                "groups_created": outcome.groups_created,
                "subjects_assigned": assigned.iter()
                    .map(|a| serde_json::json!({"subject_id": a.subject_id, "iin": a.iin, "previous_teacher": a.previous_teacher}))
                    .collect::<Vec<_>>(),
                // Only what this transaction changed (another import may have been first).
                "names_updated": name_changes.iter()
                    .filter(|c| outcome.names_updated.iter().any(|i| i.as_str() == c.iin))
                    .map(|c| serde_json::json!({"iin": c.iin, "old": c.old_name, "new": c.new_name}))
                    .collect::<Vec<_>>(),
            })),
            at: self.now(),
        };
        let outcome = self
            .store()
            .apply_roster(admin, &rows, self.now(), &audit)
            .await
            .map_err(|e| match e {
                crate::error::StoreError::Conflict { constraint } if constraint.contains("phone") => {
                    Error::Conflict("a phone number in the file is already used by another account".into())
                }
                other => other.into(),
            })?;
        report.applied = true;
        report.groups_created = outcome.groups_created;
        report.memberships_added = outcome.memberships_added;
        report.users_created = outcome.users_created.len();
        report.credentials = first_rows
            .iter()
            .zip(credentials)
            .filter(|(e, _)| outcome.users_created.contains(&e.iin))
            .map(|(e, (password, _))| Credential {
                row: e.row,
                iin: e.iin.to_string(),
                full_name: e.full_name.clone(),
                group: e.group.clone(),
                subjects: e.subjects.clone(),
                password: password.expose().to_owned(),
            })
            .collect();
        Ok(report)
    }

    /// A teachers' roster: each row's subjects found, and rows that cannot be written turned into
    /// errors — an unknown or ambiguous subject, a subject two teachers of the file claim, an IIN
    /// of an account that is not a teacher. Answers each valid row's subjects (by row and sheet)
    /// and the assignments that change a subject's teacher.
    async fn teachers_subjects(
        &self,
        entries: &mut Vec<RosterEntry>,
        errors: &mut Vec<RowError>,
        existing: &HashMap<Iin, Option<User>>,
    ) -> Result<(HashMap<RowKey, Vec<SubjectId>>, Vec<SubjectAssignment>)> {
        let trees = self.store().module_trees(ModuleScope::All, None).await?;
        // title key → (subject, module title, its current teacher)
        let mut by_title: HashMap<String, Vec<_>> = HashMap::new();
        for tree in &trees {
            for s in &tree.subjects {
                by_title.entry(title_key(&s.subject.title)).or_default().push((
                    &s.subject,
                    tree.module.title.as_str(),
                    s.teacher.as_ref(),
                ));
            }
        }
        let find = |written: &str| -> std::result::Result<_, String> {
            let plain = by_title.get(&title_key(written)).map(Vec::as_slice).unwrap_or_default();
            let qualified = || {
                let (module, subject) = written.rsplit_once('/')?;
                let module = title_key(module);
                let found: Vec<_> = by_title
                    .get(&title_key(subject))?
                    .iter()
                    .filter(|(_, m, _)| title_key(m) == module)
                    .copied()
                    .collect();
                (!found.is_empty()).then_some(found)
            };
            match plain {
                [one] => Ok(*one),
                [] => match qualified().as_deref() {
                    Some([one]) => Ok(*one),
                    Some(_) => Err(format!(
                        "two subjects of one module are titled {written:?}; rename one of them"
                    )),
                    None => Err(format!(
                        "no subject is titled {written:?} (create it first, or check the spelling)"
                    )),
                },
                many => Err(format!(
                    "subject {written:?} is in several modules ({}): write it as \"Module / Subject\"",
                    many.iter().map(|(_, m, _)| *m).collect::<Vec<_>>().join(", ")
                )),
            }
        };
        let mut resolved: HashMap<RowKey, Vec<SubjectId>> = HashMap::new();
        let mut claims: HashMap<SubjectId, Vec<(RowKey, Iin)>> = HashMap::new();
        let mut assignments = Vec::new();
        let mut bad: HashMap<RowKey, Vec<String>> = HashMap::new();
        for e in entries.iter() {
            let at = (e.row, e.sheet.clone());
            if let Some(Some(user)) = existing.get(&e.iin)
                && !crate::policy::may_teach(user)
            {
                bad.entry(at.clone()).or_default().push(format!(
                    "the IIN belongs to an account with the role {}; change its role to teach",
                    user.role.as_str()
                ));
            }
            for written in &e.subjects {
                match find(written) {
                    Ok((subject, module, teacher)) => {
                        resolved.entry(at.clone()).or_default().push(subject.id);
                        claims.entry(subject.id).or_default().push((at.clone(), e.iin.clone()));
                        if teacher.is_none_or(|t| t.iin != e.iin.as_str()) {
                            let change = SubjectAssignment {
                                row: e.row,
                                iin: e.iin.to_string(),
                                full_name: e.full_name.clone(),
                                subject_id: subject.id,
                                subject: subject.title.clone(),
                                module: module.to_owned(),
                                previous_teacher: teacher.map(|t| t.full_name.clone()),
                            };
                            assignments.push((at.clone(), change));
                        }
                    }
                    Err(message) => bad.entry(at.clone()).or_default().push(message),
                }
            }
        }
        for rows in claims.values() {
            let teachers: BTreeSet<&Iin> = rows.iter().map(|(_, iin)| iin).collect();
            if teachers.len() > 1 {
                let listed: Vec<String> = rows.iter().map(|((row, _), _)| row.to_string()).collect();
                for (at, _) in rows {
                    bad.entry(at.clone()).or_default().push(format!(
                        "a subject of this row is given to different teachers in rows {}",
                        listed.join(", ")
                    ));
                }
            }
        }
        entries.retain(|e| {
            let at = (e.row, e.sheet.clone());
            match bad.remove(&at) {
                Some(problems) => {
                    errors.push(RowError {
                        sheet: e.sheet.clone(),
                        row: e.row,
                        message: problems.join("; "),
                        full_name: Some(e.full_name.clone()),
                    });
                    resolved.remove(&at);
                    false
                }
                None => true,
            }
        });
        // Only rows still valid (those keep their subjects); a subject named twice for one teacher
        // changes hands once.
        let mut listed = BTreeSet::new();
        let assignments = assignments
            .into_iter()
            .filter(|(at, a)| resolved.contains_key(at) && listed.insert(a.subject_id))
            .map(|(_, a)| a)
            .collect();
        errors.sort_by(|a, b| (&a.sheet, a.row).cmp(&(&b.sheet, b.row)));
        Ok((resolved, assignments))
    }

    /// Group names match regardless of case and spacing: a row naming `по-23-1` joins the existing
    /// `ПО-23-1`, and rows of one file that spell a new group differently make one group, spelled
    /// as its first row does.
    async fn spell_groups_as_known(&self, entries: &mut [RosterEntry]) -> Result<()> {
        let (groups, _) = self.store().list_groups(crate::domain::Page::default()).await?;
        let mut known: HashMap<String, String> = groups
            .into_iter()
            .map(|g| (crate::domain::title_key(&g.name), g.name))
            .collect();
        for e in entries.iter_mut() {
            let spelled = known
                .entry(crate::domain::title_key(&e.group))
                .or_insert_with(|| e.group.clone());
            e.group.clone_from(spelled);
        }
        Ok(())
    }

    /// Passwords and their hashes for new students, hashed on every core at once.
    async fn initial_passwords(
        &self,
        rows: &[&RosterEntry],
        policy: InitialPasswords,
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<Vec<(Password, String)>> {
        let total = rows.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        progress(ImportProgress::Hashing { done: 0, total });
        let tasks = rows.iter().map(|e| {
            let password = match policy {
                InitialPasswords::Random => Password::random(),
                InitialPasswords::Legacy => Password::presented(&InitialPasswords::legacy_password(&e.iin))
                    .unwrap_or_else(|_| Password::random()),
            };
            let done = &done;
            async move {
                let hash = self.hasher().hash(&password).await?;
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(ImportProgress::Hashing { done: n, total });
                Ok::<_, Error>((password, hash))
            }
        });
        join_all(tasks).await.into_iter().collect()
    }
}
