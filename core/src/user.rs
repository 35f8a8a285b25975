//! [`UserData`]: all of one user's documents, seen as one body of data.
//!
//! Reads take the union over every document of a kind (a user may have two
//! tasks documents after two offline devices each created one, or after local
//! data joined an account); entity ids are unique, so the union never
//! duplicates. Writes to an existing entity go to the document that holds it;
//! new entities go to the *primary* document of their kind, the one with the
//! smallest id, so every device picks the same one. Expenses go to the ledger
//! of their month, which is created and registered on first use.

use std::collections::BTreeMap;

use crate::doc::LifeDoc;
use crate::error::{Error, Result};
use crate::finance::{
    Category, Expense, ExpensePatch, FinanceDoc, LedgerDoc, MonthlyReport, NewExpense, apply_patch,
    monthly_report,
};
use crate::habits::{CheckIn, CheckInState, Habit, HabitPatch, HabitsDoc, NewHabit};
use crate::id::{DocumentId, EntityId};
use crate::money::Money;
use crate::root::{DocRole, RootDoc, Settings, SettingsPatch};
use crate::schema::DocKind;
use crate::tasks::{NewTask, Project, Status, Task, TaskPatch, TasksDoc};
use crate::time::{Date, Month, Timestamp};
use crate::today::{Today, today};

/// One user's documents.
#[derive(Debug)]
pub struct UserData {
    root_id: DocumentId,
    root: RootDoc,
    tasks: BTreeMap<DocumentId, TasksDoc>,
    habits: BTreeMap<DocumentId, HabitsDoc>,
    finance: BTreeMap<DocumentId, FinanceDoc>,
    ledgers: BTreeMap<DocumentId, LedgerDoc>,
}

impl UserData {
    /// A new user's documents: a root (with id `root_id`) listing a fresh
    /// tasks, habits and finance document. Ledgers come with the first expense.
    pub fn create(root_id: DocumentId, now: Timestamp) -> Result<Self> {
        let mut data = UserData {
            root_id,
            root: RootDoc::new(),
            tasks: BTreeMap::new(),
            habits: BTreeMap::new(),
            finance: BTreeMap::new(),
            ledgers: BTreeMap::new(),
        };
        let (t, h, f) = (
            DocumentId::generate(),
            DocumentId::generate(),
            DocumentId::generate(),
        );
        data.root.register(
            now,
            t,
            DocRole {
                kind: DocKind::Tasks,
                month: None,
            },
        )?;
        data.root.register(
            now,
            h,
            DocRole {
                kind: DocKind::Habits,
                month: None,
            },
        )?;
        data.root.register(
            now,
            f,
            DocRole {
                kind: DocKind::Finance,
                month: None,
            },
        )?;
        data.tasks.insert(t, TasksDoc::new());
        data.habits.insert(h, HabitsDoc::new());
        data.finance.insert(f, FinanceDoc::new());
        Ok(data)
    }

    /// Opens a user's data from the root document; the documents it lists are
    /// added with [`UserData::attach`] as they are loaded or synced.
    pub fn open(root_id: DocumentId, root: LifeDoc) -> Result<Self> {
        Ok(UserData {
            root_id,
            root: RootDoc::from_doc(root)?,
            tasks: BTreeMap::new(),
            habits: BTreeMap::new(),
            finance: BTreeMap::new(),
            ledgers: BTreeMap::new(),
        })
    }

    /// Adds a loaded document. It must be listed in the root with a matching kind.
    pub fn attach(&mut self, id: DocumentId, doc: LifeDoc) -> Result<()> {
        let role = self
            .root
            .documents()?
            .into_iter()
            .find(|(d, _)| *d == id)
            .map(|(_, r)| r)
            .ok_or_else(|| {
                Error::invalid(
                    "document_id",
                    format!("{id} is not one of this user's documents"),
                )
            })?;
        if role.kind != doc.kind() {
            return Err(Error::Corrupt(format!(
                "{id} is listed as {} but holds {}",
                role.kind,
                doc.kind()
            )));
        }
        match role.kind {
            DocKind::Tasks => drop(self.tasks.insert(id, TasksDoc::from_doc(doc)?)),
            DocKind::Habits => drop(self.habits.insert(id, HabitsDoc::from_doc(doc)?)),
            DocKind::Finance => drop(self.finance.insert(id, FinanceDoc::from_doc(doc)?)),
            DocKind::Ledger => {
                let ledger = LedgerDoc::from_doc(doc)?;
                if role.month != Some(ledger.month()) {
                    return Err(Error::Corrupt(format!(
                        "{id} is listed for {:?} but holds {}",
                        role.month,
                        ledger.month()
                    )));
                }
                self.ledgers.insert(id, ledger);
            }
            DocKind::Root => return Err(Error::Corrupt("a root cannot list another root".into())),
        }
        Ok(())
    }

