//! The arithmetic of every kind on tiny inputs, worked out by hand, with no
//! database: each case says what the store returned and what must come out.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::*;
use crate::rules::{Calendar, MinAttempts, Target, Window};
use crate::store::AbandonedCount;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn per_group(pairs: &[(&str, f64)], default: Option<f64>) -> Target {
    Target::PerGroup {
        groups: pairs.iter().map(|(g, t)| ((*g).to_owned(), *t)).collect(),
        default,
    }
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-12)
}

const START: &str = "2026-11-01T00:00:00Z";
const END: &str = "2026-12-01T00:00:00Z";

fn month() -> Period {
    Period {
        start: utc(START),
        end: utc(END),
    }
}

// ------------------------------------------------------------ groups

#[test]
fn groups_are_all_without_by_and_unknown_for_null() {
    let cases = [
        (None, None, "all"),
        (None, Some("webinar"), "all"),
        (Some(GroupBy::Channel), Some("webinar"), "webinar"),
        (Some(GroupBy::Owner), None, "unknown"),
    ];
    for (by, value, want) in cases {
        assert_eq!(group_name(by, value), want, "{by:?} {value:?}");
    }
}

// ------------------------------------------------------------ elapsed

#[test]
fn elapsed_is_the_share_of_the_period_before_t() {
    // November has 30 days; at noon on the 16th, 15.5 of them have passed.
    let t = utc("2026-11-16T12:00:00Z");
    assert!(close(elapsed(Window::Month, month(), t, None), 15.5 / 30.0));
    // A rolling window has always wholly elapsed.
    let rolling = Window::Rolling(crate::rules::Duration::from_secs(28 * 86_400));
    assert_eq!(elapsed(rolling, month(), t, None), Some(1.0));
    // Before the period it clamps to 0, after it to 1.
    assert_eq!(
        elapsed(Window::Month, month(), utc("2026-10-20T00:00:00Z"), None),
        Some(0.0)
    );
    assert_eq!(
        elapsed(Window::Month, month(), utc("2026-12-20T00:00:00Z"), None),
        Some(1.0)
    );
}

#[test]
fn elapsed_with_a_calendar_counts_open_hours() {
    let rules = crate::rules::load_str(
        "t.yaml",
        "version: 1\ntimezone: UTC\ncalendars:\n  office:\n    hours: { mon-fri: \"09:00-17:00\" }\n    holidays: [2026-11-26]\nteams:\n  s: { email: [s@x.example] }\nobjectives:\n  - name: v\n    kind: lead_volume\n    owner: s\n    schedule: '0 * * * * *'\n    window: week\n    calendar: office\n    target: 10\n",
    )
    .unwrap();
    let cal: &Calendar = rules.calendars()["office"].as_ref();
    // The week of Monday 2026-11-23: Thursday the 26th is a holiday, so it has
    // 4 open days of 8 hours = 32 h. By Wednesday 13:00, Mon + Tue + 4 h = 20 h.
    let week = Period {
        start: utc("2026-11-23T00:00:00Z"),
        end: utc("2026-11-30T00:00:00Z"),
    };
    let t = utc("2026-11-25T13:00:00Z");
    assert!(close(
        elapsed(Window::Week, week, t, Some(cal)),
        20.0 / 32.0
    ));
    // All of Thursday is closed: at Thursday noon, still 24 of 32 hours.
    let t = utc("2026-11-26T12:00:00Z");
    assert!(close(
        elapsed(Window::Week, week, t, Some(cal)),
        24.0 / 32.0
    ));
}

// ------------------------------------------------------------ lead_volume

fn count(group: Option<&str>, leads: u64) -> MqlCount {
    MqlCount {
        group: group.map(str::to_owned),
        leads,
    }
}

