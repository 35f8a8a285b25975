//! Convergence: replicas of one user's documents, edited concurrently and
//! exchanging changes through a lossy, reordering, duplicating network, end
//! with identical documents and identical views, and no operation is lost.
//!
//! The exchange works per document like automerge-repo does: a replica that
//! receives changes for a document it does not have yet keeps them until the
//! root lists that document (two replicas may each create a ledger for the
//! same new month; both ledgers survive and reads take their union).

use std::collections::{BTreeMap, BTreeSet};

use automerge::{AutoCommit, Change};
use lifeos_core::finance::{ExpensePatch, NewExpense};
use lifeos_core::habits::{CheckInState, HabitKind, NewHabit, Schedule};
use lifeos_core::tasks::{NewTask, TaskPatch};
use lifeos_core::time::{Date, Timestamp, parse_date};
use lifeos_core::{Currency, DocKind, DocumentId, EntityId, Error, LifeDoc, Money, UserData};
use proptest::prelude::*;

const TODAY: &str = "2026-12-31";

#[derive(Clone, Debug)]
enum Op {
    AddTask {
        title: u8,
        due: Option<u8>,
        repeating: bool,
    },
    EditTitle {
        pick: usize,
        title: u8,
    },
    EditNotes {
        pick: usize,
        text: u8,
    },
    SetDue {
        pick: usize,
        due: u8,
    },
    Complete {
        pick: usize,
    },
    DeleteTask {
        pick: usize,
    },
    AddHabit,
    CheckIn {
        pick: usize,
        days_ago: u8,
        skip: bool,
    },
    AddExpense {
        amount: u16,
        day: u8,
    },
    EditExpense {
        pick: usize,
        amount: u16,
    },
    /// Deliver a random part of `from`'s changes to `to`, in a shuffled order.
    Sync {
        from: usize,
        to: usize,
        keep: u8,
        seed: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<u8>(), proptest::option::of(0u8..20), any::<bool>()).prop_map(|(title, due, repeating)| Op::AddTask { title, due, repeating }),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(pick, title)| Op::EditTitle { pick, title }),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(pick, text)| Op::EditNotes { pick, text }),
        1 => (any::<usize>(), 0u8..20).prop_map(|(pick, due)| Op::SetDue { pick, due }),
        2 => any::<usize>().prop_map(|pick| Op::Complete { pick }),
        1 => any::<usize>().prop_map(|pick| Op::DeleteTask { pick }),
        1 => Just(Op::AddHabit),
        2 => (any::<usize>(), 0u8..10, any::<bool>()).prop_map(|(pick, days_ago, skip)| Op::CheckIn { pick, days_ago, skip }),
        2 => (1u16..5000, 0u8..6).prop_map(|(amount, day)| Op::AddExpense { amount, day }),
        1 => (any::<usize>(), 1u16..5000).prop_map(|(pick, amount)| Op::EditExpense { pick, amount }),
        4 => (0usize..5, 0usize..5, 0u8..=100, any::<u64>()).prop_map(|(from, to, keep, seed)| Op::Sync { from, to, keep, seed }),
    ]
}

/// One device: its data and the changes of documents it cannot attach yet.
struct Replica {
    data: UserData,
    pending: BTreeMap<DocumentId, (DocKind, AutoCommit)>,
}

/// What every replica did successfully, to check that nothing is lost.
#[derive(Default)]
struct Ledger {
    tasks: BTreeSet<EntityId>,
    deleted_tasks: BTreeSet<EntityId>,
    habits: BTreeSet<EntityId>,
    checkins: BTreeSet<(EntityId, Date)>,
    expenses: BTreeSet<EntityId>,
}

fn d(s: &str) -> Date {
    parse_date("date", s).unwrap()
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::from_code("EUR").unwrap())
}

/// Every change of every document of `r`, with the document's id and kind.
fn all_changes(r: &mut Replica) -> Vec<(DocumentId, DocKind, Change)> {
    let mut out = Vec::new();
    for (id, doc) in r.data.documents_mut() {
        let kind = doc.kind();
        for c in doc.automerge_mut().get_changes(&[]) {
            out.push((id, kind, c));
        }
    }
    for (id, (kind, doc)) in r.pending.iter_mut() {
        for c in doc.get_changes(&[]) {
            out.push((*id, *kind, c));
        }
    }
    out
}

/// Applies `changes` to `r`; documents it does not know wait until the root lists them.
fn receive(r: &mut Replica, changes: Vec<(DocumentId, DocKind, Change)>) {
    let root = r.data.root_id();
    // The root first, as a client would process the document list before the documents.
    let (roots, others): (Vec<_>, Vec<_>) = changes.into_iter().partition(|(id, _, _)| *id == root);
    for (id, kind, c) in roots.into_iter().chain(others) {
        match r.data.document_mut(&id) {
            Some(doc) => {
                doc.automerge_mut().apply_changes([c]).unwrap();
            }
            None => {
                let entry = r
                    .pending
                    .entry(id)
                    .or_insert_with(|| (kind, AutoCommit::new()));
                entry.1.apply_changes([c]).unwrap();
            }
        }
    }
    let listed: Vec<DocumentId> = r
        .data
        .missing_documents()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for id in listed {
        if let Some((kind, mut doc)) = r.pending.remove(&id) {
            // Not attachable until its genesis arrived; keep waiting then.
            match LifeDoc::from_automerge(kind, doc.fork()) {
                Ok(life) => r.data.attach(id, life).unwrap(),
                Err(_) => drop(r.pending.insert(id, (kind, doc))),
            }
        }
    }
}