    /// Documents the root lists that are not loaded yet: what a new device asks the relay for.
    pub fn missing_documents(&self) -> Result<Vec<(DocumentId, DocRole)>> {
        Ok(self
            .root
            .documents()?
            .into_iter()
            .filter(|(id, _)| !self.is_loaded(id))
            .collect())
    }

    /// Moves every domain document of `other` (a device's data from before it
    /// joined this account) into this user's data and lists them in the root:
    /// nothing is copied or rewritten, so nothing is lost and history is kept.
    /// `other`'s settings are dropped in favour of this account's.
    pub fn adopt(&mut self, now: Timestamp, other: UserData) -> Result<Vec<DocumentId>> {
        let mut adopted = Vec::new();
        let roles = other.root.documents()?;
        let role_of = |id: &DocumentId, kind| {
            roles
                .iter()
                .find(|(d, _)| d == id)
                .map_or(DocRole { kind, month: None }, |(_, r)| *r)
        };
        for (id, d) in other.tasks {
            self.root.register(now, id, role_of(&id, DocKind::Tasks))?;
            self.tasks.insert(id, d);
            adopted.push(id);
        }
        for (id, d) in other.habits {
            self.root.register(now, id, role_of(&id, DocKind::Habits))?;
            self.habits.insert(id, d);
            adopted.push(id);
        }
        for (id, d) in other.finance {
            self.root
                .register(now, id, role_of(&id, DocKind::Finance))?;
            self.finance.insert(id, d);
            adopted.push(id);
        }
        for (id, d) in other.ledgers {
            self.root.register(
                now,
                id,
                DocRole {
                    kind: DocKind::Ledger,
                    month: Some(d.month()),
                },
            )?;
            self.ledgers.insert(id, d);
            adopted.push(id);
        }
        Ok(adopted)
    }

    /// The root document's id.
    pub fn root_id(&self) -> DocumentId {
        self.root_id
    }

    /// Every loaded document with its id, the root first: for saving and sync.
    pub fn documents_mut(&mut self) -> Vec<(DocumentId, &mut LifeDoc)> {
        let mut out = vec![(self.root_id, self.root.doc_mut())];
        out.extend(self.tasks.iter_mut().map(|(id, d)| (*id, d.doc_mut())));
        out.extend(self.habits.iter_mut().map(|(id, d)| (*id, d.doc_mut())));
        out.extend(self.finance.iter_mut().map(|(id, d)| (*id, d.doc_mut())));
        out.extend(self.ledgers.iter_mut().map(|(id, d)| (*id, d.doc_mut())));
        out
    }

    /// The ids of every loaded document, the root first.
    pub fn document_ids(&self) -> Vec<DocumentId> {
        let mut out = vec![self.root_id];
        out.extend(self.tasks.keys());
        out.extend(self.habits.keys());
        out.extend(self.finance.keys());
        out.extend(self.ledgers.keys());
        out
    }

    /// The loaded document `id`, if any.
    pub fn document_mut(&mut self, id: &DocumentId) -> Option<&mut LifeDoc> {
        if *id == self.root_id {
            return Some(self.root.doc_mut());
        }
        self.tasks
            .get_mut(id)
            .map(TasksDoc::doc_mut)
            .or_else(|| self.habits.get_mut(id).map(HabitsDoc::doc_mut))
            .or_else(|| self.finance.get_mut(id).map(FinanceDoc::doc_mut))
            .or_else(|| self.ledgers.get_mut(id).map(LedgerDoc::doc_mut))
    }

    fn is_loaded(&self, id: &DocumentId) -> bool {
        self.tasks.contains_key(id)
            || self.habits.contains_key(id)
            || self.finance.contains_key(id)
            || self.ledgers.contains_key(id)
    }

