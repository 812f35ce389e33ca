//! Importing groups and students from a spreadsheet.

use std::collections::{BTreeSet, HashMap};

use futures_util::future::join_all;

use super::Platform;
use crate::auth::Principal;
use crate::domain::{Iin, Password, UserId};
use crate::error::{Error, Result};
use crate::import::{
    Credential, ImportMode, ImportOptions, ImportProgress, ImportReport, InitialPasswords, NAME_KEPT, NAME_UPDATED,
    NameChange, RosterEntry, RosterRules, parse_workbook, read_sheets,
};
use crate::store::{AuditEntry, RosterOutcome, RosterRow, Store};

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
        who.require_admin()?;
        self.import_roster(Some(who.id), file, options, progress).await
    }

    /// Operator task (`edu import groups`): the same import, recorded in the audit log without an
    /// acting account.
    pub async fn operator_import_groups(
        &self,
        file: &[u8],
        options: ImportOptions,
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportReport> {
        self.import_roster(None, file, options, progress).await
    }

    async fn import_roster(
        &self,
        actor: Option<UserId>,
        file: &[u8],
        options: ImportOptions,
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportReport> {
        let sheets = read_sheets(file).map_err(|e| Error::Validation(e.to_string()))?;
        let rules = RosterRules {
            allow_invalid_iin: options.allow_invalid_iin,
        };
        let (mut entries, errors) =
            parse_workbook(&sheets, options.sheet.as_deref(), rules).map_err(Error::Validation)?;
        self.spell_groups_as_known(&mut entries).await?;
        let mut report = ImportReport {
            dry_run: options.dry_run,
            rows_total: entries.len() + errors.iter().filter(|e| e.row > 0).count(),
            rows_valid: entries.len(),
            errors,
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
                let existing = self.store().user_by_iin(&e.iin).await?;
                if let Some(user) = &existing
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
            for e in &entries {
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
                group: e.group.clone(),
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
        let audit = |outcome: &RosterOutcome| AuditEntry {
            actor,
            action: "groups.import",
            target: format!("{rows_valid} rows"),
            before: None,
            after: Some(serde_json::json!({
                "users_created": outcome.users_created.len(),
                "groups_created": outcome.groups_created,
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
            .apply_roster(&rows, self.now(), &audit)
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
                password: password.expose().to_owned(),
            })
            .collect();
        Ok(report)
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
