//! `handoff import --mapping`: CRM exports through the shipped HubSpot and
//! Salesforce mappings, and a mapping of a user's own.
//!
//! The round trips start from the demo's rows, work out by hand (in this file,
//! not through the mapping code) what each CRM's export can carry of them, write
//! that both as the CRM's export files and as canonical CSV, import each into a
//! database of its own, and compare the rows and the evaluation of the shipped
//! rules.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, LocalResult, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use handoff::import::{ImportOptions, ImportReport, import_dir, import_dir_with};
use handoff::model::{Deal, Lead, Record, Rep, Touch};
use handoff::progress::Progress;

use crate::helpers::{Dump, TestDb, backend_tests, csv_dir, utc};

backend_tests!(
    hubspot_exports_give_the_figures_of_the_same_data_as_canonical_csv,
    salesforce_exports_give_the_figures_of_the_same_data_as_canonical_csv,
    a_users_own_mapping_reads_local_dates_value_maps_and_thousands,
    problems_are_located_in_the_source_files,
);

const NY: Tz = chrono_tz::America::New_York;

fn spec() -> handoff::demo::DemoSpec {
    handoff::demo::DemoSpec {
        leads: 900,
        months: 3,
        seed: 11,
        end: utc("2026-11-20T05:00:00Z"),
    }
}

/// A CSV file from a header and rows of fields, quoted as needed.
fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// Canonical CSV of typed rows.
fn canonical<R: Record>(rows: &[R]) -> String {
    let header: Vec<&str> = R::TABLE.columns().iter().map(|c| c.name).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut fields = Vec::new();
            r.visit(&mut |v| fields.push(v.to_csv()));
            fields
        })
        .collect();
    csv_text(&header, &rows)
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// The instant to the minute, moved out of the repeated hour of a
/// daylight-saving change (a local time there names two instants), with its
/// local wall time as HubSpot writes it.
fn minute(t: DateTime<Utc>) -> (DateTime<Utc>, String) {
    let mut t = t.with_second(0).unwrap().with_nanosecond(0).unwrap();
    let local = t.with_timezone(&NY).naive_local();
    if let LocalResult::Ambiguous(first, _) = NY.from_local_datetime(&local)
        && first.to_utc() != t
    {
        t += TimeDelta::hours(1);
    }
    let text = t.with_timezone(&NY).format("%Y-%m-%d %H:%M").to_string();
    (t, text)
}

/// The instant to the second, as Salesforce's exports write it.
fn second(t: DateTime<Utc>) -> (DateTime<Utc>, String) {
    let t = t.with_nanosecond(0).unwrap();
    (t, t.format("%Y-%m-%dT%H:%M:%S.000Z").to_string())
}

/// The local date of an instant, and its midnight as an instant.
fn day(t: DateTime<Utc>) -> (DateTime<Utc>, String) {
    let date = t.with_timezone(&NY).date_naive();
    let midnight = NY
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .earliest()
        .unwrap()
        .to_utc();
    (midnight, date.format("%Y-%m-%d").to_string())
}

fn opt(s: Option<String>) -> String {
    s.unwrap_or_default()
}

async fn import_mapped(db: &TestDb, dir: &Path, mapping: &str) -> ImportReport {
    let options = ImportOptions {
        mapping: Some(Arc::new(handoff::mapping::load(mapping).unwrap())),
        timezone: handoff::mapping::read::Zones {
            given: Some(NY),
            fallback: None,
        },
        ..ImportOptions::default()
    };
    let report = import_dir_with(&db.store, dir, &Progress::hidden(), options)
        .await
        .unwrap();
    assert!(report.is_success(), "{report}");
    report
}

