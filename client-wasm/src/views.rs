//! What the screens read, kept up to date incrementally.
//!
//! Reading 10,000 tasks out of Automerge costs tens of milliseconds; doing
//! it on every keystroke would make the app feel slow. The views keep the
//! materialised tasks, habits and expenses, each with the heads of the
//! documents they were read from. When a tasks document moves, Automerge's
//! diff between the old and new heads names the tasks that changed, and only
//! those are read again; habits and expenses (small per document) are read
//! again when their documents move. Anything unexpected in a diff falls back
//! to reading the document whole, so a view is never wrong, only slower.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use std::collections::BTreeSet;

use automerge::{AutoCommit, ChangeHash, Prop, ROOT, ReadDoc};
use lifeos_core::finance::Expense;
use lifeos_core::habits::Habit;
use lifeos_core::root::Settings;
use lifeos_core::tasks::Task;
use lifeos_core::time::{Date, Month};
use lifeos_core::today::{Today, TodayHabit, today};
use lifeos_core::{DocKind, DocumentId, EntityId, Error, Result, UserData};

type Heads = BTreeMap<DocumentId, Vec<ChangeHash>>;

/// Today's habit lines, with the habits, settings and day they were computed from.
type HabitsToday = (Rc<Vec<Habit>>, Settings, Date, Rc<Vec<TodayHabit>>);

fn heads_of(data: &mut UserData, kind: DocKind) -> Heads {
    data.documents_mut()
        .into_iter()
        .filter(|(_, d)| d.kind() == kind)
        .map(|(id, d)| (id, d.heads()))
        .collect()
}

#[derive(Default)]
struct TaskView {
    heads: Heads,
    tasks: Rc<Vec<Task>>,
    index: HashMap<EntityId, usize>,
}

/// The materialised views of one user's data.
#[derive(Default)]
pub struct Views {
    tasks: Option<TaskView>,
    habits: Option<(Heads, Rc<Vec<Habit>>)>,
    expenses: Option<(Heads, Month, Rc<Vec<Expense>>)>,
    today_habits: Option<HabitsToday>,
    /// How many tasks were read one by one rather than in a full read (for tests).
    pub tasks_read_singly: usize,
}

/// The tasks that the changes since `old` touched, or `None` when they
/// touched something else (projects, the document itself): then the caller
/// reads the document whole.
///
/// Automerge's own diff between heads costs milliseconds in a document of
/// 10,000 tasks (it builds a path for every patch); reading the new changes'
/// operations and asking for the parents of the objects they touch costs
/// tens of microseconds. `import` turns an operation's object id into a
/// handle; it is public but undocumented in automerge 0.12, so any surprise
/// there also falls back to a whole read.
fn touched_tasks(doc: &mut AutoCommit, old: &[ChangeHash]) -> Option<Vec<EntityId>> {
    let tasks_obj = match doc.get(ROOT, "tasks") {
        Ok(Some((automerge::Value::Object(_), id))) => id,
        _ => return None,
    };
    let mut targets: BTreeSet<(String, Option<String>)> = BTreeSet::new();
    for change in doc.get_changes(old) {
        for op in change.decode().operations {
            let key = match &op.key {
                automerge::legacy::Key::Map(k) => Some(k.to_string()),
                automerge::legacy::Key::Seq(_) => None,
            };
            targets.insert((op.obj.to_string(), key));
        }
    }
    let mut ids = Vec::new();
    for (obj, key) in targets {
        if obj == "_root" {
            return None;
        }
        let (obj, _) = doc.import(&obj).ok()?;
        if obj == tasks_obj {
            ids.push(key?.parse::<EntityId>().ok()?);
            continue;
        }
        let parents = doc.parents(&obj).ok()?;
        let mut task = None;
        for parent in parents {
            if parent.obj == tasks_obj {
                match parent.prop {
                    Prop::Map(k) => task = Some(k.parse::<EntityId>().ok()?),
                    Prop::Seq(_) => return None,
                }
                break;
            }
        }
        ids.push(task?);
    }
    Some(ids)
}

impl Views {
    /// Every task (open and done), in creation order.
    pub fn tasks(&mut self, data: &mut UserData) -> Result<Rc<Vec<Task>>> {
        let heads = heads_of(data, DocKind::Tasks);
        let cached = self.tasks.take();
        let view = match cached {
            Some(view) if view.heads == heads => view,
            Some(view) if view.heads.keys().eq(heads.keys()) => {
                self.update_tasks(data, view, heads)?
            }
            _ => full_tasks(data, heads)?,
        };
        let out = view.tasks.clone();
        self.tasks = Some(view);
        Ok(out)
    }

