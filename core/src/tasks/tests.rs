use super::*;
use crate::time::parse_date;

fn d(s: &str) -> Date {
    parse_date("date", s).unwrap()
}

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// Two copies of one document, as on two devices after a sync.
fn two_devices(doc: &mut TasksDoc) -> (TasksDoc, TasksDoc) {
    let bytes = doc.doc_mut().save();
    let a = TasksDoc::from_doc(LifeDoc::load(DocKind::Tasks, &bytes).unwrap()).unwrap();
    let b = TasksDoc::from_doc(LifeDoc::load(DocKind::Tasks, &bytes).unwrap()).unwrap();
    (a, b)
}

fn sync(a: &mut TasksDoc, b: &mut TasksDoc) {
    a.doc_mut().merge(b.doc_mut()).unwrap();
    b.doc_mut().merge(a.doc_mut()).unwrap();
}

#[test]
fn a_task_round_trips_every_field() {
    let mut doc = TasksDoc::new();
    let project = doc.add_project(t(1), "Family").unwrap();
    let id = doc
        .add_task(
            t(2),
            NewTask {
                title: "  Call mom  ".into(),
                status: Some(Status::Next),
                notes: "ask about Sunday".into(),
                project: Some(project),
                contexts: vec!["@Phone".into(), "home".into()],
                checklist: vec!["find number".into()],
                due: Some(d("2026-11-27")),
                scheduled: Some(d("2026-11-26")),
                time: crate::time::TimeOfDay::new(15, 30),
                recurrence: None,
                important: true,
                urgent: false,
            },
        )
        .unwrap();
    let task = doc.task(id).unwrap();
    assert_eq!(task.title, "Call mom");
    assert_eq!(task.status, Status::Next);
    assert_eq!(task.notes, "ask about Sunday");
    assert_eq!(task.project, Some(project));
    assert_eq!(task.contexts, vec!["home", "phone"]);
    assert_eq!(task.checklist.len(), 1);
    assert_eq!(task.due, Some(d("2026-11-27")));
    assert_eq!(task.scheduled, Some(d("2026-11-26")));
    assert_eq!(task.time.map(|t| t.to_string()).as_deref(), Some("15:30"));
    assert!(task.important && !task.urgent);
    assert_eq!(task.created_at, t(2), "from the version 7 id");
    // And after a save/load cycle.
    let bytes = doc.doc_mut().save();
    let loaded = TasksDoc::from_doc(LifeDoc::load(DocKind::Tasks, &bytes).unwrap()).unwrap();
    assert_eq!(loaded.task(id).unwrap(), task);
}

