//! `handoff demo`: determinism, the published figures it claims to follow, the
//! trouble it plants, and writing it to every backend.
//!
//! The figures are computed here from the generated rows with the definitions of
//! the README's "The lead store" (an attempt is a human outbound touch at or after `mql_at`), not from
//! the generator's own bookkeeping.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use handoff::demo::{Batch, DemoSpec, generate};
use handoff::model::{Lead, Table, Touch};
use handoff::progress::Progress;

use crate::helpers::{Dump, TestDb, backend_tests, utc};

backend_tests!(
    demo_lands_whole_in_the_database,
    demo_replaces_itself_but_not_other_data
);

const END: &str = "2026-11-25T15:00:00Z";

fn spec(leads: u64, seed: u64) -> DemoSpec {
    DemoSpec {
        leads,
        months: 6,
        seed,
        end: utc(END),
    }
}

/// Every row the generator makes for `spec`.
pub fn generated(spec: &DemoSpec) -> Dump {
    let mut dump = Dump {
        reps: vec![],
        leads: vec![],
        touches: vec![],
        deals: vec![],
    };
    generate(spec, &mut |batch| {
        match batch {
            Batch::Reps(r) => dump.reps.extend(r),
            Batch::Rows(c) => {
                dump.leads.extend(c.leads);
                dump.touches.extend(c.touches);
                dump.deals.extend(c.deals);
            }
        }
        std::ops::ControlFlow::Continue(())
    });
    dump.touches.sort_by(|a, b| a.id.cmp(&b.id));
    dump
}

/// Human outbound touches at or after the hand-off, by lead, in time order.
fn attempts(d: &Dump) -> HashMap<&str, Vec<&Touch>> {
    let mql: HashMap<&str, DateTime<Utc>> = d
        .leads
        .iter()
        .filter_map(|l| Some((l.id.as_str(), l.mql_at?)))
        .collect();
    let mut by_lead: HashMap<&str, Vec<&Touch>> = HashMap::new();
    for t in &d.touches {
        if t.direction == "outbound"
            && !t.automated
            && mql
                .get(t.lead_id.as_str())
                .is_some_and(|m| t.occurred_at >= *m)
        {
            by_lead.entry(&t.lead_id).or_default().push(t);
        }
    }
    for v in by_lead.values_mut() {
        v.sort_by_key(|t| t.occurred_at);
    }
    by_lead
}

#[test]
fn same_spec_same_data_and_seed_matters() {
    let a = generated(&spec(800, 1));
    assert_eq!(a, generated(&spec(800, 1)));
    assert_ne!(a.leads, generated(&spec(800, 2)).leads);
}

#[test]
fn nothing_happens_at_or_after_the_end() {
    let d = generated(&spec(3_000, 42));
    let end = utc(END);
    let start = end - Duration::days(31 * 6);
    for l in &d.leads {
        for t in [
            Some(l.created_at),
            l.mql_at,
            l.accepted_at,
            l.rejected_at,
            l.closed_at,
        ]
        .into_iter()
        .flatten()
        {
            assert!(t < end && t >= start, "{} at {t}", l.id);
        }
        assert!(l.mql_at.is_none_or(|m| m >= l.created_at));
    }
    assert!(d.touches.iter().all(|t| t.occurred_at < end));
    assert!(
        d.deals.iter().all(|x| x.created_at < end
            && x.closed_at.is_none_or(|c| c < end)
            && x.amount_cents > 0)
    );
    // Open deals have no outcome yet; closed ones do.
    assert!(
        d.deals
            .iter()
            .all(|x| x.closed_at.is_some() == x.won.is_some())
    );
}

#[test]
fn follows_published_figures_before_the_sla() {
    let d = generated(&spec(6_000, 42));
    let sla = utc(END) - Duration::days(120);
    let att = attempts(&d);
    let before: Vec<&Lead> = d
        .leads
        .iter()
        .filter(|l| l.mql_at.is_some_and(|m| m < sla - Duration::days(30)))
        .collect();
    let total: usize = before
        .iter()
        .map(|l| att.get(l.id.as_str()).map_or(0, Vec::len))
        .sum();
    let per_mql = total as f64 / before.len() as f64;
    // Velocify: reps averaged 1.6 attempts per lead.
    assert!(
        (1.2..2.0).contains(&per_mql),
        "{per_mql} attempts per MQL before the SLA"
    );
    // HBR 2011: 23% of firms never responded; 37% responded within an hour.
    let never = before
        .iter()
        .filter(|l| !att.contains_key(l.id.as_str()))
        .count() as f64
        / before.len() as f64;
    assert!((0.15..0.30).contains(&never), "{never} never attempted");
}