#[test]
fn lead_volume_paces_against_the_elapsed_target() {
    struct Case {
        what: &'static str,
        target: f64,
        delivered: u64,
        elapsed: Option<f64>,
        // (expected, pace, attainment, status)
        want: (Option<f64>, Option<f64>, Option<f64>, Status),
    }
    let cases = [
        Case {
            what: "on pace: 50 of 100 at half time → pace 1",
            target: 100.0,
            delivered: 50,
            elapsed: Some(0.5),
            want: (Some(50.0), Some(1.0), Some(0.5), Status::Ok),
        },
        Case {
            what: "behind: 40 of the 50 expected → pace 0.8 < 0.9",
            target: 100.0,
            delivered: 40,
            elapsed: Some(0.5),
            want: (Some(50.0), Some(0.8), Some(0.4), Status::AtRisk),
        },
        Case {
            what: "exactly at warn_below is not at risk: 45/50 = 0.9",
            target: 100.0,
            delivered: 45,
            elapsed: Some(0.5),
            want: (Some(50.0), Some(0.9), Some(0.45), Status::Ok),
        },
        Case {
            what: "nothing elapsed: no pace, never at risk",
            target: 100.0,
            delivered: 0,
            elapsed: Some(0.0),
            want: (Some(0.0), None, Some(0.0), Status::Ok),
        },
        Case {
            what: "a period with no business time at all",
            target: 100.0,
            delivered: 3,
            elapsed: None,
            want: (None, None, Some(0.03), Status::Ok),
        },
        Case {
            what: "a zero target has no attainment",
            target: 0.0,
            delivered: 3,
            elapsed: Some(0.5),
            want: (Some(0.0), None, None, Status::Ok),
        },
    ];
    for c in cases {
        let r = lead_volume(
            None,
            &Target::Uniform(c.target),
            0.9,
            c.elapsed,
            month(),
            &[count(None, c.delivered)],
        );
        assert_eq!(r.len(), 1, "{}", c.what);
        let Details::LeadVolume(d) = &r[0].details else {
            panic!("{}", c.what)
        };
        assert_eq!(r[0].group, "all");
        assert_eq!(r[0].value, Some(c.delivered as f64), "{}", c.what);
        assert_eq!(d.delivered, c.delivered, "{}", c.what);
        let (expected, pace, attainment, status) = c.want;
        for (got, want, name) in [
            (d.expected, expected, "expected"),
            (d.pace, pace, "pace"),
            (d.attainment, attainment, "attainment"),
        ] {
            match want {
                Some(w) => assert!(close(got, w), "{}: {name} {got:?} != {w}", c.what),
                None => assert_eq!(got, None, "{}: {name}", c.what),
            }
        }
        assert_eq!(r[0].status, status, "{}", c.what);
    }
}

#[test]
fn lead_volume_groups_named_defaulted_and_untargeted() {
    // Targets: webinar 10, a default of 4 for the rest; at half time.
    let target = per_group(&[("webinar", 10.0), ("events", 6.0)], Some(4.0));
    let counts = [
        count(Some("webinar"), 5), // pace 5 / 5 = 1: ok
        count(Some("content"), 1), // default: 1 / 2 = 0.5: at risk
        count(None, 2),            // unknown, default: 2 / 2 = 1: ok
    ];
    let r = lead_volume(
        Some(GroupBy::Channel),
        &target,
        0.9,
        Some(0.5),
        month(),
        &counts,
    );
    let by: BTreeMap<&str, &GroupResult> = r.iter().map(|r| (r.group.as_str(), r)).collect();
    // events is named by the target but had no leads: it still shows, at 0 of 3.
    assert_eq!(
        by.keys().copied().collect::<Vec<_>>(),
        ["content", "events", "unknown", "webinar"]
    );
    assert_eq!(by["webinar"].status, Status::Ok);
    assert_eq!(by["content"].status, Status::AtRisk);
    assert_eq!(by["content"].target, Some(4.0));
    assert_eq!(by["unknown"].status, Status::Ok);
    assert_eq!(by["events"].value, Some(0.0));
    assert_eq!(by["events"].status, Status::AtRisk);
    // Without a default, an unnamed group is reported but never alerts.
    let r = lead_volume(
        Some(GroupBy::Channel),
        &per_group(&[("webinar", 10.0)], None),
        0.9,
        Some(0.5),
        month(),
        &[count(Some("content"), 0)],
    );
    let content = r.iter().find(|r| r.group == "content").unwrap();
    assert_eq!((content.target, content.status), (None, Status::Ok));
}

// ------------------------------------------------------------ lead_quality

fn judged(group: Option<&str>, cohort: u64, accepted: u64, rejected: u64) -> JudgedCounts {
    JudgedCounts {
        group: group.map(str::to_owned),
        reason: None,
        cohort,
        accepted,
        rejected,
        decided: rejected,
    }
}

#[test]
fn lead_quality_is_accepted_over_judged() {
    // (cohort, accepted, rejected, target) → (value, status, undecided)
    let cases = [
        ((10, 6, 2, 0.6), (Some(0.75), Status::Ok, 2)),
        ((10, 3, 3, 0.6), (Some(0.5), Status::Breached, 4)),
        ((10, 3, 2, 0.6), (Some(0.6), Status::Ok, 5)),
        ((4, 0, 0, 0.6), (None, Status::NoData, 4)),
        ((0, 0, 0, 0.6), (None, Status::NoData, 0)),
    ];
    let start = utc(START);
    let cohort_end = utc("2026-11-13T00:00:00Z");
    for ((cohort, acc, rej, goal), (value, status, undecided)) in cases {
        let r = lead_quality(
            None,
            &Target::Uniform(goal),
            start,
            cohort_end,
            &[judged(None, cohort, acc, rej)],
        );
        let case = format!("{cohort} {acc} {rej}");
        assert_eq!(r[0].value, value, "{case}");
        assert_eq!(r[0].status, status, "{case}");
        assert_eq!(r[0].numerator, Some(acc as f64), "{case}");
        assert_eq!(r[0].denominator, Some((acc + rej) as f64), "{case}");
        let Details::LeadQuality(d) = &r[0].details else {
            panic!()
        };
        assert_eq!(d.undecided, undecided, "{case}");
    }
    // A cohort that ends before the window starts (mature_after longer than the
    // elapsed period) reports its end as the window's start.
    let r = lead_quality(
        None,
        &Target::Uniform(0.5),
        start,
        utc("2026-10-25T00:00:00Z"),
        &[],
    );
    let Details::LeadQuality(d) = &r[0].details else {
        panic!()
    };
    assert_eq!(d.cohort_end, start);
    assert_eq!(r[0].status, Status::NoData);
}

