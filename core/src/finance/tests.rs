use super::*;
use crate::money::Currency;
use crate::time::parse_date;

fn d(s: &str) -> Date {
    parse_date("date", s).unwrap()
}
fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}
fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::from_code("EUR").unwrap())
}
fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::from_code("USD").unwrap())
}
fn month(s: &str) -> Month {
    s.parse().unwrap()
}
fn expense(amount: Money, date: &str, category: Option<EntityId>) -> NewExpense {
    NewExpense {
        amount,
        date: d(date),
        category,
        payee: None,
        note: None,
    }
}

#[test]
fn expenses_round_trip_and_stay_in_their_year() {
    let mut ledger = LedgerDoc::new(month("2026-11"));
    let cat = EntityId::generate(t(1));
    let id = ledger
        .add_expense(
            t(1),
            NewExpense {
                amount: eur(1250),
                date: d("2026-11-26"),
                category: Some(cat),
                payee: Some(" Rewe ".into()),
                note: Some("weekly shop".into()),
            },
        )
        .unwrap();
    let e = ledger.expense(id).unwrap();
    assert_eq!(
        (
            e.amount,
            e.date,
            e.category,
            e.payee.as_deref(),
            e.note.as_deref()
        ),
        (
            eur(1250),
            d("2026-11-26"),
            Some(cat),
            Some("Rewe"),
            Some("weekly shop")
        )
    );
    let bytes = ledger.doc_mut().save();
    let loaded = LedgerDoc::from_doc(LifeDoc::load(DocKind::Ledger, &bytes).unwrap()).unwrap();
    assert_eq!(loaded.month(), month("2026-11"));
    assert_eq!(loaded.expenses().unwrap(), vec![e]);
    assert!(matches!(
        ledger.add_expense(t(2), expense(eur(1), "2026-12-01", None)),
        Err(Error::Invalid { field: "date", .. })
    ));
    ledger
        .update_expense(
            t(3),
            id,
            ExpensePatch {
                payee: Some(None),
                amount: Some(eur(999)),
                ..Default::default()
            },
        )
        .unwrap();
    let e = ledger.expense(id).unwrap();
    assert_eq!((e.amount, e.payee), (eur(999), None));
    ledger.delete_expense(t(4), id).unwrap();
    assert!(ledger.expenses().unwrap().is_empty());
}

#[test]
fn expense_bad_input() {
    let mut ledger = LedgerDoc::new(month("2026-11"));
    for amount in [eur(0), eur(-5)] {
        assert!(matches!(
            ledger.add_expense(t(1), expense(amount, "2026-11-01", None)),
            Err(Error::Invalid {
                field: "amount",
                ..
            })
        ));
    }
    let long = NewExpense {
        payee: Some("p".repeat(201)),
        ..expense(eur(1), "2026-11-01", None)
    };
    assert!(matches!(
        ledger.add_expense(t(1), long),
        Err(Error::Invalid { field: "payee", .. })
    ));
    assert!(ledger.expenses().unwrap().is_empty());
}

#[test]
fn categories_and_budgets() {
    let mut fin = FinanceDoc::new();
    let food = fin.add_category(t(1), "Food", true).unwrap();
    fin.set_budget(t(2), food, month("2026-11"), Some(eur(40_000)))
        .unwrap();
    fin.set_budget(t(2), food, month("2026-12"), Some(eur(40_000)))
        .unwrap();
    fin.set_budget(t(3), food, month("2026-12"), None).unwrap();
    assert!(matches!(
        fin.set_budget(t(3), food, month("2026-12"), Some(eur(-1))),
        Err(Error::Invalid {
            field: "amount",
            ..
        })
    ));
    let cats = fin.categories().unwrap();
    assert_eq!(cats.len(), 1);
    assert_eq!(cats[0].budgets.len(), 1);
    assert!(cats[0].rollover);
    fin.delete_category(t(4), food).unwrap();
    assert!(fin.categories().unwrap()[0].deleted);
    assert!(!fin.has_category(food).unwrap());
    assert!(matches!(
        fin.add_category(t(5), "", false),
        Err(Error::Invalid { field: "name", .. })
    ));
}