/// Imports `expected` as canonical CSV into a database of its own, checks that
/// `db` holds exactly those rows, and that the shipped rules measure both alike.
async fn same_as_canonical(db: &TestDb, mut expected: Dump) {
    expected.reps.sort_by(|a, b| a.id.cmp(&b.id));
    expected.leads.sort_by(|a, b| a.id.cmp(&b.id));
    expected.touches.sort_by(|a, b| a.id.cmp(&b.id));
    expected.deals.sort_by(|a, b| a.id.cmp(&b.id));
    let dump = db.dump().await;
    assert_eq!(dump.reps, expected.reps);
    assert_eq!(dump.leads.len(), expected.leads.len());
    for (got, want) in dump.leads.iter().zip(&expected.leads) {
        assert_eq!(got, want);
    }
    assert_eq!(dump.touches.len(), expected.touches.len());
    for (got, want) in dump.touches.iter().zip(&expected.touches) {
        assert_eq!(got, want);
    }
    assert_eq!(dump.deals, expected.deals);

    let other = TestDb::sqlite().await;
    let dir = csv_dir(&[
        ("reps.csv", &canonical(&expected.reps)),
        ("leads.csv", &canonical(&expected.leads)),
        ("touches.csv", &canonical(&expected.touches)),
        ("deals.csv", &canonical(&expected.deals)),
    ]);
    let report = import_dir(&other.store, dir.path(), &Progress::hidden())
        .await
        .unwrap();
    assert!(report.is_success(), "{report}");
    let rules = handoff::rules::load_dir(Path::new("rules")).unwrap();
    for at in ["2026-11-20T05:00:00Z", "2026-10-15T16:00:00Z"] {
        let mapped = handoff::eval::evaluate(&rules, &db.store, utc(at))
            .await
            .to_json();
        let plain = handoff::eval::evaluate(&rules, &other.store, utc(at))
            .await
            .to_json();
        assert_eq!(mapped, plain, "at {at}");
        // Not a comparison of two empty evaluations.
        let text = mapped.to_string();
        assert!(text.contains("\"status\":\"breached\""), "{text}");
    }
}