#[test]
fn lead_quality_by_owner_team_with_a_default() {
    let target = per_group(&[("sales-na", 0.8)], Some(0.5));
    let r = lead_quality(
        Some(GroupBy::Owner),
        &target,
        utc(START),
        utc(END),
        &[
            judged(Some("sales-na"), 5, 3, 1),   // 3/4 = 0.75 < 0.8
            judged(Some("sales-emea"), 5, 1, 1), // 1/2 = 0.5, default 0.5: ok
            judged(None, 2, 0, 2),               // unknown: 0/2 < 0.5
        ],
    );
    let status: Vec<(&str, Status)> = r.iter().map(|r| (r.group.as_str(), r.status)).collect();
    assert_eq!(
        status,
        [
            ("sales-emea", Status::Ok),
            ("sales-na", Status::Breached),
            ("unknown", Status::Breached)
        ]
    );
}

// ------------------------------------------------------------ percent_worked

fn lead(id: &str, mql_at: &str, first: Option<&str>) -> FirstAttempt {
    FirstAttempt {
        group: None,
        id: id.to_owned(),
        owner: some("R1"),
        mql_at: utc(mql_at),
        first_attempt: first.map(utc),
        open: true,
    }
}

#[test]
fn percent_worked_judges_only_passed_deadlines() {
    let t = utc("2026-11-10T12:00:00Z");
    let target = Target::Uniform(0.5);
    // respond_within 1 h.
    let mut w = Worked::new(None, &target, 3_600, None, t);
    // A: attempt after 30 min: worked (1800 s).
    w.add(lead(
        "A",
        "2026-11-10T08:00:00Z",
        Some("2026-11-10T08:30:00Z"),
    ));
    // B: attempt exactly at the deadline: worked (3600 s).
    w.add(lead(
        "B",
        "2026-11-10T09:00:00Z",
        Some("2026-11-10T10:00:00Z"),
    ));
    // C: attempt 2 h late: late (7200 s).
    w.add(lead(
        "C",
        "2026-11-10T07:00:00Z",
        Some("2026-11-10T09:00:00Z"),
    ));
    // D: never attempted, deadline passed, still open: late, never
    // attempted, overdue since 07:00.
    w.add(lead("D", "2026-11-10T06:00:00Z", None));
    // G: never attempted and closed since: late, never attempted, not overdue.
    w.add(FirstAttempt {
        open: false,
        ..lead("G", "2026-11-10T06:30:00Z", None)
    });
    // E: deadline 12:30 not passed yet: not judged, even without an attempt.
    w.add(lead("E", "2026-11-10T11:30:00Z", None));
    // F: deadline exactly t: not passed (deadline < t is required).
    w.add(lead("F", "2026-11-10T11:00:00Z", None));
    let r = w.finish(&target, utc(START));
    let Details::PercentWorked(d) = &r[0].details else {
        panic!()
    };
    // Eligible A B C D G; worked A B → 2/5 = 0.4, below the target.
    assert_eq!(
        (
            d.eligible,
            d.worked,
            d.late,
            d.never_attempted,
            d.overdue_open
        ),
        (5, 2, 3, 2, 1)
    );
    assert_eq!(r[0].value, Some(0.4));
    assert_eq!(r[0].status, Status::Breached);
    // Responses of eligible leads with an attempt: 1800, 3600, 7200.
    // p50: rank ⌈1.5⌉ = 2 → 3600; p90: rank ⌈2.7⌉ = 3 → 7200.
    assert_eq!(d.p50_seconds, Some(3600.0));
    assert_eq!(d.p90_seconds, Some(7200.0));
    // Their sum: 1800 + 3600 + 7200.
    assert_eq!(d.response_seconds_sum, 12_600.0);
    // The one to call: D, due 07:00, 5 h overdue at noon.
    let overdue: Vec<(&str, f64)> = d
        .overdue_leads
        .iter()
        .map(|l| (l.id.as_str(), l.overdue_seconds))
        .collect();
    assert_eq!(overdue, [("D", 5.0 * 3600.0)]);
    assert_eq!(d.overdue_leads[0].deadline, utc("2026-11-10T07:00:00Z"));
    // The other misses by hand-off: G (06:30) then C (07:00).
    let late: Vec<(&str, Option<f64>)> = d
        .late_leads
        .iter()
        .map(|l| (l.id.as_str(), l.first_attempt_seconds))
        .collect();
    assert_eq!(late, [("G", None), ("C", Some(7200.0))]);
    assert_eq!(d.late_leads[1].deadline, utc("2026-11-10T08:00:00Z"));
    // All five are R1's.
    assert_eq!(d.by_rep.len(), 1);
    assert_eq!(
        (
            d.by_rep[0].rep.as_deref(),
            d.by_rep[0].eligible,
            d.by_rep[0].late
        ),
        (Some("R1"), 5, 3)
    );
    assert_eq!(d.unassigned, None);
}