#[test]
fn bad_input_is_refused_with_the_field_named() {
    let mut doc = TasksDoc::new();
    let err = |r: Result<EntityId>| match r {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert_eq!(
        err(doc.add_task(
            t(1),
            NewTask {
                title: "   ".into(),
                ..Default::default()
            }
        )),
        "title"
    );
    assert_eq!(
        err(doc.add_task(
            t(1),
            NewTask {
                title: "x".repeat(501),
                ..Default::default()
            }
        )),
        "title"
    );
    assert_eq!(
        err(doc.add_task(
            t(1),
            NewTask {
                title: "a\u{7}b".into(),
                ..Default::default()
            }
        )),
        "title"
    );
    assert_eq!(
        err(doc.add_task(
            t(1),
            NewTask {
                title: "x".into(),
                contexts: vec!["two words".into()],
                ..Default::default()
            }
        )),
        "contexts"
    );
    assert_eq!(
        err(doc.add_task(
            t(1),
            NewTask {
                title: "x".into(),
                recurrence: Some("every 1 days".parse().unwrap()),
                ..Default::default()
            }
        )),
        "recurrence"
    );
    let missing = EntityId::generate(t(1));
    assert!(matches!(
        doc.add_task(
            t(1),
            NewTask {
                title: "x".into(),
                project: Some(missing),
                ..Default::default()
            }
        ),
        Err(Error::NotFound {
            kind: "project",
            ..
        })
    ));
    assert!(matches!(
        doc.task(missing),
        Err(Error::NotFound { kind: "task", .. })
    ));
    assert!(doc.tasks().unwrap().is_empty(), "nothing half-written");
}

#[test]
fn concurrent_edits_of_different_fields_both_survive() {
    let mut origin = TasksDoc::new();
    let id = origin
        .add_task(
            t(1),
            NewTask {
                title: "Write report".into(),
                notes: "draft".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let (mut a, mut b) = two_devices(&mut origin);
    a.update_task(
        t(2),
        id,
        TaskPatch {
            title: Some("Write annual report".into()),
            ..Default::default()
        },
    )
    .unwrap();
    a.update_task(
        t(2),
        id,
        TaskPatch {
            notes: Some("first draft".into()),
            ..Default::default()
        },
    )
    .unwrap();
    b.update_task(
        t(3),
        id,
        TaskPatch {
            due: Some(Some(d("2026-12-01"))),
            add_contexts: vec!["office".into()],
            ..Default::default()
        },
    )
    .unwrap();
    b.update_task(
        t(3),
        id,
        TaskPatch {
            notes: Some("draft v2".into()),
            ..Default::default()
        },
    )
    .unwrap();
    sync(&mut a, &mut b);
    let (ta, tb) = (a.task(id).unwrap(), b.task(id).unwrap());
    assert_eq!(ta, tb);
    assert_eq!(ta.title, "Write annual report");
    assert_eq!(ta.due, Some(d("2026-12-01")));
    assert_eq!(ta.contexts, vec!["office"]);
    // Both note edits merged as text: "first " from A, " v2" from B.
    assert_eq!(ta.notes, "first draft v2");
}

#[test]
fn concurrent_edits_of_one_field_resolve_the_same_everywhere() {
    let mut origin = TasksDoc::new();
    let id = origin
        .add_task(
            t(1),
            NewTask {
                title: "x".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let (mut a, mut b) = two_devices(&mut origin);
    a.update_task(
        t(2),
        id,
        TaskPatch {
            title: Some("from A".into()),
            ..Default::default()
        },
    )
    .unwrap();
    b.update_task(
        t(2),
        id,
        TaskPatch {
            title: Some("from B".into()),
            ..Default::default()
        },
    )
    .unwrap();
    sync(&mut a, &mut b);
    let title = a.task(id).unwrap().title;
    assert_eq!(title, b.task(id).unwrap().title);
    assert!(title == "from A" || title == "from B");
}

#[test]
fn tasks_added_offline_on_two_devices_are_all_kept() {
    let mut origin = TasksDoc::new();
    let (mut a, mut b) = two_devices(&mut origin);
    for i in 0..20 {
        a.add_task(
            t(i),
            NewTask {
                title: format!("a{i}"),
                ..Default::default()
            },
        )
        .unwrap();
        b.add_task(
            t(i),
            NewTask {
                title: format!("b{i}"),
                ..Default::default()
            },
        )
        .unwrap();
    }
    sync(&mut a, &mut b);
    assert_eq!(a.tasks().unwrap().len(), 40);
    assert_eq!(a.tasks().unwrap(), b.tasks().unwrap());
}

#[test]
fn deleting_while_another_device_edits_keeps_the_task_deleted_with_the_edit_inside() {
    let mut origin = TasksDoc::new();
    let id = origin
        .add_task(
            t(1),
            NewTask {
                title: "x".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let (mut a, mut b) = two_devices(&mut origin);
    a.delete_task(t(2), id).unwrap();
    b.update_task(
        t(3),
        id,
        TaskPatch {
            title: Some("edited".into()),
            ..Default::default()
        },
    )
    .unwrap();
    sync(&mut a, &mut b);
    assert!(matches!(a.task(id), Err(Error::NotFound { .. })));
    assert!(b.tasks().unwrap().is_empty());
    // The edit is kept in the tombstone (restorable later), not lost.
    let tasks = a.doc().collection("tasks").unwrap();
    let (_, obj) = a
        .doc()
        .automerge()
        .get(&tasks, id.to_string())
        .unwrap()
        .unwrap();
    let (title, _) = a.doc().automerge().get(&obj, "title").unwrap().unwrap();
    assert_eq!(title.as_str(), Some("edited"));
}

#[test]
fn completing_a_repeating_task_advances_it() {
    let mut doc = TasksDoc::new();
    let id = doc
        .add_task(
            t(1),
            NewTask {
                title: "Water plants".into(),
                due: Some(d("2026-11-26")),
                scheduled: Some(d("2026-11-25")),
                recurrence: Some("every 3 days".parse().unwrap()),
                ..Default::default()
            },
        )
        .unwrap();
    let next = doc.complete_task(t(2), id, d("2026-11-26")).unwrap();
    assert_eq!(next, Some(d("2026-11-29")));
    let task = doc.task(id).unwrap();
    assert!(task.is_open());
    assert_eq!(task.due, Some(d("2026-11-29")));
    assert_eq!(
        task.scheduled,
        Some(d("2026-11-28")),
        "scheduled keeps its offset"
    );
    assert_eq!(task.completions.len(), 1);
    // Reopening brings the completed occurrence back.
    doc.reopen_task(t(3), id, Status::Next).unwrap();
    assert_eq!(doc.task(id).unwrap().due, Some(d("2026-11-26")));
}

#[test]
fn two_offline_devices_completing_the_same_occurrence_create_one_next_occurrence() {
    let mut origin = TasksDoc::new();
    let id = origin
        .add_task(
            t(1),
            NewTask {
                title: "Pay rent".into(),
                due: Some(d("2026-11-01")),
                recurrence: Some("every 1 months".parse().unwrap()),
                ..Default::default()
            },
        )
        .unwrap();
    let (mut a, mut b) = two_devices(&mut origin);
    a.complete_task(t(2), id, d("2026-11-01")).unwrap();
    b.complete_task(t(3), id, d("2026-11-02")).unwrap();
    sync(&mut a, &mut b);
    let (ta, tb) = (a.task(id).unwrap(), b.task(id).unwrap());
    assert_eq!(ta, tb);
    assert_eq!(ta.due, Some(d("2026-12-01")));
    assert_eq!(ta.completions.len(), 1);
    assert_eq!(a.tasks().unwrap().len(), 1, "no duplicate task");
}

#[test]
fn devices_completing_different_occurrences_keep_both_completions() {
    let mut origin = TasksDoc::new();
    let id = origin
        .add_task(
            t(1),
            NewTask {
                title: "Stretch".into(),
                due: Some(d("2026-11-01")),
                recurrence: Some("every 1 days".parse().unwrap()),
                ..Default::default()
            },
        )
        .unwrap();
    let (mut a, mut b) = two_devices(&mut origin);
    a.complete_task(t(2), id, d("2026-11-01")).unwrap();
    a.complete_task(t(3), id, d("2026-11-02")).unwrap();
    b.complete_task(t(4), id, d("2026-11-01")).unwrap();
    sync(&mut a, &mut b);
    assert_eq!(a.task(id).unwrap().due, Some(d("2026-11-03")));
    assert_eq!(b.task(id).unwrap().due, Some(d("2026-11-03")));
}

#[test]
fn moving_a_repeating_task_re_anchors_the_series() {
    let mut doc = TasksDoc::new();
    let id = doc
        .add_task(
            t(1),
            NewTask {
                title: "Review".into(),
                due: Some(d("2026-11-02")),
                recurrence: Some("every 1 weeks".parse().unwrap()),
                ..Default::default()
            },
        )
        .unwrap();
    doc.complete_task(t(2), id, d("2026-11-02")).unwrap();
    assert_eq!(doc.task(id).unwrap().due, Some(d("2026-11-09")));
    doc.update_task(
        t(3),
        id,
        TaskPatch {
            due: Some(Some(d("2026-11-11"))),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(doc.task(id).unwrap().due, Some(d("2026-11-11")));
    doc.complete_task(t(4), id, d("2026-11-11")).unwrap();
    assert_eq!(doc.task(id).unwrap().due, Some(d("2026-11-18")));
    let err = doc.update_task(
        t(5),
        id,
        TaskPatch {
            due: Some(Some(d("2026-11-10"))),
            ..Default::default()
        },
    );
    assert!(matches!(err, Err(Error::Invalid { field: "due", .. })));
}

#[test]
fn completing_and_reopening_a_plain_task() {
    let mut doc = TasksDoc::new();
    let id = doc
        .add_task(
            t(1),
            NewTask {
                title: "x".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(doc.complete_task(t(5), id, d("2026-11-26")).unwrap(), None);
    let task = doc.task(id).unwrap();
    assert_eq!(task.status, Status::Done);
    assert_eq!(task.completed_at, Some(t(5)));
    doc.reopen_task(t(6), id, Status::Next).unwrap();
    let task = doc.task(id).unwrap();
    assert_eq!(task.status, Status::Next);
    assert_eq!(task.completed_at, None);
    assert!(doc.reopen_task(t(7), id, Status::Next).is_err());
}

#[test]
fn checklist_items_are_edited_by_id_across_devices() {
    let mut origin = TasksDoc::new();
    let id = origin
        .add_task(
            t(1),
            NewTask {
                title: "Pack".into(),
                checklist: vec!["passport".into()],
                ..Default::default()
            },
        )
        .unwrap();
    let passport = origin.task(id).unwrap().checklist[0].id;
    let (mut a, mut b) = two_devices(&mut origin);
    a.add_checklist_item(t(2), id, "charger").unwrap();
    b.add_checklist_item(t(2), id, "socks").unwrap();
    b.update_checklist_item(t(3), id, passport, None, Some(true))
        .unwrap();
    sync(&mut a, &mut b);
    let list = a.task(id).unwrap().checklist;
    assert_eq!(list.len(), 3);
    assert!(list[0].done);
    let texts: Vec<_> = list.iter().map(|i| i.text.as_str()).collect();
    assert!(texts.contains(&"charger") && texts.contains(&"socks"));
    a.remove_checklist_item(t(4), id, passport).unwrap();
    assert_eq!(a.task(id).unwrap().checklist.len(), 2);
    assert!(a.remove_checklist_item(t(5), id, passport).is_err());
}

#[test]
fn checklist_items_move_and_concurrent_moves_converge() {
    let mut origin = TasksDoc::new();
    let id = origin
        .add_task(
            t(1),
            NewTask {
                title: "Trip".into(),
                checklist: vec!["a".into(), "b".into(), "c".into()],
                ..Default::default()
            },
        )
        .unwrap();
    let ids: Vec<EntityId> = origin
        .task(id)
        .unwrap()
        .checklist
        .iter()
        .map(|i| i.id)
        .collect();
    origin.move_checklist_item(t(2), id, ids[2], None).unwrap();
    let texts = |d: &TasksDoc| {
        d.task(id)
            .unwrap()
            .checklist
            .iter()
            .map(|i| i.text.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&origin), vec!["c", "a", "b"]);
    origin
        .move_checklist_item(t(3), id, ids[2], Some(ids[1]))
        .unwrap();
    assert_eq!(texts(&origin), vec!["a", "b", "c"]);
    // Two devices move the same item to different places: one place wins, nothing duplicates.
    let (mut a, mut b) = two_devices(&mut origin);
    a.move_checklist_item(t(4), id, ids[0], Some(ids[2]))
        .unwrap();
    b.move_checklist_item(t(4), id, ids[0], Some(ids[1]))
        .unwrap();
    b.update_checklist_item(t(5), id, ids[0], Some("A"), None)
        .unwrap();
    sync(&mut a, &mut b);
    assert_eq!(texts(&a), texts(&b));
    assert_eq!(texts(&a).len(), 3);
    assert!(texts(&a).contains(&"A".to_string()));
    // Removing on one device while the other edits: the edit wins and the item stays.
    let (mut a, mut b) = two_devices(&mut a);
    a.remove_checklist_item(t(6), id, ids[1]).unwrap();
    b.update_checklist_item(t(6), id, ids[1], Some("kept"), None)
        .unwrap();
    sync(&mut a, &mut b);
    assert!(texts(&a).contains(&"kept".to_string()));
    assert_eq!(texts(&a), texts(&b));
    assert!(matches!(
        a.update_checklist_item(t(7), id, EntityId::generate(t(7)), Some("x"), None),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        a.update_checklist_item(t(7), id, ids[0], Some(" "), None),
        Err(Error::Invalid {
            field: "checklist",
            ..
        })
    ));
}

#[test]
fn open_tasks_skips_done_ones() {
    let mut doc = TasksDoc::new();
    let a = doc
        .add_task(
            t(1),
            NewTask {
                title: "open".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let b = doc
        .add_task(
            t(1),
            NewTask {
                title: "done".into(),
                ..Default::default()
            },
        )
        .unwrap();
    doc.complete_task(t(2), b, d("2026-11-26")).unwrap();
    let open: Vec<EntityId> = doc.open_tasks().unwrap().iter().map(|t| t.id).collect();
    assert_eq!(open, vec![a]);
    assert_eq!(doc.tasks().unwrap().len(), 2);
}

#[test]
fn deleting_a_project_leaves_its_tasks_without_one() {
    let mut doc = TasksDoc::new();
    let p = doc.add_project(t(1), "Garden").unwrap();
    let id = doc
        .add_task(
            t(2),
            NewTask {
                title: "Mow".into(),
                project: Some(p),
                ..Default::default()
            },
        )
        .unwrap();
    doc.delete_project(t(3), p).unwrap();
    assert_eq!(doc.task(id).unwrap().project, None);
    assert!(doc.projects().unwrap().is_empty());
}

#[test]
fn first_notes_written_on_two_devices_resolve_to_one_text_everywhere() {
    let mut origin = TasksDoc::new();
    let id = origin
        .add_task(
            t(1),
            NewTask {
                title: "x".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(origin.task(id).unwrap().notes, "");
    let (mut a, mut b) = two_devices(&mut origin);
    a.update_task(
        t(2),
        id,
        TaskPatch {
            notes: Some("from A".into()),
            ..Default::default()
        },
    )
    .unwrap();
    b.update_task(
        t(2),
        id,
        TaskPatch {
            notes: Some("from B".into()),
            ..Default::default()
        },
    )
    .unwrap();
    sync(&mut a, &mut b);
    let notes = a.task(id).unwrap().notes;
    assert_eq!(notes, b.task(id).unwrap().notes);
    assert!(notes == "from A" || notes == "from B");
    // From then on, concurrent edits merge as text.
    a.update_task(
        t(3),
        id,
        TaskPatch {
            notes: Some(format!("{notes}!")),
            ..Default::default()
        },
    )
    .unwrap();
    b.update_task(
        t(3),
        id,
        TaskPatch {
            notes: Some(format!(">{notes}")),
            ..Default::default()
        },
    )
    .unwrap();
    sync(&mut a, &mut b);
    assert_eq!(a.task(id).unwrap().notes, format!(">{notes}!"));
}

/// A realistic instant: 2027-01-15 08:00 UTC, plus `ms`.
fn at(ms: i64) -> Timestamp {
    t(1_800_000_000_000 + ms)
}

fn rename(doc: &mut TasksDoc, now: Timestamp, id: EntityId, title: &str) {
    let patch = TaskPatch {
        title: Some(title.into()),
        ..Default::default()
    };
    doc.update_task(now, id, patch).unwrap();
}

#[test]
fn the_later_of_two_concurrent_edits_wins_whichever_device_made_it() {
    // Automerge alone picks the value of the device with the greater actor
    // id; run both orders so the outcome can never be that choice by luck.
    for later_on_b in [false, true] {
        let mut origin = TasksDoc::new();
        let id = origin
            .add_task(
                at(0),
                NewTask {
                    title: "Trip".into(),
                    due: Some(d("2027-02-01")),
                    ..Default::default()
                },
            )
            .unwrap();
        let (mut a, mut b) = two_devices(&mut origin);
        let (first, second) = if later_on_b {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        rename(first, at(60_000), id, "Spain");
        rename(second, at(120_000), id, "Italy");
        // Clearing a field is an edit too: the later clear beats an earlier set.
        let patch = |due| TaskPatch {
            due: Some(due),
            ..Default::default()
        };
        first
            .update_task(at(60_000), id, patch(Some(d("2027-03-01"))))
            .unwrap();
        second.update_task(at(120_000), id, patch(None)).unwrap();
        sync(&mut a, &mut b);
        for device in [&a, &b] {
            let task = device.task(id).unwrap();
            assert_eq!(task.title, "Italy", "later edit on b: {later_on_b}");
            assert_eq!(task.due, None, "later edit on b: {later_on_b}");
            assert_eq!(device.tasks().unwrap()[0].title, "Italy");
        }
    }
}

#[test]
fn an_edit_made_after_seeing_another_outranks_what_that_one_outranked_on_any_clock() {
    // A's clock is right; B's runs an hour slow; C's is right but C is offline.
    let hour = 3_600_000;
    let mut origin = TasksDoc::new();
    let id = origin
        .add_task(
            at(0),
            NewTask {
                title: "Trip".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let bytes = origin.doc_mut().save();
    let load = || TasksDoc::from_doc(LifeDoc::load(DocKind::Tasks, &bytes).unwrap()).unwrap();
    let (mut a, mut b, mut c) = (load(), load(), load());
    // C renames at 50 s, without seeing anything after.
    rename(&mut c, at(50_000), id, "France");
    // A renames at 100 s; B syncs with A and renames at 200 s by the real
    // clock, which B reads as an hour earlier.
    rename(&mut a, at(100_000), id, "Spain");
    sync(&mut a, &mut b);
    rename(&mut b, at(200_000 - hour), id, "Italy");
    // B's edit is the last one made: a wall-clock comparison would let
    // C's "France" (50 s) beat B's "Italy" (stamped an hour ago).
    sync(&mut b, &mut c);
    sync(&mut a, &mut c);
    for device in [&a, &b, &c] {
        assert_eq!(device.task(id).unwrap().title, "Italy");
    }
}

#[test]
fn a_stamped_edit_beats_a_concurrent_unstamped_one_from_an_older_client() {
    for unstamped_first in [false, true] {
        let mut origin = TasksDoc::new();
        let id = origin
            .add_task(
                at(0),
                NewTask {
                    title: "Trip".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let (mut a, mut b) = two_devices(&mut origin);
        let tasks = b.doc().collection("tasks").unwrap();
        let obj = live_entity(b.doc().automerge(), &tasks, "task", id).unwrap();
        let now = if unstamped_first { at(1) } else { at(10_000) };
        b.doc
            .edit(now, |doc| Ok(doc.put(&obj, "title", "Old client")?))
            .unwrap();
        rename(&mut a, at(5_000), id, "Stamped");
        sync(&mut a, &mut b);
        assert_eq!(a.task(id).unwrap().title, "Stamped");
        assert_eq!(b.task(id).unwrap().title, "Stamped");
    }
}

#[test]
fn a_time_of_day_needs_a_day_and_goes_when_the_last_date_goes() {
    use crate::time::TimeOfDay;
    let mut doc = TasksDoc::new();
    let undated = NewTask {
        title: "Call".into(),
        time: TimeOfDay::new(9, 0),
        ..Default::default()
    };
    assert!(matches!(
        doc.add_task(t(1), undated),
        Err(Error::Invalid { field: "time", .. })
    ));
    let id = doc
        .add_task(
            t(1),
            NewTask {
                title: "Call".into(),
                due: Some(d("2026-12-01")),
                ..Default::default()
            },
        )
        .unwrap();
    let set = |time| TaskPatch {
        time: Some(time),
        ..Default::default()
    };
    doc.update_task(t(2), id, set(TimeOfDay::new(9, 5)))
        .unwrap();
    assert_eq!(doc.task(id).unwrap().time, TimeOfDay::new(9, 5));
    let undate = TaskPatch {
        due: Some(None),
        ..Default::default()
    };
    doc.update_task(t(3), id, undate).unwrap();
    assert_eq!(doc.task(id).unwrap().time, None);
    assert!(matches!(
        doc.update_task(t(4), id, set(TimeOfDay::new(10, 0))),
        Err(Error::Invalid { field: "time", .. })
    ));
    assert!("24:00".parse::<TimeOfDay>().is_err());
    assert!("9:5".parse::<TimeOfDay>().is_err());
    assert_eq!("9:05".parse::<TimeOfDay>().unwrap().to_string(), "09:05");
}