async fn hubspot_exports_give_the_figures_of_the_same_data_as_canonical_csv(db: TestDb) {
    let d = crate::demo::generated(&spec());
    let names: HashMap<&str, &str> = d
        .reps
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    let owner = |id: &Option<String>| id.as_deref().map(|i| names[i].to_owned());
    let mut expected = Dump {
        reps: vec![],
        leads: vec![],
        touches: vec![],
        deals: vec![],
    };
    let mut reps: BTreeMap<String, ()> = BTreeMap::new();

    // Contacts: HubSpot keeps no rejection or closing date; the mapping reads
    // Last Modified Date for Unqualified and Bad Timing contacts.
    let mut contacts = Vec::new();
    for l in &d.leads {
        let (created, created_text) = minute(l.created_at);
        let at = |t: Option<DateTime<Utc>>| t.map(minute);
        let (mql, accepted) = (at(l.mql_at), at(l.accepted_at));
        let rejected = at(l.rejected_at);
        let closed = if rejected.is_some() {
            None
        } else {
            at(l.closed_at)
        };
        let (status, modified) = match (&rejected, &closed) {
            (Some(r), _) => ("Unqualified", r.1.clone()),
            (None, Some(c)) => ("Bad Timing", c.1.clone()),
            _ => ("In Progress", created_text.clone()),
        };
        let source = match l.channel.as_deref() {
            Some("paid_search") => "Paid search".to_owned(),
            other => other.unwrap_or_default().to_owned(),
        };
        if let Some(o) = owner(&l.owner_id) {
            reps.insert(o, ());
        }
        contacts.push(vec![
            l.id.clone(),
            format!("First {}", l.id),
            created_text,
            opt(owner(&l.owner_id)),
            status.to_owned(),
            l.score.map(|s| s.to_string()).unwrap_or_default(),
            source,
            opt(mql.as_ref().map(|m| m.1.clone())),
            opt(accepted.as_ref().map(|a| a.1.clone())),
            modified,
        ]);
        expected.leads.push(Lead {
            id: l.id.clone(),
            created_at: created,
            mql_at: mql.map(|m| m.0),
            owner_id: owner(&l.owner_id),
            channel: l.channel.clone(),
            campaign: None,
            segment: None,
            score: l.score,
            accepted_at: accepted.map(|a| a.0),
            rejected_at: rejected.map(|r| r.0),
            closed_at: closed.as_ref().map(|c| c.0),
            close_reason: closed.map(|_| "bad_timing".to_owned()),
        });
    }
    // Calls and e-mails by people; other kinds and sequences are not in these
    // exports. Some activities name a second contact, or none, or one that is
    // not a lead.
    let (mut calls, mut emails) = (Vec::new(), Vec::new());
    for (i, t) in d.touches.iter().enumerate() {
        if t.automated || !matches!(t.kind, "call" | "email") {
            continue;
        }
        let (when, when_text) = minute(t.occurred_at);
        let contacts_of = if i % 7 == 0 {
            format!("{};C-999", t.lead_id)
        } else {
            t.lead_id.clone()
        };
        let rep = owner(&t.rep_id);
        if let Some(r) = &rep {
            reps.insert(r.clone(), ());
        }
        let outcome = if t.kind == "call" {
            let label = match t.outcome.as_deref() {
                Some("connected") => "Connected".to_owned(),
                Some("no_answer") => "No answer".to_owned(),
                Some("voicemail") => "Left voicemail".to_owned(),
                other => other.unwrap_or_default().to_owned(),
            };
            let direction = if t.direction == "outbound" {
                "Outbound"
            } else {
                "Inbound"
            };
            calls.push(vec![
                t.id.clone(),
                when_text,
                opt(rep.clone()),
                direction.into(),
                label,
                contacts_of,
            ]);
            t.outcome.clone()
        } else {
            let direction = if t.direction == "outbound" {
                "Sent by the user"
            } else {
                "Reply from the contact"
            };
            let bounced = t.outcome.as_deref() == Some("bounced");
            let status = if bounced { "Bounced" } else { "Sent" };
            emails.push(vec![
                t.id.clone(),
                when_text,
                opt(rep.clone()),
                direction.into(),
                status.into(),
                contacts_of,
            ]);
            bounced.then(|| "bounced".to_owned())
        };
        expected.touches.push(Touch {
            id: t.id.clone(),
            lead_id: t.lead_id.clone(),
            rep_id: rep,
            occurred_at: when,
            kind: t.kind,
            direction: t.direction,
            outcome,
            automated: false,
        });
    }
    calls.push(vec![
        "X1".into(),
        "2026-10-01 10:00".into(),
        String::new(),
        "Outbound".into(),
        "Connected".into(),
        "C-999".into(),
    ]);
    calls.push(vec![
        "X2".into(),
        "2026-10-01 10:00".into(),
        String::new(),
        "Outbound".into(),
        "Connected".into(),
        String::new(),
    ]);
    // Deals: the amount as HubSpot shows it; Close Date also on open deals.
    let mut deals = Vec::new();
    for (i, deal) in d.deals.iter().enumerate() {
        // Every tenth deal names a contact that is no lead: kept without a lead.
        let lead_id = if i % 10 == 3 {
            None
        } else {
            deal.lead_id.clone()
        };
        let (created, created_text) = minute(deal.created_at);
        let closed = deal.closed_at.map(minute);
        let stage = match deal.won {
            Some(true) => "Closed Won",
            Some(false) => "Closed Lost",
            None => "Qualified To Buy",
        };
        let close_text = closed
            .as_ref()
            .map_or_else(|| "2027-01-31 00:00".to_owned(), |c| c.1.clone());
        let cents = deal.amount_cents;
        let amount = format!(
            "{},{:03}.{:02}",
            cents / 100_000,
            (cents / 100) % 1000,
            cents % 100
        );
        let amount = amount.trim_start_matches("0,").to_owned();
        deals.push(vec![
            deal.id.clone(),
            format!("Deal {}", deal.id),
            amount,
            created_text,
            close_text,
            stage.into(),
            lead_id.clone().unwrap_or_else(|| "C-888".into()),
        ]);
        expected.deals.push(Deal {
            id: deal.id.clone(),
            lead_id,
            created_at: created,
            closed_at: closed.map(|c| c.0),
            amount_cents: cents,
            won: deal.won,
        });
    }
    expected.reps = reps
        .into_keys()
        .map(|name| Rep {
            id: name.clone(),
            name,
            email: None,
            team: None,
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "contacts.csv",
        &csv_text(
            &[
                "Record ID",
                "First Name",
                "Create Date",
                "Contact owner",
                "Lead Status",
                "HubSpot Score",
                "Original Source",
                "Became a Marketing Qualified Lead Date",
                "Became a Sales Qualified Lead Date",
                "Last Modified Date",
            ],
            &contacts,
        ),
    );
    write(
        dir.path(),
        "Calls.csv",
        &csv_text(
            &[
                "Record ID",
                "Activity date",
                "Activity assigned to",
                "Call direction",
                "Call outcome",
                "Associated Contact IDs",
            ],
            &calls,
        ),
    );
    write(
        dir.path(),
        "emails.csv",
        &csv_text(
            &[
                "Record ID",
                "Activity date",
                "Activity assigned to",
                "Email direction",
                "Email status",
                "Associated Contact IDs",
            ],
            &emails,
        ),
    );
    write(
        dir.path(),
        "deals.csv",
        &csv_text(
            &[
                "Record ID",
                "Deal Name",
                "Amount",
                "Create Date",
                "Close Date",
                "Deal Stage",
                "Associated Contact IDs",
            ],
            &deals,
        ),
    );
    let report = import_mapped(&db, dir.path(), "hubspot").await;
    let text = report.to_string();
    // The two activities on no lead are skipped and counted.
    assert!(
        text.contains("1 row skipped: lead_id names no lead (if_unknown: skip)"),
        "{text}"
    );
    assert!(
        text.contains("1 row skipped: touches.lead_id empty"),
        "{text}"
    );
    let unqualified = expected
        .leads
        .iter()
        .filter(|l| l.rejected_at.is_some())
        .count();
    assert!(
        text.contains(&format!(
            "`rejected_at` set in {unqualified} of {} rows",
            d.leads.len()
        )),
        "{text}"
    );
    assert!(text.contains("`campaign` is not in this export"), "{text}");
    same_as_canonical(&db, expected).await;
}

async fn salesforce_exports_give_the_figures_of_the_same_data_as_canonical_csv(db: TestDb) {
    let d = crate::demo::generated(&spec());
    let mut expected = Dump {
        reps: d.reps.clone(),
        leads: vec![],
        touches: vec![],
        deals: vec![],
    };
    let users: Vec<Vec<String>> = d
        .reps
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.name.clone(),
                opt(r.email.clone()),
                opt(r.team.clone()),
            ]
        })
        .collect();
    // The first deal of a lead is the opportunity it was converted into.
    let mut converted_into: HashMap<&str, &str> = HashMap::new();
    for deal in &d.deals {
        if let Some(l) = &deal.lead_id {
            converted_into.entry(l.as_str()).or_insert(deal.id.as_str());
        }
    }
    let queued = |id: &str| id.ends_with('9');
    let mut leads = Vec::new();
    let mut contact_of: HashMap<&str, String> = HashMap::new();
    for l in &d.leads {
        // No MQL date in Salesforce: a lead is handed over when created.
        let (created, created_text) = second(l.mql_at.unwrap_or(l.created_at));
        let accepted = l.accepted_at.map(day);
        let closed = if accepted.is_some() {
            None
        } else {
            l.closed_at.or(l.rejected_at).map(second)
        };
        let status = match (&accepted, &closed) {
            (Some(_), _) => "Closed - Converted",
            (None, Some(_)) => "Closed - Not Converted",
            _ => "Working - Contacted",
        };
        let contact = accepted.as_ref().map(|_| format!("003{}", l.id));
        if let Some(c) = &contact {
            contact_of.insert(l.id.as_str(), c.clone());
        }
        leads.push(vec![
            l.id.clone(),
            created_text.clone(),
            opt(closed.as_ref().map(|c| c.1.clone())).to_owned()
                + if closed.is_none() { &created_text } else { "" },
            // Every ninth lead is owned by a queue, which is no rep.
            if queued(&l.id) {
                "00G-queue".to_owned()
            } else {
                opt(l.owner_id.clone())
            },
            opt(l.channel.clone()),
            status.into(),
            accepted.is_some().to_string(),
            opt(accepted.as_ref().map(|a| a.1.clone())),
            opt(contact),
            converted_into
                .get(l.id.as_str())
                .map(|s| (*s).to_owned())
                .unwrap_or_default(),
        ]);
        expected.leads.push(Lead {
            id: l.id.clone(),
            created_at: created,
            mql_at: Some(created),
            owner_id: if queued(&l.id) {
                None
            } else {
                l.owner_id.clone()
            },
            channel: l.channel.clone(),
            campaign: None,
            segment: None,
            score: None,
            accepted_at: accepted.map(|a| a.0),
            rejected_at: None,
            closed_at: closed.map(|c| c.0),
            close_reason: None,
        });
    }
    // Tasks: calls, e-mails (list e-mail is automated) and LinkedIn messages;
    // after conversion every other task is on the contact.
    let mut tasks = Vec::new();
    for (i, t) in d.touches.iter().enumerate() {
        let subtype = match (t.kind, t.direction, t.automated) {
            ("call", _, false) => "Call",
            ("email", "outbound", false) => "Email",
            ("email", "outbound", true) => "ListEmail",
            ("social", "outbound", false) => "LinkedIn",
            _ => continue,
        };
        let (when, when_text) = second(t.occurred_at);
        let who = match contact_of.get(t.lead_id.as_str()) {
            Some(c) if i % 2 == 0 => c.clone(),
            _ => t.lead_id.clone(),
        };
        let call_type = match (t.kind, t.direction) {
            ("call", "outbound") => "Outbound",
            ("call", _) => "Inbound",
            _ => "",
        };
        let disposition = match t.outcome.as_deref() {
            Some("connected") => "Connected".to_owned(),
            other => other.unwrap_or_default().to_owned(),
        };
        tasks.push(vec![
            t.id.clone(),
            who,
            opt(t.rep_id.clone()),
            when_text,
            subtype.into(),
            call_type.into(),
            disposition,
        ]);
        expected.touches.push(Touch {
            id: t.id.clone(),
            lead_id: t.lead_id.clone(),
            rep_id: t.rep_id.clone(),
            occurred_at: when,
            kind: t.kind,
            direction: t.direction,
            outcome: t.outcome.clone(),
            automated: t.automated,
        });
    }
    let stray = |id: &str, who: &str, subtype: &str| {
        vec![
            id.into(),
            who.into(),
            String::new(),
            "2026-10-01T10:00:00.000Z".into(),
            subtype.into(),
            "Outbound".into(),
            String::new(),
        ]
    };
    tasks.push(stray("00T-todo", &d.leads[0].id, "Task"));
    tasks.push(stray("00T-contact", "003-not-a-lead", "Call"));
    tasks.push(stray("00T-account", "", "Call"));
    let mut opportunities = Vec::new();
    for deal in &d.deals {
        let (created, created_text) = second(deal.created_at);
        let closed = deal.closed_at.map(day);
        let linked = deal
            .lead_id
            .as_deref()
            .filter(|l| converted_into.get(l) == Some(&deal.id.as_str()));
        opportunities.push(vec![
            deal.id.clone(),
            handoff::model::format_cents(deal.amount_cents),
            created_text,
            closed
                .as_ref()
                .map_or_else(|| "2027-01-31".to_owned(), |c| c.1.clone()),
            closed.is_some().to_string(),
            (deal.won == Some(true)).to_string(),
        ]);
        expected.deals.push(Deal {
            id: deal.id.clone(),
            lead_id: linked.map(str::to_owned),
            created_at: created,
            closed_at: closed.map(|c| c.0),
            amount_cents: deal.amount_cents,
            won: deal.won,
        });
    }

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "User.csv",
        &csv_text(&["Id", "Name", "Email", "Department"], &users),
    );
    write(
        dir.path(),
        "Lead.csv",
        &csv_text(
            &[
                "Id",
                "CreatedDate",
                "LastModifiedDate",
                "OwnerId",
                "LeadSource",
                "Status",
                "IsConverted",
                "ConvertedDate",
                "ConvertedContactId",
                "ConvertedOpportunityId",
            ],
            &leads,
        ),
    );
    write(
        dir.path(),
        "Task.csv",
        &csv_text(
            &[
                "Id",
                "WhoId",
                "OwnerId",
                "CreatedDate",
                "TaskSubtype",
                "CallType",
                "CallDisposition",
            ],
            &tasks,
        ),
    );
    write(
        dir.path(),
        "Opportunity.csv",
        &csv_text(
            &[
                "Id",
                "Amount",
                "CreatedDate",
                "CloseDate",
                "IsClosed",
                "IsWon",
            ],
            &opportunities,
        ),
    );
    let report = import_mapped(&db, dir.path(), "salesforce").await;
    let text = report.to_string();
    assert!(
        text.contains("1 row skipped: `TaskSubtype` does not meet the condition"),
        "{text}"
    );
    assert!(
        text.contains("1 row skipped: lead_id names no lead (if_unknown: skip)"),
        "{text}"
    );
    assert!(
        text.contains("1 row skipped: touches.lead_id empty"),
        "{text}"
    );
    same_as_canonical(&db, expected).await;
}