#[test]
fn percent_worked_counts_each_rep_and_the_unowned_apart() {
    let t = utc("2026-11-10T12:00:00Z");
    let target = Target::Uniform(0.9);
    let mut w = Worked::new(None, &target, 3_600, None, t);
    let owned = |id: &str, owner: Option<&str>, mql: &str, first: Option<&str>| FirstAttempt {
        owner: owner.map(str::to_owned),
        ..lead(id, mql, first)
    };
    // R2: one worked, one late; R1: two never tried; R3: one worked;
    // nobody: one never tried.
    w.add(owned(
        "a",
        Some("R2"),
        "2026-11-10T08:00:00Z",
        Some("2026-11-10T08:10:00Z"),
    ));
    w.add(owned(
        "b",
        Some("R2"),
        "2026-11-10T08:00:00Z",
        Some("2026-11-10T10:00:00Z"),
    ));
    w.add(owned("c", Some("R1"), "2026-11-10T08:00:00Z", None));
    w.add(owned("d", Some("R1"), "2026-11-10T09:00:00Z", None));
    w.add(owned(
        "e",
        Some("R3"),
        "2026-11-10T09:00:00Z",
        Some("2026-11-10T09:01:00Z"),
    ));
    w.add(owned("f", None, "2026-11-10T09:00:00Z", None));
    let r = w.finish(&target, utc(START));
    let Details::PercentWorked(d) = &r[0].details else {
        panic!()
    };
    // Most late first (R1 2, R2 1), then the tie at 0 by id.
    let reps: Vec<(Option<&str>, u64, u64, u64, u64)> = d
        .by_rep
        .iter()
        .map(|x| {
            (
                x.rep.as_deref(),
                x.eligible,
                x.worked,
                x.late,
                x.overdue_open,
            )
        })
        .collect();
    assert_eq!(
        reps,
        [
            (Some("R1"), 2, 0, 2, 2),
            (Some("R2"), 2, 1, 1, 0),
            (Some("R3"), 1, 1, 0, 0),
        ]
    );
    let u = d.unassigned.as_ref().unwrap();
    assert_eq!(
        (u.rep.as_deref(), u.eligible, u.late, u.overdue_open),
        (None, 1, 1, 1)
    );
    // The group's counts are the sums.
    assert_eq!((d.eligible, d.worked, d.late, d.overdue_open), (6, 2, 4, 3));
}

#[test]
fn percent_worked_names_the_first_late_leads_by_full_key() {
    let t = utc("2026-11-30T00:00:00Z");
    let target = Target::Uniform(0.9);
    let mut w = Worked::new(None, &target, 60, None, t);
    // 25 late leads, fed newest first, two sharing a hand-off instant.
    for i in (0..25).rev() {
        let at = format!("2026-11-{:02}T10:00:00Z", 1 + i);
        w.add(lead(&format!("L{i:02}"), &at, None));
    }
    w.add(lead("K00", "2026-11-01T10:00:00Z", None));
    let r = w.finish(&target, utc(START));
    let Details::PercentWorked(d) = &r[0].details else {
        panic!()
    };
    assert_eq!((d.late, d.overdue_open), (26, 26));
    assert!(d.late_leads.is_empty());
    assert_eq!(d.overdue_leads.len(), MAX_NAMED_LEADS);
    // The earliest deadlines, ties broken by id: K00 before L00.
    let ids: Vec<&str> = d.overdue_leads.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(&ids[..3], ["K00", "L00", "L01"]);
    assert_eq!(ids[19], "L18");
    // The same leads closed: the late list, by the same full key.
    let mut w = Worked::new(None, &target, 60, None, t);
    for i in (0..25).rev() {
        let at = format!("2026-11-{:02}T10:00:00Z", 1 + i);
        w.add(FirstAttempt {
            open: false,
            ..lead(&format!("L{i:02}"), &at, None)
        });
    }
    w.add(FirstAttempt {
        open: false,
        ..lead("K00", "2026-11-01T10:00:00Z", None)
    });
    let r = w.finish(&target, utc(START));
    let Details::PercentWorked(d) = &r[0].details else {
        panic!()
    };
    assert_eq!((d.late, d.overdue_open), (26, 0));
    let ids: Vec<&str> = d.late_leads.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids.len(), MAX_NAMED_LEADS);
    assert_eq!(&ids[..3], ["K00", "L00", "L01"]);
    assert_eq!(ids[19], "L18");
    assert_eq!(r[0].status, Status::Breached);
    assert_eq!((d.p50_seconds, d.p90_seconds), (None, None));
    assert_eq!(d.response_seconds_sum, 0.0);
}