    // ----- settings -----

    /// The user's settings.
    pub fn settings(&self) -> Result<Settings> {
        self.root.settings()
    }

    /// The user's calendar date at `now`: in the time zone of their settings,
    /// or in `device_zone` (the device's own IANA zone) when they chose none.
    #[cfg(feature = "tz")]
    pub fn local_today(&self, now: Timestamp, device_zone: &str) -> Result<Date> {
        let settings = self.settings()?;
        crate::time::today_in(settings.timezone.as_deref().unwrap_or(device_zone), now)
    }

    /// Changes settings.
    pub fn update_settings(&mut self, now: Timestamp, patch: SettingsPatch) -> Result<()> {
        self.root.update_settings(now, patch)
    }

    // ----- tasks -----

    /// Every task of every tasks document.
    pub fn tasks(&self) -> Result<Vec<Task>> {
        let mut out = Vec::new();
        for d in self.tasks.values() {
            out.extend(d.tasks()?);
        }
        Ok(out)
    }

    /// Every task that is not done, of every tasks document.
    pub fn open_tasks(&self) -> Result<Vec<Task>> {
        let mut out = Vec::new();
        for d in self.tasks.values() {
            out.extend(d.open_tasks()?);
        }
        Ok(out)
    }

    /// One task.
    pub fn task(&self, id: EntityId) -> Result<Task> {
        self.tasks_doc_of(id)?.task(id)
    }

    /// Every project.
    pub fn projects(&self) -> Result<Vec<Project>> {
        let mut out = Vec::new();
        for d in self.tasks.values() {
            out.extend(d.projects()?);
        }
        Ok(out)
    }

    /// Adds a task to the primary tasks document.
    pub fn add_task(&mut self, now: Timestamp, new: NewTask) -> Result<EntityId> {
        let project_home = match new.project {
            Some(p) => Some(self.tasks_doc_of_project(p)?),
            None => None,
        };
        let doc = match project_home {
            // A task goes where its project is, so the project check holds.
            Some(home) => self
                .tasks
                .get_mut(&home)
                .ok_or_else(|| Error::Corrupt("project document vanished".into()))?,
            None => self
                .tasks
                .values_mut()
                .next()
                .ok_or_else(|| missing(DocKind::Tasks))?,
        };
        doc.add_task(now, new)
    }

    /// Adds the task a quick-add line describes
    /// ([`crate::tasks::quick_add`]), with `today` the user's local date. A
    /// `#project` is the existing project of that name (case-insensitive;
    /// active ones first), or a new one. Typed `on` Today, a line with no
    /// date is planned for today ([`crate::tasks::quick_add::QuickAdd::added_on`]).
    pub fn quick_add_task(
        &mut self,
        now: Timestamp,
        today: Date,
        line: &str,
        on: crate::tasks::quick_add::AddedOn,
    ) -> Result<EntityId> {
        let parsed = crate::tasks::quick_add::parse(line, today)?.added_on(on, today);
        let project = match parsed.project.as_deref() {
            None => None,
            Some(name) => {
                let mut known = self.projects()?;
                known.retain(|p| p.name.eq_ignore_ascii_case(name));
                known.sort_by_key(|p| (p.archived, p.created_at));
                match known.first() {
                    Some(p) => Some(p.id),
                    None => Some(self.add_project(now, name)?),
                }
            }
        };
        self.add_task(now, parsed.into_new_task(project))
    }

    /// Every loaded document's heads: take them before an action and pass
    /// them to [`UserData::changed_since`] after it, to learn which
    /// documents to save and sync.
    pub fn heads(&mut self) -> BTreeMap<DocumentId, Vec<automerge::ChangeHash>> {
        self.documents_mut()
            .into_iter()
            .map(|(id, d)| (id, d.heads()))
            .collect()
    }

    /// The documents whose heads differ from `before` (or that are new).
    pub fn changed_since(
        &mut self,
        before: &BTreeMap<DocumentId, Vec<automerge::ChangeHash>>,
    ) -> Vec<DocumentId> {
        self.documents_mut()
            .into_iter()
            .filter_map(|(id, d)| (before.get(&id) != Some(&d.heads())).then_some(id))
            .collect()
    }