#[test]
fn converted_leads_are_mostly_reached_by_the_sixth_attempt() {
    let d = generated(&spec(6_000, 42));
    let att = attempts(&d);
    let won: Vec<&str> = d
        .deals
        .iter()
        .filter(|x| x.won == Some(true))
        .filter_map(|x| x.lead_id.as_deref())
        .collect();
    assert!(won.len() >= 20, "only {} won deals", won.len());
    let reached_by_6 = won
        .iter()
        .filter(|id| {
            att.get(*id)
                .and_then(|ts| {
                    ts.iter()
                        .position(|t| t.outcome.as_deref() == Some("connected"))
                })
                .is_some_and(|i| i < 6)
        })
        .count();
    // Velocify: 93% of converted leads were reached by the sixth call.
    assert!(
        reached_by_6 as f64 / won.len() as f64 >= 0.9,
        "{reached_by_6} of {}",
        won.len()
    );
}

#[test]
fn plants_the_promised_trouble() {
    let d = generated(&spec(6_000, 42));
    let end = utc(END);
    let sla = end - Duration::days(120);
    let att = attempts(&d);
    let lead_by_id: HashMap<&str, &Lead> = d.leads.iter().map(|l| (l.id.as_str(), l)).collect();

    // Median minutes to the first attempt under the SLA, per rep.
    let mut first: HashMap<&str, Vec<i64>> = HashMap::new();
    for (id, ts) in &att {
        let l = lead_by_id[id];
        if l.mql_at.unwrap() >= sla {
            first
                .entry(l.owner_id.as_deref().unwrap())
                .or_default()
                .push((ts[0].occurred_at - l.mql_at.unwrap()).num_minutes());
        }
    }
    let median = |rep: &str| {
        let mut v = first[rep].clone();
        v.sort();
        v[v.len() / 2]
    };
    assert!(
        median("R0001") < 30,
        "the fast rep takes {} min",
        median("R0001")
    );
    assert!(
        median("R0002") > 8 * 60,
        "the slow rep takes {} min",
        median("R0002")
    );

    // The rep who gives up: no lead closed unreached under the SLA got more than two attempts.
    let gave_up: Vec<usize> = d
        .leads
        .iter()
        .filter(|l| {
            l.owner_id.as_deref() == Some("R0003")
                && l.close_reason.as_deref() == Some("no_response")
                && l.mql_at.is_some_and(|m| m >= sla)
        })
        .map(|l| att.get(l.id.as_str()).map_or(0, Vec::len))
        .collect();
    assert!(!gave_up.is_empty());
    assert!(gave_up.iter().all(|&n| n <= 2), "{gave_up:?}");

    // Sales rejects most paid-search MQLs and accepts most webinar ones.
    let acceptance = |channel: &str| {
        let (a, r) = d
            .leads
            .iter()
            .filter(|l| l.channel.as_deref() == Some(channel))
            .fold((0, 0), |(a, r), l| {
                if l.accepted_at.is_some() {
                    (a + 1, r)
                } else if l.rejected_at.is_some() {
                    (a, r + 1)
                } else {
                    (a, r)
                }
            });
        f64::from(a) / f64::from(a + r)
    };
    assert!(
        acceptance("paid_search") < 0.5,
        "{}",
        acceptance("paid_search")
    );
    assert!(acceptance("webinar") > 0.6, "{}", acceptance("webinar"));

    // Webinar MQLs in the last 28 days fall well below their earlier 28-day rate.
    let webinar = |from: DateTime<Utc>, to: DateTime<Utc>| {
        d.leads
            .iter()
            .filter(|l| {
                l.channel.as_deref() == Some("webinar")
                    && l.mql_at.is_some_and(|m| m >= from && m < to)
            })
            .count() as f64
    };
    let recent = webinar(end - Duration::days(28), end);
    let earlier = webinar(end - Duration::days(28 * 5), end - Duration::days(28 * 2)) / 3.0;
    assert!(
        recent < 0.75 * earlier,
        "{recent} recent vs {earlier} earlier"
    );

    // Event leads never convert after the second attempt.
    let events_late = d
        .deals
        .iter()
        .filter(|x| x.won == Some(true))
        .filter_map(|x| x.lead_id.as_deref())
        .filter(|id| lead_by_id[id].channel.as_deref() == Some("events"))
        .filter(|id| {
            let ts = &att[id];
            ts.iter()
                .position(|t| t.outcome.as_deref() == Some("connected"))
                .is_none_or(|i| i >= 2)
        });
    assert_eq!(events_late.count(), 0);
}