fn category(name: &str, rollover: bool, budgets: &[(&str, Money)]) -> Category {
    Category {
        id: EntityId::generate(t(1)),
        name: name.into(),
        rollover,
        deleted: false,
        budgets: budgets.iter().map(|(m, b)| (month(m), *b)).collect(),
        created_at: t(0),
    }
}

fn spent(amount: Money, date: &str, category: Option<EntityId>) -> Expense {
    Expense {
        id: EntityId::generate(t(2)),
        amount,
        date: d(date),
        category,
        payee: None,
        note: None,
        created_at: t(0),
    }
}

#[test]
fn report_compares_spending_with_budgets_per_currency() {
    let food = category("food", false, &[("2026-11", eur(30_000))]);
    let fun = category("Fun", false, &[("2026-11", eur(5_000))]);
    let rent = category("Rent", false, &[]);
    let expenses = vec![
        spent(eur(12_050), "2026-11-01", Some(food.id)),
        spent(eur(20_000), "2026-11-30", Some(food.id)),
        spent(usd(4_500), "2026-11-15", Some(food.id)), // on holiday: not against the EUR budget
        spent(eur(1_000), "2026-10-31", Some(food.id)), // another month
        spent(eur(2_000), "2026-12-01", Some(food.id)), // another month
        spent(eur(99_000), "2026-11-01", Some(rent.id)),
        spent(eur(700), "2026-11-02", None),
    ];
    let r = monthly_report(
        month("2026-11"),
        &[food.clone(), fun.clone(), rent.clone()],
        &expenses,
    );
    let names: Vec<&str> = r.lines.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, vec!["food", "Fun", "Rent", "Uncategorized"]);
    let food_line = &r.lines[0];
    assert_eq!(food_line.count, 3);
    assert_eq!(food_line.spent.get(eur(0).currency), eur(32_050));
    assert_eq!(food_line.spent.get(usd(0).currency), usd(4_500));
    assert_eq!(food_line.remaining, Some(eur(-2_050)));
    assert!(food_line.over_budget);
    let fun_line = &r.lines[1];
    assert_eq!(
        (fun_line.count, fun_line.remaining, fun_line.over_budget),
        (0, Some(eur(5_000)), false)
    );
    assert_eq!(r.lines[2].budget, None);
    assert_eq!(r.spent.get(eur(0).currency), eur(131_750));
    assert_eq!(r.spent.get(usd(0).currency), usd(4_500));
    assert_eq!(r.budgeted.get(eur(0).currency), eur(35_000));
    assert_eq!(r.remaining.get(eur(0).currency), eur(2_950));
    // Fun's 50 left never hides that food is 20.50 over.
    assert_eq!(r.left.get(eur(0).currency), eur(5_000));
    assert_eq!(r.overspent.get(eur(0).currency), eur(2_050));
    assert_eq!(r.over_count, 1);
}

#[test]
fn rollover_carries_leftovers_and_overspending() {
    let mut food = category(
        "Food",
        true,
        &[
            ("2026-09", eur(10_000)),
            ("2026-10", eur(10_000)),
            ("2026-11", eur(10_000)),
        ],
    );
    let expenses = vec![
        spent(eur(4_000), "2026-09-10", Some(food.id)), // +6,000 left
        spent(eur(13_000), "2026-10-10", Some(food.id)), // 16,000 available, +3,000 left
        spent(eur(1_000), "2026-11-10", Some(food.id)),
    ];
    let r = monthly_report(month("2026-11"), std::slice::from_ref(&food), &expenses);
    let line = &r.lines[0];
    assert_eq!(line.carried, Some(eur(3_000)));
    assert_eq!(line.available, Some(eur(13_000)));
    assert_eq!(line.remaining, Some(eur(12_000)));
    // Without rollover nothing carries.
    food.rollover = false;
    let r = monthly_report(month("2026-11"), std::slice::from_ref(&food), &expenses);
    assert_eq!(
        (r.lines[0].carried, r.lines[0].available),
        (None, Some(eur(10_000)))
    );
    // A month without a budget in between still consumes the carry.
    let gap = category(
        "Gap",
        true,
        &[("2026-09", eur(10_000)), ("2026-11", eur(10_000))],
    );
    let expenses = vec![spent(eur(15_000), "2026-10-10", Some(gap.id))];
    let r = monthly_report(month("2026-11"), std::slice::from_ref(&gap), &expenses);
    assert_eq!(r.lines[0].carried, Some(eur(-5_000)));
    assert_eq!(r.lines[0].available, Some(eur(5_000)));
}

