//! The evaluator's reads against the plain per-lead definitions of docs/eval.md,
//! on random data full of ties and edges, on every backend.
//!
//! The expected answers are computed here, lead by lead, from the rows the test
//! generated, with nothing of the store's code: however the store's SQL is
//! written, it must give exactly these answers.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use handoff::model::{Deal, GroupBy, Lead, Rep, Table, Touch};
use handoff::store::{
    Abandoned, AbandonedCount, AbandonedLead, FirstAttempt, InFlightLead, JudgedCounts, MqlCount,
    Reach, UpsertColumns,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::helpers::{TestDb, backend_tests, utc};

backend_tests!(reads_match_the_per_lead_definitions);

/// Every instant is a whole minute after this, so that events tie and fall
/// exactly on window edges.
const BASE: &str = "2026-11-01T00:00:00Z";

struct Data {
    reps: Vec<Rep>,
    leads: Vec<Lead>,
    touches: Vec<Touch>,
    deals: Vec<Deal>,
}

fn minute(m: i64) -> DateTime<Utc> {
    utc(BASE) + Duration::minutes(m)
}

fn pick<T: Clone>(rng: &mut ChaCha8Rng, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())].clone()
}

fn maybe(rng: &mut ChaCha8Rng, p: f64, m: i64) -> Option<DateTime<Utc>> {
    rng.random_bool(p).then(|| minute(m))
}

fn generate(seed: u64, leads: usize) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let team = |t: Option<&str>| t.map(str::to_owned);
    let reps = vec![
        Rep {
            id: "R1".into(),
            name: "A".into(),
            email: None,
            team: team(Some("sales-na")),
        },
        Rep {
            id: "R2".into(),
            name: "B".into(),
            email: Some("b@acme.example".into()),
            team: team(Some("sales-emea")),
        },
        Rep {
            id: "R3".into(),
            name: "C".into(),
            email: None,
            team: None,
        },
    ];
    let mut data = Data {
        reps,
        leads: Vec::new(),
        touches: Vec::new(),
        deals: Vec::new(),
    };
    let text = |rng: &mut ChaCha8Rng, xs: &[&str]| {
        let v = pick(rng, xs);
        (!v.is_empty()).then(|| v.to_owned())
    };
    // Ids whose order differs between byte order and a language's collation.
    let shapes = ["L{}", "l-{}", "L_{}", "Lead {}", "L{}b"];
    for i in 0..leads {
        let id = shapes[i % shapes.len()].replace("{}", &i.to_string());
        let mut lead = Lead::new(&id, minute(0));
        let m = rng.random_range(0..600);
        lead.mql_at = maybe(&mut rng, 0.9, m);
        lead.owner_id = text(&mut rng, &["R1", "R2", "R3", "R9", ""]);
        lead.channel = text(&mut rng, &["webinar", "events", ""]);
        lead.campaign = text(&mut rng, &["spring", "fall", ""]);
        lead.segment = text(&mut rng, &["smb", "ent", ""]);
        // Scores with a fraction, and none, without drawing on the random
        // stream the rest of the data comes from.
        lead.score = (i % 3 != 0).then_some((i % 100) as f64 + 0.5);
        lead.accepted_at = {
            let d = rng.random_range(0..200);
            maybe(&mut rng, 0.4, m + d)
        };
        lead.rejected_at = {
            let d = rng.random_range(0..200);
            maybe(&mut rng, 0.3, m + d)
        };
        // Now and then closed before the hand-off, as CRM data can be.
        lead.closed_at = {
            let d = rng.random_range(-60..300);
            maybe(&mut rng, 0.5, m + d)
        };
        // Reasons that differ only in case stay apart on every backend.
        lead.close_reason = text(&mut rng, &["no_response", "unqualified", "Unqualified", ""]);
        for j in 0..rng.random_range(0..8) {
            data.touches.push(Touch {
                id: format!("{id}-T{j}"),
                lead_id: id.clone(),
                rep_id: None,
                occurred_at: minute(m + rng.random_range(-30..300)),
                kind: "call",
                direction: pick(&mut rng, &["outbound", "outbound", "inbound"]),
                outcome: text(
                    &mut rng,
                    &["connected", "no_answer", "", "", "", "", "", ""],
                ),
                automated: rng.random_bool(0.2),
            });
        }
        for j in 0..rng.random_range(0..3) {
            let created = m + rng.random_range(-10..300);
            data.deals.push(Deal {
                id: format!("{id}-D{j}"),
                lead_id: Some(id.clone()),
                created_at: minute(created),
                closed_at: {
                    let d = rng.random_range(0..200);
                    maybe(&mut rng, 0.7, created + d)
                },
                amount_cents: rng.random_range(0..500_000),
                won: pick(&mut rng, &[Some(true), Some(true), Some(false), None]),
            });
        }
        data.leads.push(lead);
    }
    data
}