    fn update_tasks(
        &mut self,
        data: &mut UserData,
        mut view: TaskView,
        heads: Heads,
    ) -> Result<TaskView> {
        let mut touched = Vec::new();
        for (id, new_heads) in &heads {
            let old = &view.heads[id];
            if old == new_heads {
                continue;
            }
            let doc = data
                .document_mut(id)
                .ok_or_else(|| Error::Corrupt("a tasks document went away".into()))?
                .automerge_mut();
            match touched_tasks(doc, old) {
                Some(ids) => touched.extend(ids),
                None => return full_tasks(data, heads),
            }
        }
        touched.sort();
        touched.dedup();
        let tasks = Rc::make_mut(&mut view.tasks);
        let mut gone = Vec::new();
        for id in touched {
            self.tasks_read_singly += 1;
            match (data.task(id), view.index.get(&id)) {
                (Ok(task), Some(&i)) => tasks[i] = task,
                (Ok(task), None) => {
                    view.index.insert(id, tasks.len());
                    tasks.push(task);
                }
                (Err(Error::NotFound { .. }), Some(_)) => gone.push(id),
                (Err(Error::NotFound { .. }), None) => {}
                (Err(e), _) => return Err(e),
            }
        }
        if !gone.is_empty() {
            tasks.retain(|t| !gone.contains(&t.id));
            view.index = tasks.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        }
        view.heads = heads;
        Ok(view)
    }

    /// Every habit with its check-ins.
    pub fn habits(&mut self, data: &mut UserData) -> Result<Rc<Vec<Habit>>> {
        let heads = heads_of(data, DocKind::Habits);
        if let Some((h, habits)) = &self.habits
            && *h == heads
        {
            return Ok(habits.clone());
        }
        let habits = Rc::new(data.habits()?);
        self.habits = Some((heads, habits.clone()));
        Ok(habits)
    }

    /// The Today view for `date`. The habits part (streaks and strength over
    /// a year of check-ins) is kept until habits, settings or the day change.
    pub fn today(&mut self, data: &mut UserData, date: Date) -> Result<Today> {
        let tasks = self.tasks(data)?;
        let habits = self.habits(data)?;
        let expenses = self.expenses(data, Month::of(date))?;
        let settings = data.settings()?;
        let todays = expenses.iter().filter(|e| e.date == date);
        let mut view = today(date, &settings, &tasks, &[], todays);
        let fresh = match &self.today_habits {
            Some((h, s, d, _)) => !(Rc::ptr_eq(h, &habits) && *s == settings && *d == date),
            None => true,
        };
        if fresh {
            let part = today(date, &settings, &[], &habits, std::iter::empty()).habits;
            self.today_habits = Some((habits, settings, date, Rc::new(part)));
        }
        if let Some((_, _, _, part)) = &self.today_habits {
            view.habits = part.as_ref().clone();
        }
        Ok(view)
    }

    /// The expenses of `month`.
    pub fn expenses(&mut self, data: &mut UserData, month: Month) -> Result<Rc<Vec<Expense>>> {
        let heads = heads_of(data, DocKind::Ledger);
        if let Some((h, m, expenses)) = &self.expenses
            && *h == heads
            && *m == month
        {
            return Ok(expenses.clone());
        }
        let expenses = Rc::new(data.expenses_between(month.first_day(), month.last_day())?);
        self.expenses = Some((heads, month, expenses.clone()));
        Ok(expenses)
    }
}

fn full_tasks(data: &mut UserData, heads: Heads) -> Result<TaskView> {
    let tasks = data.tasks()?;
    let index = tasks.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    Ok(TaskView {
        heads,
        tasks: Rc::new(tasks),
        index,
    })
}

#[cfg(test)]
mod tests {
    use lifeos_core::tasks::{NewTask, Status, TaskPatch};
    use lifeos_core::time::{Date, Timestamp};

    use super::*;

    fn at(n: i64) -> Timestamp {
        Timestamp::from_millis(1_795_000_000_000 + n)
    }

    fn fresh(data: &mut UserData) -> Vec<Task> {
        let mut t = data.tasks().unwrap();
        t.sort_by_key(|t| t.id);
        t
    }

    fn cached(views: &mut Views, data: &mut UserData) -> Vec<Task> {
        let mut t = views.tasks(data).unwrap().as_ref().clone();
        t.sort_by_key(|t| t.id);
        t
    }