    /// Changes a task.
    pub fn update_task(&mut self, now: Timestamp, id: EntityId, patch: TaskPatch) -> Result<()> {
        self.tasks_doc_of_mut(id)?.update_task(now, id, patch)
    }

    /// Completes a task on `today`; returns the next occurrence of a repeating one.
    pub fn complete_task(
        &mut self,
        now: Timestamp,
        id: EntityId,
        today: Date,
    ) -> Result<Option<Date>> {
        self.tasks_doc_of_mut(id)?.complete_task(now, id, today)
    }

    /// Reopens a completed task.
    pub fn reopen_task(&mut self, now: Timestamp, id: EntityId, status: Status) -> Result<()> {
        self.tasks_doc_of_mut(id)?.reopen_task(now, id, status)
    }

    /// Deletes a task.
    pub fn delete_task(&mut self, now: Timestamp, id: EntityId) -> Result<()> {
        self.tasks_doc_of_mut(id)?.delete_task(now, id)
    }

    /// Adds an item at the end of a task's checklist.
    pub fn add_checklist_item(
        &mut self,
        now: Timestamp,
        task: EntityId,
        text: &str,
    ) -> Result<EntityId> {
        self.tasks_doc_of_mut(task)?
            .add_checklist_item(now, task, text)
    }

    /// Changes a checklist item's text or done flag.
    pub fn update_checklist_item(
        &mut self,
        now: Timestamp,
        task: EntityId,
        item: EntityId,
        text: Option<&str>,
        done: Option<bool>,
    ) -> Result<()> {
        self.tasks_doc_of_mut(task)?
            .update_checklist_item(now, task, item, text, done)
    }

    /// Removes a checklist item.
    pub fn remove_checklist_item(
        &mut self,
        now: Timestamp,
        task: EntityId,
        item: EntityId,
    ) -> Result<()> {
        self.tasks_doc_of_mut(task)?
            .remove_checklist_item(now, task, item)
    }

    /// Adds a project to the primary tasks document.
    pub fn add_project(&mut self, now: Timestamp, name: &str) -> Result<EntityId> {
        self.tasks
            .values_mut()
            .next()
            .ok_or_else(|| missing(DocKind::Tasks))?
            .add_project(now, name)
    }

    fn tasks_doc_of(&self, id: EntityId) -> Result<&TasksDoc> {
        self.tasks
            .values()
            .find(|d| d.task(id).is_ok())
            .ok_or(Error::NotFound {
                kind: "task",
                id: id.to_string(),
            })
    }

    fn tasks_doc_of_mut(&mut self, id: EntityId) -> Result<&mut TasksDoc> {
        self.tasks
            .values_mut()
            .find(|d| d.task(id).is_ok())
            .ok_or(Error::NotFound {
                kind: "task",
                id: id.to_string(),
            })
    }

    fn tasks_doc_of_project(&self, id: EntityId) -> Result<DocumentId> {
        for (doc_id, d) in &self.tasks {
            if d.projects()?.iter().any(|p| p.id == id) {
                return Ok(*doc_id);
            }
        }
        Err(Error::NotFound {
            kind: "project",
            id: id.to_string(),
        })
    }

    // ----- habits -----

    /// Every habit of every habits document.
    pub fn habits(&self) -> Result<Vec<Habit>> {
        let mut out = Vec::new();
        for d in self.habits.values() {
            out.extend(d.habits()?);
        }
        Ok(out)
    }

    /// One habit.
    pub fn habit(&self, id: EntityId) -> Result<Habit> {
        self.habits
            .values()
            .find_map(|d| d.habit(id).ok())
            .ok_or(Error::NotFound {
                kind: "habit",
                id: id.to_string(),
            })
    }

    /// Adds a habit to the primary habits document.
    pub fn add_habit(&mut self, now: Timestamp, new: NewHabit) -> Result<EntityId> {
        self.habits
            .values_mut()
            .next()
            .ok_or_else(|| missing(DocKind::Habits))?
            .add_habit(now, new)
    }

    /// Changes a habit.
    pub fn update_habit(&mut self, now: Timestamp, id: EntityId, patch: HabitPatch) -> Result<()> {
        self.habits_doc_of_mut(id)?.update_habit(now, id, patch)
    }