/// Deterministic shuffle (xorshift) so that failures reproduce from the seed.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    seed |= 1;
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

fn pick<T: Clone>(items: &[T], n: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[n % items.len()].clone())
}

/// Ok, or a refusal the domain is entitled to make (a rule, a missing entity).
fn allowed<T>(r: Result<T, Error>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Invalid { .. } | Error::NotFound { .. }) => None,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn apply(r: &mut Replica, op: &Op, now: Timestamp, seen: &mut Ledger) {
    let today = d(TODAY);
    let data = &mut r.data;
    let task_ids: Vec<EntityId> = data.tasks().unwrap().iter().map(|t| t.id).collect();
    match op {
        Op::AddTask {
            title,
            due,
            repeating,
        } => {
            let due = due.map(|o| d("2026-12-20") + chrono::Days::new(u64::from(o)));
            let new = NewTask {
                title: format!("task {title}"),
                due,
                recurrence: (*repeating && due.is_some()).then(|| "every 1 days".parse().unwrap()),
                ..Default::default()
            };
            if let Some(id) = allowed(data.add_task(now, new)) {
                seen.tasks.insert(id);
            }
        }
        Op::EditTitle { pick: p, title } => {
            if let Some(id) = pick(&task_ids, *p) {
                allowed(data.update_task(
                    now,
                    id,
                    TaskPatch {
                        title: Some(format!("edited {title}")),
                        ..Default::default()
                    },
                ));
            }
        }
        Op::EditNotes { pick: p, text } => {
            if let Some(id) = pick(&task_ids, *p) {
                let old = data.task(id).unwrap().notes;
                allowed(data.update_task(
                    now,
                    id,
                    TaskPatch {
                        notes: Some(format!("{old} n{text}")),
                        ..Default::default()
                    },
                ));
            }
        }
        Op::SetDue { pick: p, due } => {
            if let Some(id) = pick(&task_ids, *p) {
                let due = d("2026-12-20") + chrono::Days::new(u64::from(*due));
                allowed(data.update_task(
                    now,
                    id,
                    TaskPatch {
                        due: Some(Some(due)),
                        ..Default::default()
                    },
                ));
            }
        }
        Op::Complete { pick: p } => {
            if let Some(id) = pick(&task_ids, *p) {
                allowed(data.complete_task(now, id, today));
            }
        }
        Op::DeleteTask { pick: p } => {
            if let Some(id) = pick(&task_ids, *p)
                && allowed(data.delete_task(now, id)).is_some()
            {
                seen.deleted_tasks.insert(id);
            }
        }
        Op::AddHabit => {
            let new = NewHabit {
                name: "habit".into(),
                schedule: Schedule::times_per_week(3).unwrap(),
                kind: HabitKind::YesNo,
                start: d("2026-12-01"),
            };
            if let Some(id) = allowed(data.add_habit(now, new)) {
                seen.habits.insert(id);
            }
        }
        Op::CheckIn {
            pick: p,
            days_ago,
            skip,
        } => {
            let habits: Vec<EntityId> = data.habits().unwrap().iter().map(|h| h.id).collect();
            if let Some(id) = pick(&habits, *p) {
                let date = today - chrono::Days::new(u64::from(*days_ago));
                let state = if *skip {
                    CheckInState::Skipped
                } else {
                    CheckInState::Done
                };
                if allowed(data.check_in(now, id, date, today, state, None)).is_some() {
                    seen.checkins.insert((id, date));
                }
            }
        }
        Op::AddExpense { amount, day } => {
            // Around a month end, so that replicas create the next ledger concurrently.
            let date = d("2026-12-29") + chrono::Days::new(u64::from(*day));
            let new = NewExpense {
                amount: eur(i64::from(*amount)),
                date,
                category: None,
                payee: Some("shop".into()),
                note: None,
            };
            if let Some((id, _)) = allowed(data.add_expense(now, new)) {
                seen.expenses.insert(id);
            }
        }
        Op::EditExpense { pick: p, amount } => {
            let ids: Vec<EntityId> = data.expenses().unwrap().iter().map(|e| e.id).collect();
            if let Some(id) = pick(&ids, *p) {
                allowed(data.update_expense(
                    now,
                    id,
                    ExpensePatch {
                        amount: Some(eur(i64::from(*amount))),
                        ..Default::default()
                    },
                ));
            }
        }
        Op::Sync { .. } => unreachable!("handled by the network"),
    }
}