    #[test]
    fn the_task_view_follows_every_kind_of_edit_reading_only_what_changed() {
        let mut data = UserData::create(DocumentId::generate(), at(0)).unwrap();
        let mut views = Views::default();
        let a = data
            .add_task(
                at(1),
                NewTask {
                    title: "A".into(),
                    ..NewTask::default()
                },
            )
            .unwrap();
        assert_eq!(cached(&mut views, &mut data), fresh(&mut data));
        assert_eq!(views.tasks_read_singly, 0);

        let b = data
            .add_task(
                at(2),
                NewTask {
                    title: "B".into(),
                    ..NewTask::default()
                },
            )
            .unwrap();
        data.update_task(
            at(3),
            a,
            TaskPatch {
                notes: Some("text".into()),
                ..TaskPatch::default()
            },
        )
        .unwrap();
        data.add_checklist_item(at(4), a, "step").unwrap();
        assert_eq!(cached(&mut views, &mut data), fresh(&mut data));
        assert_eq!(views.tasks_read_singly, 2, "A and B, each once");

        // Edits inside a task's nested objects (its title text, a checklist item).
        let item = data.task(a).unwrap().checklist[0].id;
        data.update_task(
            at(4),
            a,
            TaskPatch {
                title: Some("A renamed".into()),
                ..TaskPatch::default()
            },
        )
        .unwrap();
        data.update_checklist_item(at(4), a, item, Some("first step"), Some(true))
            .unwrap();
        assert_eq!(cached(&mut views, &mut data), fresh(&mut data));
        assert_eq!(views.tasks_read_singly, 3, "only A again");

        let today = Date::from_ymd_opt(2026, 11, 26).unwrap();
        data.complete_task(at(5), b, today).unwrap();
        data.delete_task(at(6), a).unwrap();
        assert_eq!(cached(&mut views, &mut data), fresh(&mut data));
        assert_eq!(data.tasks().unwrap()[0].status, Status::Done);

        // A project change re-reads the document whole (tasks show its liveness).
        let p = data.add_project(at(7), "Home").unwrap();
        data.update_task(
            at(8),
            b,
            TaskPatch {
                project: Some(Some(p)),
                ..TaskPatch::default()
            },
        )
        .unwrap();
        assert_eq!(cached(&mut views, &mut data), fresh(&mut data));

        // Changes merged from another device are seen the same way.
        let tasks_id = data
            .documents_mut()
            .into_iter()
            .find(|(_, d)| d.kind() == DocKind::Tasks)
            .unwrap()
            .0;
        let mut copy = data.document_mut(&tasks_id).unwrap().automerge_mut().fork();
        copy.set_actor(automerge::ActorId::random());
        let before = copy.get_heads();
        let mut remote = lifeos_core::tasks::TasksDoc::from_doc(
            lifeos_core::LifeDoc::from_automerge(DocKind::Tasks, copy).unwrap(),
        )
        .unwrap();
        remote
            .add_task(
                at(9),
                NewTask {
                    title: "From the phone".into(),
                    ..NewTask::default()
                },
            )
            .unwrap();
        let bytes = remote.doc_mut().automerge_mut().save_after(&before);
        data.document_mut(&tasks_id)
            .unwrap()
            .load_incremental(&bytes)
            .unwrap();
        let seen = cached(&mut views, &mut data);
        assert_eq!(seen, fresh(&mut data));
        assert!(seen.iter().any(|t| t.title == "From the phone"));
    }

    #[test]
    fn habits_and_expenses_are_read_again_only_when_their_documents_move() {
        use lifeos_core::finance::NewExpense;
        use lifeos_core::{Currency, Money};
        let mut data = UserData::create(DocumentId::generate(), at(0)).unwrap();
        let mut views = Views::default();
        let month = Month::of(Date::from_ymd_opt(2026, 11, 26).unwrap());
        let first = views.expenses(&mut data, month).unwrap();
        assert!(first.is_empty());
        data.add_expense(
            at(1),
            NewExpense {
                amount: Money::new(100, Currency::from_code("EUR").unwrap()),
                date: month.first_day(),
                category: None,
                payee: None,
                note: None,
            },
        )
        .unwrap();
        let second = views.expenses(&mut data, month).unwrap();
        assert_eq!(second.len(), 1);
        let third = views.expenses(&mut data, month).unwrap();
        assert!(
            Rc::ptr_eq(&second, &third),
            "unchanged documents are not read again"
        );
        let h1 = views.habits(&mut data).unwrap();
        let h2 = views.habits(&mut data).unwrap();
        assert!(Rc::ptr_eq(&h1, &h2));
    }
}