#[test]
fn percent_worked_with_no_eligible_lead_is_no_data() {
    let target = Target::Uniform(0.9);
    let w = Worked::new(Some(GroupBy::Channel), &target, 60, None, utc(END));
    // With `by` and no per-group target there is no group to report.
    assert!(w.finish(&target, utc(START)).is_empty());
    let w = Worked::new(None, &target, 60, None, utc(END));
    let r = w.finish(&target, utc(START));
    assert_eq!((r[0].status, r[0].value), (Status::NoData, None));
    assert_eq!(r[0].denominator, Some(0.0));
}

// ------------------------------------------------------------ abandoned

fn given(group: Option<&str>, attempts: u32, leads: u64) -> AbandonedCount {
    AbandonedCount {
        group: group.map(str::to_owned),
        owner: some("R2"),
        attempts,
        leads,
    }
}

fn named_lead(group: Option<&str>, id: &str, attempts: u32) -> AbandonedLead {
    AbandonedLead {
        group: group.map(str::to_owned),
        attempts,
        id: id.to_owned(),
        owner: some("R2"),
        closed_at: utc("2026-11-05T00:00:00Z"),
    }
}

#[test]
fn contact_attempts_is_compliant_over_abandoned() {
    // 3 leads given up after 0 attempts, 2 after 5, 4 after 6, 1 after 9;
    // min_attempts 6 → compliant 5 of 10 = 0.5 < 0.8.
    let abandoned = Abandoned {
        counts: vec![
            given(None, 0, 3),
            given(None, 5, 2),
            given(None, 6, 4),
            given(None, 9, 1),
        ],
        first: vec![
            named_lead(None, "Z", 0),
            named_lead(None, "A", 0),
            named_lead(None, "M", 0),
            named_lead(None, "B", 5),
            named_lead(None, "C", 5),
            named_lead(None, "D", 6),
        ],
    };
    // The store hands `first` ordered by (group, attempts, id).
    let mut first = abandoned.first.clone();
    first.sort();
    let abandoned = Abandoned { first, ..abandoned };
    let r = contact_attempts(
        None,
        &Target::Uniform(0.8),
        &MinAttempts::Uniform(6),
        utc(START),
        &abandoned,
    );
    let Details::ContactAttempts(d) = &r[0].details else {
        panic!()
    };
    assert_eq!((d.abandoned, d.compliant, d.violations), (10, 5, 5));
    assert_eq!(r[0].value, Some(0.5));
    assert_eq!(r[0].status, Status::Breached);
    // Fewest attempts first, then id; D (6 attempts) complied and is not named.
    let ids: Vec<(&str, u32)> = d
        .violating_leads
        .iter()
        .map(|l| (l.id.as_str(), l.attempts))
        .collect();
    assert_eq!(ids, [("A", 0), ("M", 0), ("Z", 0), ("B", 5), ("C", 5)]);
    // Nothing given up on: no data.
    let r = contact_attempts(
        None,
        &Target::Uniform(0.8),
        &MinAttempts::Uniform(6),
        utc(START),
        &Abandoned::default(),
    );
    assert_eq!(r[0].status, Status::NoData);
}