fn run(replica_count: usize, ops: Vec<Op>) {
    let root_id = DocumentId::generate();
    let mut origin = UserData::create(root_id, Timestamp::from_millis(1)).unwrap();
    let saved: Vec<(DocumentId, DocKind, Vec<u8>)> = origin
        .documents_mut()
        .into_iter()
        .map(|(id, d)| (id, d.kind(), d.save()))
        .collect();
    let mut replicas: Vec<Replica> = (0..replica_count)
        .map(|_| {
            let (_, _, root_bytes) = saved.iter().find(|(id, _, _)| *id == root_id).unwrap();
            let mut data =
                UserData::open(root_id, LifeDoc::load(DocKind::Root, root_bytes).unwrap()).unwrap();
            for (id, kind, bytes) in saved.iter().filter(|(id, _, _)| *id != root_id) {
                data.attach(*id, LifeDoc::load(*kind, bytes).unwrap())
                    .unwrap();
            }
            Replica {
                data,
                pending: BTreeMap::new(),
            }
        })
        .collect();
    let mut seen = Ledger::default();
    for (i, op) in ops.iter().enumerate() {
        let now = Timestamp::from_millis(1_000 + i as i64);
        match op {
            Op::Sync {
                from,
                to,
                keep,
                seed,
            } => {
                let (from, to) = (from % replica_count, to % replica_count);
                if from == to {
                    continue;
                }
                let mut changes = all_changes(&mut replicas[from]);
                shuffle(&mut changes, *seed);
                // Deliver only part: the rest is delayed or lost, healed by later syncs.
                let n = changes.len() * usize::from(*keep) / 100;
                changes.truncate(n);
                receive(&mut replicas[to], changes);
            }
            op => {
                let r = i % replica_count;
                apply(&mut replicas[r], op, now, &mut seen);
            }
        }
    }
    // Heal: everyone sends everything to everyone until nothing new arrives.
    for _ in 0..3 {
        for from in 0..replica_count {
            let changes = all_changes(&mut replicas[from]);
            for to in (0..replica_count).filter(|t| *t != from) {
                receive(&mut replicas[to], changes.clone());
            }
        }
    }
    // Identical documents...
    let heads: Vec<BTreeMap<DocumentId, Vec<automerge::ChangeHash>>> = replicas
        .iter_mut()
        .map(|r| {
            assert!(r.pending.is_empty(), "every document attached");
            r.data
                .documents_mut()
                .into_iter()
                .map(|(id, d)| (id, d.heads()))
                .collect()
        })
        .collect();
    for h in &heads[1..] {
        assert_eq!(h, &heads[0]);
    }
    // ...identical views...
    let today = d(TODAY);
    let view = |r: &Replica| {
        let mut tasks = r.data.tasks().unwrap();
        tasks.sort_by_key(|t| t.id);
        let mut habits = r.data.habits().unwrap();
        habits.sort_by_key(|h| h.id);
        let mut expenses = r.data.expenses().unwrap();
        expenses.sort_by_key(|e| e.id);
        let report = r.data.monthly_report("2026-12".parse().unwrap()).unwrap();
        (
            tasks,
            habits,
            expenses,
            r.data.today(today).unwrap(),
            report,
        )
    };
    let first = view(&replicas[0]);
    for r in &replicas[1..] {
        assert_eq!(view(r), first);
    }
    // ...and nothing lost.
    let (tasks, habits, expenses, _, _) = first;
    let live: BTreeSet<EntityId> = tasks.iter().map(|t| t.id).collect();
    let expected: BTreeSet<EntityId> = seen
        .tasks
        .difference(&seen.deleted_tasks)
        .copied()
        .collect();
    assert_eq!(live, expected);
    assert_eq!(
        habits.iter().map(|h| h.id).collect::<BTreeSet<_>>(),
        seen.habits
    );
    let checkins: BTreeSet<(EntityId, Date)> = habits
        .iter()
        .flat_map(|h| h.checkins.keys().map(move |d| (h.id, *d)))
        .collect();
    assert_eq!(checkins, seen.checkins);
    assert_eq!(
        expenses.iter().map(|e| e.id).collect::<BTreeSet<_>>(),
        seen.expenses
    );
    // A repeating task's current occurrence always follows its last completed
    // one, whatever order completions and re-anchoring merged in.
    for t in tasks.iter().filter(|t| t.recurrence.is_some()) {
        if let (Some(last), Some(current)) = (t.completions.keys().next_back(), t.due) {
            assert!(
                current > *last,
                "{} current {current} not after completed {last}",
                t.title
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_and_lose_nothing(replicas in 3usize..=5, ops in proptest::collection::vec(op(), 1..60)) {
        run(replicas, ops);
    }
}

#[test]
fn two_devices_creating_the_same_months_ledger_offline_keep_both() {
    run(
        2,
        vec![
            Op::AddExpense {
                amount: 100,
                day: 5,
            },
            Op::AddExpense {
                amount: 200,
                day: 4,
            },
            Op::Sync {
                from: 0,
                to: 1,
                keep: 100,
                seed: 1,
            },
            Op::Sync {
                from: 1,
                to: 0,
                keep: 100,
                seed: 2,
            },
        ],
    );
}