async fn load(db: &TestDb, data: &Data) {
    let mut tx = db.store.begin().await.unwrap();
    tx.upsert(&UpsertColumns::all(Table::Reps), &data.reps)
        .await
        .unwrap();
    tx.upsert(&UpsertColumns::all(Table::Leads), &data.leads)
        .await
        .unwrap();
    tx.upsert(&UpsertColumns::all(Table::Touches), &data.touches)
        .await
        .unwrap();
    tx.upsert(&UpsertColumns::all(Table::Deals), &data.deals)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// What docs/eval.md says of one lead at `at`, computed from the rows.
struct Facts<'a> {
    lead: &'a Lead,
    group: Option<String>,
    attempts: Vec<DateTime<Utc>>,
    touches: Vec<&'a Touch>,
    conversion: Option<&'a Deal>,
}

impl Data {
    fn facts(&self, by: Option<GroupBy>, at: DateTime<Utc>) -> Vec<Facts<'_>> {
        self.leads
            .iter()
            .map(|lead| {
                let group = match by {
                    None => None,
                    Some(GroupBy::Channel) => lead.channel.clone(),
                    Some(GroupBy::Campaign) => lead.campaign.clone(),
                    Some(GroupBy::Segment) => lead.segment.clone(),
                    Some(GroupBy::Owner) => lead
                        .owner_id
                        .as_ref()
                        .and_then(|o| self.reps.iter().find(|r| &r.id == o))
                        .and_then(|r| r.team.clone()),
                    Some(GroupBy::Rep) => lead.owner_id.clone(),
                };
                let touches: Vec<&Touch> = self
                    .touches
                    .iter()
                    .filter(|t| t.lead_id == lead.id && t.occurred_at < at)
                    .collect();
                // An attempt: outbound, human, at or after the hand-off.
                let mut attempts: Vec<DateTime<Utc>> = touches
                    .iter()
                    .filter(|t| t.direction == "outbound" && !t.automated)
                    .filter(|t| lead.mql_at.is_some_and(|m| t.occurred_at >= m))
                    .map(|t| t.occurred_at)
                    .collect();
                attempts.sort();
                // The first deal won and closed before `at`, by created_at then id.
                let conversion = self
                    .deals
                    .iter()
                    .filter(|d| d.lead_id.as_deref() == Some(lead.id.as_str()))
                    .filter(|d| d.won == Some(true) && d.closed_at.is_some_and(|c| c < at))
                    .min_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
                Facts {
                    lead,
                    group,
                    attempts,
                    touches,
                    conversion,
                }
            })
            .collect()
    }
}

fn in_window(t: Option<DateTime<Utc>>, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    t.is_some_and(|t| start <= t && t < end)
}