#[test]
fn contact_attempts_names_owned_offenders_first_and_counts_each_rep() {
    // R1 gave up on 3 (0, 1 and 7 attempts), R2 on 1 (2 attempts), nobody
    // owned 2 (0 attempts each). min_attempts 3: violations R1 2, R2 1,
    // unowned 2; 5 of 6.
    let count = |owner: Option<&str>, attempts, leads| AbandonedCount {
        group: None,
        owner: owner.map(str::to_owned),
        attempts,
        leads,
    };
    let lead = |id: &str, owner: Option<&str>, attempts| AbandonedLead {
        owner: owner.map(str::to_owned),
        ..named_lead(None, id, attempts)
    };
    let abandoned = Abandoned {
        counts: vec![
            count(None, 0, 2),
            count(Some("R1"), 0, 1),
            count(Some("R1"), 1, 1),
            count(Some("R1"), 7, 1),
            count(Some("R2"), 2, 1),
        ],
        // As the store hands them: by (attempts, id), owned and unowned mixed.
        first: vec![
            lead("A", None, 0),
            lead("Q", Some("R1"), 0),
            lead("Z", None, 0),
            lead("C", Some("R1"), 1),
            lead("B", Some("R2"), 2),
            lead("D", Some("R1"), 7),
        ],
    };
    let r = contact_attempts(
        None,
        &Target::Uniform(0.8),
        &MinAttempts::Uniform(3),
        utc(START),
        &abandoned,
    );
    let Details::ContactAttempts(d) = &r[0].details else {
        panic!()
    };
    assert_eq!((d.abandoned, d.violations), (6, 5));
    // Owned first (by attempts, then id), then the unowned.
    let ids: Vec<&str> = d.violating_leads.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["Q", "C", "B", "A", "Z"]);
    let reps: Vec<(Option<&str>, u64, u64)> = d
        .by_rep
        .iter()
        .map(|x| (x.rep.as_deref(), x.abandoned, x.violating))
        .collect();
    assert_eq!(reps, [(Some("R1"), 3, 2), (Some("R2"), 1, 1)]);
    let u = d.unassigned.as_ref().unwrap();
    assert_eq!((u.abandoned, u.violating), (2, 2));
}

#[test]
fn contact_attempts_by_segment_keeps_named_groups() {
    let abandoned = Abandoned {
        counts: vec![given(Some("smb"), 2, 1), given(Some("ent"), 7, 2)],
        first: vec![
            named_lead(Some("ent"), "E1", 7),
            named_lead(Some("smb"), "S1", 2),
        ],
    };
    let target = per_group(&[("mid", 0.9)], Some(0.5));
    let r = contact_attempts(
        Some(GroupBy::Segment),
        &target,
        &MinAttempts::Uniform(3),
        utc(START),
        &abandoned,
    );
    let got: Vec<(&str, Status, Option<f64>)> = r
        .iter()
        .map(|r| (r.group.as_str(), r.status, r.value))
        .collect();
    assert_eq!(
        got,
        [
            ("ent", Status::Ok, Some(1.0)),
            ("mid", Status::NoData, None),
            ("smb", Status::Breached, Some(0.0)),
        ]
    );
}