const USER_MAPPING: &str = r#"
version: 1
description: the sales team's spreadsheet
timezone: Europe/Berlin
dates: ["%d.%m.%Y %H:%M", "%d.%m.%Y"]
numbers: { decimal: ",", thousands: "." }
files:
  - file: team.csv
    table: reps
    columns: { id: Kürzel, name: Name }
  - file: anfragen.csv
    table: leads
    columns:
      id: Nr
      created_at: Eingang
      mql_at: { column: Übergabe, format: "%d.%m.%Y %H:%M:%S" }
      owner_id: Betreuer
      channel:
        column: Quelle
        map: { Messe: events, Webinar: webinar, Google: paid_search }
      score: Punkte
  - file: anfragen.csv
    table: deals
    where: [{ column: Auftrag, not_in: [""] }]
    columns:
      id: Auftrag
      lead_id: Nr
      created_at: Eingang
      amount: Wert
      won: { column: Gewonnen, map: { ja: true, nein: false } }
"#;

async fn a_users_own_mapping_reads_local_dates_value_maps_and_thousands(db: TestDb) {
    let dir = csv_dir(&[
        ("mapping.yaml", USER_MAPPING),
        ("team.csv", "Kürzel;Name\nAB;Anna Berg\nCD;Carl Dorn\n"),
        (
            "anfragen.csv",
            "Nr;Eingang;Übergabe;Betreuer;Quelle;Punkte;Auftrag;Wert;Gewonnen\n\
             A-1;30.03.2026 09:15;30.03.2026 10:00:30;AB;Messe;1.234,5;O-1;12.500,50 €;ja\n\
             A-2;24.10.2026 23:30;;CD;google;7;;;\n\
             A-3;25.10.2026 02:30;;CD;;;O-3;1.000;\n",
        ),
    ]);
    let mapping =
        handoff::mapping::load(dir.path().join("mapping.yaml").to_str().unwrap()).unwrap();
    let options = ImportOptions {
        mapping: Some(Arc::new(mapping)),
        ..ImportOptions::default()
    };
    let report = import_dir_with(&db.store, dir.path(), &Progress::hidden(), options)
        .await
        .unwrap();
    assert!(report.is_success(), "{report}");
    let text = report.to_string();
    assert!(
        text.contains("1 row skipped: `Auftrag` does not meet the condition"),
        "{text}"
    );
    let dump = db.dump().await;
    assert_eq!(dump.reps.len(), 2);
    // Berlin is UTC+2 on 30 March 2026 (summer time began on the 29th) and on
    // 24 October (it ends on the 25th): 09:15 is 07:15 UTC, 23:30 is 21:30 UTC.
    let a1 = Lead {
        id: "A-1".into(),
        created_at: utc("2026-03-30T07:15:00Z"),
        mql_at: Some(utc("2026-03-30T08:00:30Z")),
        owner_id: Some("AB".into()),
        channel: Some("events".into()),
        campaign: None,
        segment: None,
        score: Some(1234.5),
        accepted_at: None,
        rejected_at: None,
        closed_at: None,
        close_reason: None,
    };
    let a2 = Lead {
        id: "A-2".into(),
        created_at: utc("2026-10-24T21:30:00Z"),
        mql_at: None,
        owner_id: Some("CD".into()),
        channel: Some("paid_search".into()),
        score: Some(7.0),
        ..a1.clone()
    };
    // 25 October 02:30 comes twice in Berlin (clocks go back at 03:00): the
    // earlier, summer-time instant is taken, 00:30 UTC.
    let a3 = Lead {
        id: "A-3".into(),
        created_at: utc("2026-10-25T00:30:00Z"),
        channel: None,
        score: None,
        ..a2.clone()
    };
    assert_eq!(dump.leads, vec![a1, a2, a3]);
    assert_eq!(
        dump.deals,
        vec![
            Deal {
                id: "O-1".into(),
                lead_id: Some("A-1".into()),
                created_at: utc("2026-03-30T07:15:00Z"),
                closed_at: None,
                amount_cents: 1_250_050,
                won: Some(true),
            },
            Deal {
                id: "O-3".into(),
                lead_id: Some("A-3".into()),
                created_at: utc("2026-10-25T00:30:00Z"),
                closed_at: None,
                amount_cents: 100_000,
                won: None,
            }
        ]
    );
}