    /// Deletes a habit.
    pub fn delete_habit(&mut self, now: Timestamp, id: EntityId) -> Result<()> {
        self.habits_doc_of_mut(id)?.delete_habit(now, id)
    }

    /// Records a check-in.
    pub fn check_in(
        &mut self,
        now: Timestamp,
        id: EntityId,
        date: Date,
        today: Date,
        state: CheckInState,
        note: Option<&str>,
    ) -> Result<CheckIn> {
        self.habits_doc_of_mut(id)?
            .check_in(now, id, date, today, state, note)
    }

    /// Removes a check-in.
    pub fn clear_check_in(&mut self, now: Timestamp, id: EntityId, date: Date) -> Result<()> {
        self.habits_doc_of_mut(id)?.clear_check_in(now, id, date)
    }

    fn habits_doc_of_mut(&mut self, id: EntityId) -> Result<&mut HabitsDoc> {
        self.habits
            .values_mut()
            .find(|d| d.has_habit(id))
            .ok_or(Error::NotFound {
                kind: "habit",
                id: id.to_string(),
            })
    }

    // ----- finance -----

    /// Every category (deleted ones flagged) of every finance document.
    pub fn categories(&self) -> Result<Vec<Category>> {
        let mut out = Vec::new();
        for d in self.finance.values() {
            out.extend(d.categories()?);
        }
        Ok(out)
    }

    /// Adds a category to the primary finance document.
    pub fn add_category(&mut self, now: Timestamp, name: &str, rollover: bool) -> Result<EntityId> {
        self.finance
            .values_mut()
            .next()
            .ok_or_else(|| missing(DocKind::Finance))?
            .add_category(now, name, rollover)
    }

    /// Renames a category or changes its rollover.
    pub fn update_category(
        &mut self,
        now: Timestamp,
        id: EntityId,
        name: Option<&str>,
        rollover: Option<bool>,
    ) -> Result<()> {
        self.finance_doc_of_mut(id)?
            .update_category(now, id, name, rollover)
    }

    /// Deletes a category.
    pub fn delete_category(&mut self, now: Timestamp, id: EntityId) -> Result<()> {
        self.finance_doc_of_mut(id)?.delete_category(now, id)
    }

    /// Sets or removes a month's budget of a category.
    pub fn set_budget(
        &mut self,
        now: Timestamp,
        id: EntityId,
        month: Month,
        amount: Option<Money>,
    ) -> Result<()> {
        self.finance_doc_of_mut(id)?
            .set_budget(now, id, month, amount)
    }

    fn finance_doc_of_mut(&mut self, id: EntityId) -> Result<&mut FinanceDoc> {
        for d in self.finance.values_mut() {
            if d.has_category(id)? {
                return Ok(d);
            }
        }
        Err(Error::NotFound {
            kind: "category",
            id: id.to_string(),
        })
    }