#[test]
fn reps_work_office_hours_and_never_on_holidays() {
    // The office calendar of the shipped rules, as `handoff eval` reads it.
    let rules =
        handoff::rules::load_str("acme.yaml", include_str!("../../rules/acme.yaml")).unwrap();
    let office = &rules.calendars()["office"];
    // Two months to the end of 2026: Thanksgiving (26 Nov), the day after
    // (27 Nov) and Christmas Day (25 Dec) are holidays.
    let spec = DemoSpec {
        leads: 3_000,
        months: 2,
        seed: 11,
        end: utc("2026-12-31T00:00:00Z"),
    };
    let d = generated(&spec);
    let mut human = 0;
    for t in &d.touches {
        if t.direction != "outbound" || t.automated {
            continue;
        }
        human += 1;
        assert!(t.rep_id.is_some(), "{t:?}");
        let day = t.occurred_at.with_timezone(&office.timezone).date_naive();
        assert!(
            !office.is_holiday(day),
            "{} by {:?} on the holiday {day}",
            t.id,
            t.rep_id
        );
        assert!(
            office.is_open(t.occurred_at),
            "{} at {}",
            t.id,
            t.occurred_at
        );
    }
    assert!(human > 3_000, "{human} human attempts");

    // Not vacuous: MQLs that arrived between Wednesday 25 Nov 17:00 and Monday
    // 30 Nov 09:00 (New York) were worked, from Monday on.
    let (closed, reopened) = (utc("2026-11-25T22:00:00Z"), utc("2026-11-30T14:00:00Z"));
    let waiting: Vec<&str> = d
        .leads
        .iter()
        .filter(|l| l.mql_at.is_some_and(|m| m >= closed && m < reopened))
        .map(|l| l.id.as_str())
        .collect();
    let att = attempts(&d);
    let worked: Vec<&Vec<&Touch>> = waiting.iter().filter_map(|id| att.get(id)).collect();
    assert!(
        worked.len() >= 10,
        "{} of {} worked",
        worked.len(),
        waiting.len()
    );
    assert!(
        worked.iter().all(|ts| ts[0].occurred_at >= reopened),
        "an MQL of the Thanksgiving weekend was attempted before Monday"
    );
}

async fn demo_lands_whole_in_the_database(db: TestDb) {
    let s = spec(1_200, 9);
    let summary = handoff::demo::write(&db.store, s, &Progress::hidden())
        .await
        .unwrap();
    let mut expected = generated(&s);
    expected.touches.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(db.dump().await, expected);
    assert_eq!(summary.stats.leads, 1_200);
    assert_eq!(summary.stats.touches, expected.touches.len() as u64);
    assert!(
        db.store
            .meta("demo")
            .await
            .unwrap()
            .unwrap()
            .contains("seed=9")
    );
}

/// The rows of the daemon's record: results, alert state and events, the
/// notification log, the outbox.
async fn daemon_rows(db: &TestDb) -> i64 {
    let sql = [
        "results",
        "alerts",
        "alert_events",
        "notifications",
        "outbox",
    ]
    .iter()
    .map(|t| format!("(SELECT COUNT(*) FROM handoff_{t})"))
    .collect::<Vec<_>>()
    .join(" + ");
    db.counts(&format!("SELECT {sql}")).await[0][0].unwrap()
}

async fn demo_replaces_itself_but_not_other_data(db: TestDb) {
    let spec = DemoSpec {
        leads: 300,
        months: 2,
        seed: 3,
        end: utc(END),
    };
    handoff::demo::build(&db.store, spec, false, &Progress::hidden())
        .await
        .unwrap();
    // What a daemon recorded of the first company: results, alert state, the
    // notification log, mail, the rules it ran.
    db.store.record(&crate::codes::journal()).await.unwrap();
    assert!(daemon_rows(&db).await > 0);
    // A second run over its own data needs no --replace, and starts the
    // daemon's record afresh: nothing it knew of the old company stays to
    // keep it from telling the new one's trouble.
    handoff::demo::build(&db.store, spec, false, &Progress::hidden())
        .await
        .unwrap();
    assert_eq!(db.store.count(Table::Leads).await.unwrap(), 300);
    assert_eq!(daemon_rows(&db).await, 0);
    assert!(
        db.store
            .meta(handoff::store::META_DEMO)
            .await
            .unwrap()
            .is_some()
    );

    // Someone else's data is kept unless --replace is given.
    let db2 = if db.url.starts_with("sqlite") {
        TestDb::sqlite().await
    } else {
        return;
    };
    let dir = crate::helpers::csv_dir(&[("reps.csv", "id,name\nR1,A\n")]);
    handoff::import::import_dir(&db2.store, dir.path(), &Progress::hidden())
        .await
        .unwrap();
    let mut tx = db2.store.begin().await.unwrap();
    tx.upsert(
        &handoff::store::UpsertColumns::new(Table::Leads, vec![1]),
        &[Lead::new("X1", utc("2026-01-01T00:00:00Z"))],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let err = handoff::demo::build(&db2.store, spec, false, &Progress::hidden())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("already holds 1 leads that the demo did not make; pass --replace"),
        "{err}"
    );
    assert_eq!(db2.store.count(Table::Leads).await.unwrap(), 1);
    handoff::demo::build(&db2.store, spec, true, &Progress::hidden())
        .await
        .unwrap();
    assert_eq!(db2.store.count(Table::Leads).await.unwrap(), 300);
}