#[test]
fn deleted_and_unknown_categories_still_report_their_spending() {
    let mut old = category("Old", false, &[("2026-11", eur(100))]);
    old.deleted = true;
    let stranger = EntityId::generate(t(3));
    let expenses = vec![
        spent(eur(500), "2026-11-03", Some(old.id)),
        spent(eur(200), "2026-11-04", Some(stranger)),
    ];
    let r = monthly_report(month("2026-11"), &[old], &expenses);
    assert_eq!(r.lines.len(), 2);
    let old_line = r.lines.iter().find(|l| l.name == "Old").unwrap();
    assert!(old_line.deleted);
    assert_eq!(old_line.spent.get(eur(0).currency), eur(500));
    assert!(r.lines.iter().any(|l| l.name == "Unknown category"));
}

#[test]
fn a_report_serialises_for_the_api() {
    let food = category("Food", false, &[("2026-11", eur(30_000))]);
    let r = monthly_report(
        month("2026-11"),
        std::slice::from_ref(&food),
        &[spent(eur(1_050), "2026-11-01", Some(food.id))],
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["month"], "2026-11");
    assert_eq!(json["lines"][0]["budget"]["minor"], 30_000);
    assert_eq!(json["lines"][0]["budget"]["currency"], "EUR");
}

#[test]
fn the_later_edit_of_an_expense_or_category_wins_on_both_devices() {
    for later_on_b in [false, true] {
        let mut ledger = LedgerDoc::new(month("2026-11"));
        let id = ledger
            .add_expense(t(1), expense(eur(1250), "2026-11-26", None))
            .unwrap();
        let mut finance = FinanceDoc::new();
        let cat = finance.add_category(t(1), "Food", false).unwrap();
        let bytes = (ledger.doc_mut().save(), finance.doc_mut().save());
        let ledger_copy =
            || LedgerDoc::from_doc(LifeDoc::load(DocKind::Ledger, &bytes.0).unwrap()).unwrap();
        let finance_copy =
            || FinanceDoc::from_doc(LifeDoc::load(DocKind::Finance, &bytes.1).unwrap()).unwrap();
        let (mut la, mut lb) = (ledger_copy(), ledger_copy());
        let (mut fa, mut fb) = (finance_copy(), finance_copy());
        let payee = |p: &str| ExpensePatch {
            payee: Some(Some(p.into())),
            ..Default::default()
        };
        let (first, second) = if later_on_b {
            (&mut la, &mut lb)
        } else {
            (&mut lb, &mut la)
        };
        first.update_expense(t(10), id, payee("Bakery")).unwrap();
        second
            .update_expense(t(20), id, payee("Baker's corner"))
            .unwrap();
        let (first, second) = if later_on_b {
            (&mut fa, &mut fb)
        } else {
            (&mut fb, &mut fa)
        };
        first
            .update_category(t(10), cat, Some("Groceries"), None)
            .unwrap();
        second
            .update_category(t(20), cat, Some("Food & drink"), None)
            .unwrap();
        la.doc_mut().merge(lb.doc_mut()).unwrap();
        lb.doc_mut().merge(la.doc_mut()).unwrap();
        fa.doc_mut().merge(fb.doc_mut()).unwrap();
        fb.doc_mut().merge(fa.doc_mut()).unwrap();
        for l in [&la, &lb] {
            assert_eq!(
                l.expenses().unwrap()[0].payee.as_deref(),
                Some("Baker's corner")
            );
            assert_eq!(
                l.expense(id).unwrap().payee.as_deref(),
                Some("Baker's corner")
            );
        }
        for f in [&fa, &fb] {
            assert_eq!(f.categories().unwrap()[0].name, "Food & drink");
        }
    }
}