fn expected_mqls(facts: &[Facts], start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<MqlCount> {
    let mut m: BTreeMap<Option<String>, u64> = BTreeMap::new();
    for f in facts
        .iter()
        .filter(|f| in_window(f.lead.mql_at, start, end))
    {
        *m.entry(f.group.clone()).or_default() += 1;
    }
    m.into_iter()
        .map(|(group, leads)| MqlCount { group, leads })
        .collect()
}

fn expected_judged(
    facts: &[Facts],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Vec<JudgedCounts> {
    let mut m: BTreeMap<(Option<String>, Option<String>), JudgedCounts> = BTreeMap::new();
    for f in facts
        .iter()
        .filter(|f| in_window(f.lead.mql_at, start, end))
    {
        let accepted = f.lead.accepted_at.is_some_and(|a| a < at);
        let rejected = f.lead.rejected_at.is_some_and(|r| r < at);
        let closed = f.lead.closed_at.is_some_and(|c| c < at);
        let key = (f.group.clone(), f.lead.close_reason.clone());
        let e = m.entry(key.clone()).or_insert_with(|| JudgedCounts {
            group: key.0,
            reason: key.1,
            cohort: 0,
            accepted: 0,
            rejected: 0,
            decided: 0,
        });
        e.cohort += 1;
        if accepted {
            e.accepted += 1;
        } else if rejected {
            e.rejected += 1;
        }
        // Sales' reason counts for the leads it rejected or closed by `at`.
        if closed || (rejected && !accepted) {
            e.decided += 1;
        }
    }
    m.into_values().collect()
}

fn expected_first(
    facts: &[Facts],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Vec<FirstAttempt> {
    let before = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t < at);
    let mut out: Vec<FirstAttempt> = facts
        .iter()
        .filter(|f| in_window(f.lead.mql_at, start, end))
        .map(|f| FirstAttempt {
            group: f.group.clone(),
            id: f.lead.id.clone(),
            owner: f.lead.owner_id.clone(),
            mql_at: f.lead.mql_at.unwrap(),
            first_attempt: f.attempts.first().copied(),
            open: !before(f.lead.closed_at)
                && !before(f.lead.accepted_at)
                && !before(f.lead.rejected_at),
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The leads whose first-attempt clock runs at `at` (docs/LEADS.md): handed
/// over in `[start, at)`, no attempt before `at`, still open then; with the
/// owner's name, address and team from `reps`.
fn expected_in_flight(
    data: &Data,
    facts: &[Facts],
    start: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Vec<InFlightLead> {
    let before = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t < at);
    let mut out: Vec<InFlightLead> = facts
        .iter()
        .filter(|f| in_window(f.lead.mql_at, start, at))
        .filter(|f| f.attempts.is_empty())
        .filter(|f| {
            !before(f.lead.closed_at) && !before(f.lead.accepted_at) && !before(f.lead.rejected_at)
        })
        .map(|f| {
            let rep = f
                .lead
                .owner_id
                .as_ref()
                .and_then(|o| data.reps.iter().find(|r| &r.id == o));
            InFlightLead {
                id: f.lead.id.clone(),
                mql_at: f.lead.mql_at.unwrap(),
                owner: f.lead.owner_id.clone(),
                owner_name: rep.map(|r| r.name.clone()),
                owner_email: rep.and_then(|r| r.email.clone()),
                owner_team: rep.and_then(|r| r.team.clone()),
                channel: f.lead.channel.clone(),
                score: f.lead.score,
            }
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn expected_abandoned(
    facts: &[Facts],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    at: DateTime<Utc>,
    named: usize,
) -> Abandoned {
    let mut all: Vec<AbandonedLead> = Vec::new();
    for f in facts {
        let (Some(mql), Some(closed)) = (f.lead.mql_at, f.lead.closed_at) else {
            continue;
        };
        if !in_window(Some(closed), start, end) || mql >= at || f.conversion.is_some() {
            continue;
        }
        let connected = f
            .touches
            .iter()
            .any(|t| t.outcome.as_deref() == Some("connected") && t.occurred_at < closed);
        if connected {
            continue;
        }
        all.push(AbandonedLead {
            group: f.group.clone(),
            attempts: f.attempts.iter().filter(|a| **a < closed).count() as u32,
            id: f.lead.id.clone(),
            owner: f.lead.owner_id.clone(),
            closed_at: closed,
        });
    }
    let mut counts: BTreeMap<(Option<String>, Option<String>, u32), u64> = BTreeMap::new();
    for a in &all {
        *counts
            .entry((a.group.clone(), a.owner.clone(), a.attempts))
            .or_default() += 1;
    }
    // The first `named` by id of each group's owned and of its unowned leads
    // at each number of attempts.
    all.sort_by(|a, b| (&a.group, a.attempts, &a.id).cmp(&(&b.group, b.attempts, &b.id)));
    let mut first = Vec::new();
    let mut per_bucket: BTreeMap<(Option<String>, bool, u32), usize> = BTreeMap::new();
    for a in all {
        let n = per_bucket
            .entry((a.group.clone(), a.owner.is_none(), a.attempts))
            .or_default();
        if *n < named {
            *n += 1;
            first.push(a);
        }
    }
    Abandoned {
        counts: counts
            .into_iter()
            .map(|((group, owner, attempts), leads)| AbandonedCount {
                group,
                owner,
                attempts,
                leads,
            })
            .collect(),
        first,
    }
}

fn expected_reach(facts: &[Facts], start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Reach> {
    let mut m: BTreeMap<(Option<String>, u32, bool), (u64, i64)> = BTreeMap::new();
    for f in facts
        .iter()
        .filter(|f| in_window(f.lead.mql_at, start, end))
    {
        let (reach, cents) = match f.conversion {
            Some(d) => (
                f.attempts.iter().filter(|a| **a < d.created_at).count() as u32,
                Some(d.amount_cents),
            ),
            None => (f.attempts.len() as u32, None),
        };
        let e = m
            .entry((f.group.clone(), reach, cents.is_some()))
            .or_default();
        e.0 += 1;
        e.1 += cents.unwrap_or(0);
    }
    m.into_iter()
        .map(
            |((group, reach, converted), (leads, revenue_cents))| Reach {
                group,
                reach,
                converted,
                leads,
                revenue_cents,
            },
        )
        .collect()
}

async fn reads_match_the_per_lead_definitions(db: TestDb) {
    let data = generate(7, 240);
    load(&db, &data).await;
    let bys = [
        None,
        Some(GroupBy::Channel),
        Some(GroupBy::Campaign),
        Some(GroupBy::Segment),
        Some(GroupBy::Owner),
        Some(GroupBy::Rep),
    ];
    // Windows whose edges fall on the minute grid, where events tie with them.
    // (start, end, at): the instant is after the window's end in the third, as
    // for lead_quality's matured cohort, and before it in the fifth.
    let windows = [
        (0, 600, 600),
        (100, 400, 400),
        (120, 300, 450),
        (0, 700, 700),
        (60, 500, 200),
    ];
    let mut checked = 0;
    for (s, e, a) in windows {
        let (start, end, at) = (minute(s), minute(e), minute(a));
        for by in bys {
            let facts = data.facts(by, at);
            let what = format!("by {by:?}, window [{s}, {e}) at {a}");
            let mut r = db
                .store
                .reader(std::time::Duration::from_secs(30))
                .await
                .unwrap();
            assert_eq!(
                r.mql_counts(by, start, end).await.unwrap(),
                expected_mqls(&facts, start, end),
                "mql_counts {what}"
            );
            assert_eq!(
                r.judged_counts(by, start, end, at).await.unwrap(),
                expected_judged(&facts, start, end, at),
                "judged_counts {what}"
            );
            let mut got = Vec::new();
            r.first_attempts(by, start, end, at, &mut |l| got.push(l))
                .await
                .unwrap();
            got.sort_by(|a, b| a.id.cmp(&b.id));
            assert_eq!(
                got,
                expected_first(&facts, start, end, at),
                "first_attempts {what}"
            );
            for named in [0, 3] {
                assert_eq!(
                    r.abandoned(by, start, end, at, named).await.unwrap(),
                    expected_abandoned(&facts, start, end, at, named),
                    "abandoned (first {named}) {what}"
                );
            }
            assert_eq!(
                r.reach(by, start, end, at).await.unwrap(),
                expected_reach(&facts, start, end),
                "reach {what}"
            );
            if by.is_none() {
                let mut got = Vec::new();
                r.in_flight(start, at, &mut |l| got.push(l)).await.unwrap();
                got.sort_by(|a, b| a.id.cmp(&b.id));
                assert_eq!(
                    got,
                    expected_in_flight(&data, &facts, start, at),
                    "in_flight [{s}, {a})"
                );
            }
            r.finish().await.unwrap();
            checked += 1;
        }
    }
    assert_eq!(checked, 30);
    // The data does exercise every branch: conversions, abandonment, ties,
    // close reasons, open leads, and both owned and unowned offenders.
    let facts = data.facts(None, minute(600));
    let judged = expected_judged(&facts, minute(0), minute(600), minute(600));
    assert!(
        judged
            .iter()
            .filter(|j| j.reason.is_some() && j.decided > 0)
            .count()
            >= 3
    );
    assert!(
        judged
            .iter()
            .any(|j| j.reason.is_some() && j.decided < j.cohort),
        "a reason on a lead sales has not decided on yet"
    );
    let first = expected_first(&facts, minute(0), minute(600), minute(600));
    let flying = expected_in_flight(
        &data,
        &data.facts(None, minute(400)),
        minute(100),
        minute(400),
    );
    assert!(flying.len() > 5, "{flying:?}");
    assert!(
        flying
            .iter()
            .any(|l| l.owner_email.is_some() && l.score.is_some())
    );
    assert!(
        flying
            .iter()
            .any(|l| l.owner.is_some() && l.owner_name.is_none())
    );
    assert!(first.iter().any(|f| f.open) && first.iter().any(|f| !f.open));
    let abandoned = expected_abandoned(&facts, minute(0), minute(600), minute(600), 3);
    assert!(abandoned.first.iter().any(|a| a.owner.is_none()));
    assert!(abandoned.first.iter().any(|a| a.owner.is_some()));
    assert!(facts.iter().filter(|f| f.conversion.is_some()).count() > 10);
    assert!(
        expected_abandoned(&facts, minute(0), minute(600), minute(600), 0)
            .counts
            .len()
            > 3
    );
}