#[test]
fn contact_attempts_owes_each_channel_its_own_minimum() {
    // events owes 3, the rest 6. events: 2 leads after 2 attempts, 1 after 4
    // → 1 of 3 compliant. webinar: 1 after 4, 2 after 6 → 2 of 3. unknown
    // (no channel) takes the default: 1 after 5 → 0 of 1.
    let abandoned = Abandoned {
        counts: vec![
            given(None, 5, 1),
            given(Some("events"), 2, 2),
            given(Some("events"), 4, 1),
            given(Some("webinar"), 4, 1),
            given(Some("webinar"), 6, 2),
        ],
        first: vec![
            named_lead(None, "N1", 5),
            named_lead(Some("events"), "E1", 2),
            named_lead(Some("events"), "E2", 2),
            named_lead(Some("events"), "E3", 4),
            named_lead(Some("webinar"), "W1", 4),
            named_lead(Some("webinar"), "W2", 6),
        ],
    };
    let min = MinAttempts::PerGroup {
        groups: BTreeMap::from([("events".to_owned(), 3)]),
        default: 6,
    };
    let r = contact_attempts(
        Some(GroupBy::Channel),
        &Target::Uniform(0.5),
        &min,
        utc(START),
        &abandoned,
    );
    let got: Vec<(&str, u64, u64, u32, Vec<&str>)> = r
        .iter()
        .map(|r| {
            let Details::ContactAttempts(d) = &r.details else {
                panic!()
            };
            let ids = d.violating_leads.iter().map(|l| l.id.as_str()).collect();
            (
                r.group.as_str(),
                d.compliant,
                d.abandoned,
                d.min_attempts,
                ids,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("events", 1, 3, 3, vec!["E1", "E2"]),
            ("unknown", 0, 1, 6, vec!["N1"]),
            ("webinar", 2, 3, 6, vec!["W1"]),
        ]
    );
}

// ------------------------------------------------------------ profitability

fn reach(group: Option<&str>, k: u32, converted: bool, leads: u64, cents: i64) -> Reach {
    Reach {
        group: group.map(str::to_owned),
        reach: k,
        converted,
        leads,
        revenue_cents: cents,
    }
}

fn rule(cost: f64, min_sample: u64, required: Option<u32>) -> ProfitabilityRule {
    ProfitabilityRule {
        by: None,
        cost_per_attempt: cost,
        min_sample,
        min_conversions: 0,
        currency: None,
        required: required.map(MinAttempts::Uniform),
        window_start: utc(START),
    }
}

#[test]
fn profitability_finds_the_last_attempt_that_pays() {
    // Ten leads. Not converted: 1 with reach 0, 3 with 1, 2 with 3.
    // Converted: one at k = 0 ($500, left out of the curve), two at k = 1
    // ($1,000 and $2,000) and one at k = 3 ($1,500).
    let data = [
        reach(None, 0, false, 1, 0),
        reach(None, 1, false, 3, 0),
        reach(None, 3, false, 2, 0),
        reach(None, 0, true, 1, 50_000),
        reach(None, 1, true, 2, 300_000),
        reach(None, 3, true, 1, 150_000),
    ];
    // avg_revenue = (500 + 1000 + 2000 + 1500) / 4 = 1250;
    // mql_value = 4 / 10 × 1250 = 500.
    // n_1 = leads with reach ≥ 1 = 3 + 2 + 2 + 1 = 8; n_2 = n_3 = 2 + 1 = 3.
    // c_1 = 2, c_2 = 0, c_3 = 1.
    // EV_1 = 2/8 × 1250 = 312.5; EV_2 = 0; EV_3 = 1/3 × 1250 = 416.67.
    let cases = [
        // (cost, min_sample, required) → (cutoff, status)
        ((100.0, 3, Some(3)), (Some(3), Status::Ok)),
        ((100.0, 3, Some(4)), (Some(3), Status::Breached)),
        // Too few leads reach the third attempt: the cutoff falls back to 1.
        ((100.0, 4, Some(2)), (Some(1), Status::Breached)),
        // Dearer than every EV_k: no cutoff.
        ((420.0, 1, None), (None, Status::NoData)),
        // 400 is paid by EV_3 alone.
        ((400.0, 1, None), (Some(3), Status::Ok)),
        // Equal cost pays: EV_1 = 312.5.
        ((312.5, 4, None), (Some(1), Status::Ok)),
    ];
    for ((cost, min_sample, required), (cutoff, status)) in cases {
        let r = profitability(
            &rule(cost, min_sample, required),
            &data,
            &Abandoned::default(),
        );
        let Details::Profitability(d) = &r[0].details else {
            panic!()
        };
        let case = format!("cost {cost} min_sample {min_sample} required {required:?}");
        assert_eq!(d.cutoff, cutoff, "{case}");
        assert_eq!(r[0].status, status, "{case}");
        assert_eq!(r[0].value, cutoff.map(f64::from), "{case}");
        assert_eq!(d.avg_revenue, Some(1250.0));
        assert!(close(d.mql_value, 500.0));
        assert_eq!((d.cohort, d.converted), (10, 4));
        assert_eq!(d.leads_reaching, [8, 3, 3]);
        assert_eq!(d.conversions_at, [2, 0, 1]);
        assert!(close(Some(d.expected_value[0]), 312.5));
        assert_eq!(d.expected_value[1], 0.0);
        assert!(close(Some(d.expected_value[2]), 1250.0 / 3.0));
        assert_eq!(d.required_attempts, required);
    }
}

#[test]
fn profitability_sums_cents_exactly() {
    // Three conversions of $0.10, $0.20 and $0.30: in floating point
    // 0.1 + 0.2 + 0.3 is 0.6000000000000001; in cents it is 60, mean 20 cents.
    let data = [reach(None, 1, true, 3, 60), reach(None, 1, false, 1, 0)];
    let r = profitability(&rule(0.01, 1, None), &data, &Abandoned::default());
    let Details::Profitability(d) = &r[0].details else {
        panic!()
    };
    assert_eq!(d.avg_revenue, Some(0.2));
    assert_eq!(d.mql_value, Some(3.0 / 4.0 * 0.2));
}

#[test]
fn profitability_reports_leakage_below_the_cutoff() {
    let data = [
        reach(None, 4, true, 10, 1_000_000),
        reach(None, 4, false, 30, 0),
    ];
    // n_1..n_4 = 40, c_4 = 10, avg 1000: EV_4 = 10/40 × 1000 = 250 ≥ 10 → cutoff 4.
    let abandoned = Abandoned {
        counts: vec![given(None, 1, 2), given(None, 3, 1), given(None, 4, 5)],
        first: vec![
            named_lead(None, "B", 1),
            named_lead(None, "C", 1),
            named_lead(None, "A", 3),
            named_lead(None, "D", 4),
        ],
    };
    let r = profitability(&rule(10.0, 30, Some(6)), &data, &abandoned);
    let Details::Profitability(d) = &r[0].details else {
        panic!()
    };
    assert_eq!(d.cutoff, Some(4));
    // Given up on with fewer than 4 attempts: 2 + 1 = 3, fewest attempts first.
    assert_eq!(d.leakage, 3);
    let ids: Vec<&str> = d.leakage_leads.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["B", "C", "A"]);
    // The SLA asks 6 > 4: breached.
    assert_eq!(r[0].status, Status::Breached);
    // An MQL is worth 10 of 40 × 1000 = 250: the three cost 750.
    assert_eq!(d.mql_value, Some(250.0));
    assert_eq!(d.leakage_value, Some(750.0));
}