    fn check_category(&self, id: Option<EntityId>) -> Result<()> {
        if let Some(c) = id {
            let mut found = false;
            for d in self.finance.values() {
                found |= d.has_category(c)?;
            }
            if !found {
                return Err(Error::NotFound {
                    kind: "category",
                    id: c.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Every expense of every loaded ledger.
    pub fn expenses(&self) -> Result<Vec<Expense>> {
        let mut out = Vec::new();
        for d in self.ledgers.values() {
            out.extend(d.expenses()?);
        }
        Ok(out)
    }

    /// Expenses dated `from` to `to` (inclusive), reading only the ledgers of those months.
    pub fn expenses_between(&self, from: Date, to: Date) -> Result<Vec<Expense>> {
        let mut out = Vec::new();
        let months = Month::of(from)..=Month::of(to);
        for d in self
            .ledgers
            .values()
            .filter(|l| months.contains(&l.month()))
        {
            out.extend(
                d.expenses()?
                    .into_iter()
                    .filter(|e| e.date >= from && e.date <= to),
            );
        }
        Ok(out)
    }

    /// Adds an expense to its month's ledger. Returns the expense id and, when
    /// the month had no ledger yet, the id of the ledger created for it (which
    /// the caller stores and syncs like any document).
    pub fn add_expense(
        &mut self,
        now: Timestamp,
        new: NewExpense,
    ) -> Result<(EntityId, Option<DocumentId>)> {
        self.check_category(new.category)?;
        let (ledger, created) = self.ledger_for(now, Month::of(new.date))?;
        let id = self
            .ledgers
            .get_mut(&ledger)
            .ok_or_else(|| missing(DocKind::Ledger))?
            .add_expense(now, new)?;
        Ok((id, created))
    }

    /// Changes an expense. A new date in another month moves it to that month's
    /// ledger under the same id (returns the id of a ledger created for it).
    pub fn update_expense(
        &mut self,
        now: Timestamp,
        id: EntityId,
        patch: ExpensePatch,
    ) -> Result<Option<DocumentId>> {
        if let Some(Some(c)) = patch.category {
            self.check_category(Some(c))?;
        }
        let home = self.ledger_of(id)?;
        let current = self.ledgers[&home].expense(id)?;
        let target_month = Month::of(patch.date.unwrap_or(current.date));
        if target_month == self.ledgers[&home].month() {
            self.ledgers
                .get_mut(&home)
                .ok_or_else(|| missing(DocKind::Ledger))?
                .update_expense(now, id, patch)?;
            return Ok(None);
        }
        let moved = apply_patch(&current, &patch);
        let (target, created) = self.ledger_for(now, target_month)?;
        self.ledgers
            .get_mut(&target)
            .ok_or_else(|| missing(DocKind::Ledger))?
            .insert_expense(now, id, moved)?;
        self.ledgers
            .get_mut(&home)
            .ok_or_else(|| missing(DocKind::Ledger))?
            .delete_expense(now, id)?;
        Ok(created)
    }

    /// Deletes an expense.
    pub fn delete_expense(&mut self, now: Timestamp, id: EntityId) -> Result<()> {
        let home = self.ledger_of(id)?;
        self.ledgers
            .get_mut(&home)
            .ok_or_else(|| missing(DocKind::Ledger))?
            .delete_expense(now, id)
    }

    fn ledger_of(&self, id: EntityId) -> Result<DocumentId> {
        self.ledgers
            .iter()
            .find(|(_, l)| l.has_expense(id))
            .map(|(d, _)| *d)
            .ok_or(Error::NotFound {
                kind: "expense",
                id: id.to_string(),
            })
    }

    /// The primary ledger of `month`, created and registered when there is none.
    fn ledger_for(
        &mut self,
        now: Timestamp,
        month: Month,
    ) -> Result<(DocumentId, Option<DocumentId>)> {
        if let Some((id, _)) = self.ledgers.iter().find(|(_, l)| l.month() == month) {
            return Ok((*id, None));
        }
        if self
            .root
            .documents()?
            .iter()
            .any(|(id, r)| r.month == Some(month) && !self.ledgers.contains_key(id))
        {
            // The ledger exists but is not loaded here yet: writing to a new
            // one would be safe (reads take the union) but would scatter a
            // month over two documents, so load it first.
            return Err(Error::invalid(
                "date",
                format!("the {month} ledger is not loaded on this device yet"),
            ));
        }
        let id = DocumentId::generate();
        self.root.register(
            now,
            id,
            DocRole {
                kind: DocKind::Ledger,
                month: Some(month),
            },
        )?;
        self.ledgers.insert(id, LedgerDoc::new(month));
        Ok((id, Some(id)))
    }

    // ----- views -----

    /// The Today view for `date`, reading only that month's ledger.
    pub fn today(&self, date: Date) -> Result<Today> {
        let settings = self.settings()?;
        let expenses = self.expenses_between(date, date)?;
        Ok(today(
            date,
            &settings,
            &self.open_tasks()?,
            &self.habits()?,
            &expenses,
        ))
    }

    /// The monthly report for `month` (rollover reads the months before it).
    pub fn monthly_report(&self, month: Month) -> Result<MonthlyReport> {
        let categories = self.categories()?;
        let first_budget = categories
            .iter()
            .filter_map(|c| c.budgets.keys().next().copied())
            .min()
            .unwrap_or(month)
            .min(month);
        let expenses = self.expenses_between(first_budget.first_day(), month.last_day())?;
        Ok(monthly_report(month, &categories, &expenses))
    }
}

fn missing(kind: DocKind) -> Error {
    Error::Corrupt(format!("this user has no {kind} document loaded"))
}

pub mod duplicates;

#[cfg(test)]
mod tests;