async fn problems_are_located_in_the_source_files(db: TestDb) {
    let contacts = |created: &str| {
        format!(
            "Record ID,{created},Contact owner,Became a Marketing Qualified Lead Date,Last Modified Date,Lead Status\n\
             1,2026-03-02 09:00,Ann,2026-03-02 09:30,2026-03-02 09:30,New\n"
        )
    };
    let deals = "Record ID,Create Date,Close Date,Deal Stage,Amount,Associated Contact IDs\n\
                 D1,2026-03-05 10:00,,Appointment Scheduled,\"1,000\",1\n\
                 D2,03/05/2026,,Closed Won,ten,\n";
    let store = &db.store;
    let import = |dir: tempfile::TempDir| async move {
        let options = ImportOptions {
            mapping: Some(Arc::new(handoff::mapping::load("hubspot").unwrap())),
            timezone: handoff::mapping::read::Zones {
                given: Some(NY),
                fallback: None,
            },
            ..ImportOptions::default()
        };
        let report = import_dir_with(store, dir.path(), &Progress::hidden(), options)
            .await
            .unwrap();
        report.to_string()
    };
    // The header lacks a column the mapping reads: the nearest one is named,
    // and the files that refer to the leads wait.
    let text = import(csv_dir(&[
        ("contacts.csv", &contacts("Created Date")),
        ("deals.csv", deals),
    ]))
    .await;
    assert!(
        text.contains("contacts.csv:1:1: no column `Create Date` in the header, which leads.created_at (hubspot.yaml:48:19) reads; did you mean `Created Date`?"),
        "{text}"
    );
    assert!(
        text.contains("deals.csv → deals: not imported: contacts.csv → leads was not imported"),
        "{text}"
    );
    assert!(text.contains("calls.csv: not in"), "{text}");
    // An optional column the export lacks is left out, and said so.
    assert!(!text.contains("no column `HubSpot Score`"), "{text}");

    // Line 3 of deals.csv: the date in field 2, the amount in field 5.
    let text = import(csv_dir(&[
        ("contacts.csv", &contacts("Create Date")),
        ("deals.csv", deals),
    ]))
    .await;
    assert!(
        text.contains("deals.csv:3:2: deals.created_at from `Create Date`: `03/05/2026` is not a date and time as RFC 3339 or `%Y-%m-%d %H:%M:%S`, `%Y-%m-%d %H:%M`, `%Y-%m-%d`"),
        "{text}"
    );
    assert!(
        text.contains("deals.csv:3:5: deals.amount from `Amount`: `ten` is not a number"),
        "{text}"
    );
    // A lookup's file that is not there stops the import before anything is read.
    let err = import_dir_with(
        store,
        csv_dir(&[("Task.csv", "Id,WhoId\n")]).path(),
        &Progress::hidden(),
        ImportOptions {
            mapping: Some(Arc::new(handoff::mapping::load("salesforce").unwrap())),
            ..ImportOptions::default()
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("salesforce.yaml:"), "{err}");
    assert!(
        err.contains(": the lookup reads Lead.csv, which is not in /"),
        "{err}"
    );
    // Nothing of the folder was written.
    let dump = db.dump().await;
    assert!(dump.leads.is_empty() && dump.deals.is_empty() && dump.reps.is_empty());
}

#[test]
fn the_command_line_checks_prints_and_refuses_mappings() {
    let out = crate::helpers::handoff()
        .args(["check", "--mapping", "salesforce"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("mapping salesforce is valid"));

    let out = crate::helpers::handoff()
        .args(["schema", "--mapping"])
        .output()
        .unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["title"], "handoff mapping file");
    // The schema the shipped mappings point their editors at is this one.
    let shipped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("docs/mapping.schema.json").unwrap())
            .unwrap();
    assert_eq!(
        schema, shipped,
        "refresh it: handoff schema --mapping > docs/mapping.schema.json"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("m.yaml");
    std::fs::write(&bad, "version: 1\nfiles:\n  - file: a.csv\n    table: leads\n    columns: { id: Id, created: Created }\n").unwrap();
    let out = crate::helpers::handoff()
        .args(["check", "--mapping", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "m.yaml:5:24: error: leads has no column `created`; did you mean `created_at`?"
        ),
        "{err}"
    );

    let db = dir.path().join("h.db");
    let out = crate::helpers::handoff()
        .args([
            "--database",
            &format!("sqlite://{}", db.display()),
            "import",
            "--mapping",
            "hubsopt",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "not one of the built-in mappings (hubspot, salesforce); did you mean `hubspot`?"
        ),
        "{err}"
    );
}