#[test]
fn profitability_with_too_few_sales_cannot_breach() {
    // Cutoff 4 from ten sales, as above; the SLA asks 6.
    let data = [
        reach(None, 4, true, 10, 1_000_000),
        reach(None, 4, false, 30, 0),
    ];
    let judged = |min_conversions| {
        let rule = ProfitabilityRule {
            min_conversions,
            currency: Some("EUR".to_owned()),
            ..rule(10.0, 30, Some(6))
        };
        let r = profitability(&rule, &data, &Abandoned::default());
        let Details::Profitability(d) = &r[0].details else {
            panic!()
        };
        assert_eq!(
            (r[0].value, d.currency.as_deref()),
            (Some(4.0), Some("EUR"))
        );
        r[0].status
    };
    // Ten sales are enough when ten are asked; eleven are not: the cutoff
    // still shows, the status says there is too little to judge.
    assert_eq!(judged(10), Status::Breached);
    assert_eq!(judged(11), Status::NoData);
}

#[test]
fn profitability_with_an_empty_cohort_is_no_data() {
    let r = profitability(&rule(4.5, 30, Some(6)), &[], &Abandoned::default());
    let Details::Profitability(d) = &r[0].details else {
        panic!()
    };
    assert_eq!(r[0].group, "all");
    assert_eq!(r[0].status, Status::NoData);
    assert_eq!((d.cutoff, d.avg_revenue, d.mql_value), (None, None, None));
    assert!(d.expected_value.is_empty() && d.leads_reaching.is_empty());
    assert_eq!(d.leakage, 0);
}

#[test]
fn profitability_by_campaign_reports_each_group() {
    let mut r = rule(1.0, 1, None);
    r.by = Some(GroupBy::Campaign);
    let data = [
        reach(Some("spring"), 2, true, 1, 10_000),
        reach(Some("spring"), 1, false, 1, 0),
        reach(None, 1, false, 2, 0),
    ];
    let out = profitability(&r, &data, &Abandoned::default());
    let groups: Vec<(&str, Status, Option<f64>)> = out
        .iter()
        .map(|r| (r.group.as_str(), r.status, r.value))
        .collect();
    // spring: n_1 = 2, n_2 = 1, c_2 = 1, avg 100: EV_1 = 0, EV_2 = 100 → cutoff 2.
    // unknown: nothing converts, avg none → EV 0 < 1: no cutoff.
    assert_eq!(
        groups,
        [
            ("spring", Status::Ok, Some(2.0)),
            ("unknown", Status::NoData, None)
        ]
    );
}

#[test]
fn profitability_sets_each_channels_cutoff_against_its_own_minimum() {
    // Both channels: 10 sales at attempt 4 of 40 leads reaching 4, $1,000
    // each: EV_4 = 10/40 × 1000 = 250 ≥ 10 → cutoff 4. events owes 3 ≤ 4:
    // ok; webinar owes the default 6 > 4: breached.
    let mut r = rule(10.0, 30, None);
    r.by = Some(GroupBy::Channel);
    r.required = Some(MinAttempts::PerGroup {
        groups: BTreeMap::from([("events".to_owned(), 3)]),
        default: 6,
    });
    let data = [
        reach(Some("events"), 4, true, 10, 1_000_000),
        reach(Some("events"), 4, false, 30, 0),
        reach(Some("webinar"), 4, true, 10, 1_000_000),
        reach(Some("webinar"), 4, false, 30, 0),
    ];
    let out = profitability(&r, &data, &Abandoned::default());
    let got: Vec<(&str, Status, Option<f64>, Option<u32>)> = out
        .iter()
        .map(|r| {
            let Details::Profitability(d) = &r.details else {
                panic!()
            };
            (r.group.as_str(), r.status, r.value, d.required_attempts)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("events", Status::Ok, Some(4.0), Some(3)),
            ("webinar", Status::Breached, Some(4.0), Some(6)),
        ]
    );
}

#[test]
fn nearest_rank_percentiles() {
    let xs = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0];
    // p50 of 10: rank ⌈5⌉ = 5 → 50; p90: rank ⌈9⌉ = 9 → 90.
    assert_eq!(nearest_rank(&xs, 0.5), Some(50.0));
    assert_eq!(nearest_rank(&xs, 0.9), Some(90.0));
    // One value is every percentile; three values: p50 rank ⌈1.5⌉ = 2.
    assert_eq!(nearest_rank(&[7.0], 0.9), Some(7.0));
    assert_eq!(nearest_rank(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
    assert_eq!(nearest_rank(&[], 0.5), None);
}
