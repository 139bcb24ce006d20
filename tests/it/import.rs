//! `handoff import`: canonical CSV files into the store, on every backend.
//!
//! Expected rows are written out by hand from the CSV text in each test.

use handoff::import::{Outcome, import_dir};
use handoff::model::{Lead, Rep, Table};
use handoff::progress::Progress;

use crate::helpers::{TestDb, backend_tests, csv_dir, utc};

backend_tests!(
    imports_all_four_files,
    reimport_updates_in_place,
    file_with_partial_columns_updates_only_those,
    bad_timestamp_is_located,
    unknown_kind_and_direction_are_located,
    touch_for_missing_lead_is_located,
    negative_and_bad_amounts_are_located,
    missing_required_column_is_located,
    duplicate_id_in_one_file_is_located,
    unknown_column_suggests_the_near_miss,
    every_bad_row_is_reported_and_nothing_written,
    dependent_files_are_skipped_after_a_rejection,
    exports_as_spreadsheets_write_them_are_read,
    a_misnamed_file_is_reported_before_what_it_causes,
    demo_csv_round_trips_exactly,
    lines_are_right_with_crlf_blank_lines_and_line_breaks_in_fields,
    padded_ids_control_characters_and_far_years_are_refused,
    text_is_trimmed_alike_on_every_backend,
);

const REPS: &str = "id,name,email,team\nR1,Maya Chen,maya@acme.example,sales-na\nR2,Tom Walsh,,\n";
const LEADS: &str = "\
id,created_at,mql_at,owner_id,channel,campaign,segment,score,accepted_at,rejected_at,closed_at,close_reason
L1,2026-03-02T14:05:00Z,2026-03-02T09:35:00-05:00,R1,webinar,\"webinar, spring\",smb,72.5,2026-03-03T10:00:00Z,,,
L2,2026-03-03T08:00:00.250Z,,,,,,,,,,
";
const TOUCHES: &str = "\
id,lead_id,rep_id,occurred_at,kind,direction,outcome,automated
T1,L1,R1,2026-03-02T15:00:00Z,call,outbound,connected,false
T2,L1,,2026-03-02T14:36:00Z,email,outbound,,true
";
const DEALS: &str = "id,lead_id,created_at,closed_at,amount,won\nD1,L1,2026-03-10T00:00:00Z,,12500.5,\nD2,,2026-03-11T00:00:00Z,2026-04-01T00:00:00Z,0.07,true\n";

fn expected_l1() -> Lead {
    Lead {
        id: "L1".into(),
        created_at: utc("2026-03-02T14:05:00Z"),
        // 09:35 at UTC-5 is 14:35 UTC.
        mql_at: Some(utc("2026-03-02T14:35:00Z")),
        owner_id: Some("R1".into()),
        channel: Some("webinar".into()),
        campaign: Some("webinar, spring".into()),
        segment: Some("smb".into()),
        score: Some(72.5),
        accepted_at: Some(utc("2026-03-03T10:00:00Z")),
        rejected_at: None,
        closed_at: None,
        close_reason: None,
    }
}

async fn import(db: &TestDb, files: &[(&str, &str)]) -> handoff::import::ImportReport {
    let dir = csv_dir(files);
    import_dir(&db.store, dir.path(), &Progress::hidden())
        .await
        .unwrap()
}

/// The problems reported for `file`, as `LINE:COLUMN: message` lines.
fn problems(report: &handoff::import::ImportReport, file: &str) -> Vec<String> {
    let f = report.files.iter().find(|f| f.name == file).unwrap();
    match &f.outcome {
        Outcome::Rejected { errors, .. } => errors
            .iter()
            .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
            .collect(),
        other => panic!("{file} was not rejected: {other:?}"),
    }
}

async fn seed(db: &TestDb) {
    let report = import(
        db,
        &[
            ("reps.csv", REPS),
            ("leads.csv", LEADS),
            ("touches.csv", TOUCHES),
            ("deals.csv", DEALS),
        ],
    )
    .await;
    assert!(report.is_success(), "{report}");
}

async fn imports_all_four_files(db: TestDb) {
    let report = import(
        &db,
        &[
            ("reps.csv", REPS),
            ("leads.csv", LEADS),
            ("touches.csv", TOUCHES),
            ("deals.csv", DEALS),
            ("lead.csv", "id\n"),
        ],
    )
    .await;
    assert!(report.is_success(), "{report}");
    assert_eq!(report.rows(), 2 + 2 + 2 + 2);
    assert_eq!(
        report.ignored,
        vec!["lead.csv: ignored, not a canonical file; did you mean `leads.csv`?".to_owned()]
    );

    let dump = db.dump().await;
    assert_eq!(
        dump.reps[1],
        Rep {
            id: "R2".into(),
            name: "Tom Walsh".into(),
            email: None,
            team: None
        }
    );
    assert_eq!(dump.leads[0], expected_l1());
    assert_eq!(dump.leads[1].created_at, utc("2026-03-03T08:00:00.25Z"));
    assert_eq!(dump.leads[1].owner_id, None);
    assert!(dump.touches[1].automated && !dump.touches[0].automated);
    assert_eq!(dump.deals[0].amount_cents, 1_250_050);
    assert_eq!(dump.deals[1].amount_cents, 7);
    assert_eq!(dump.deals[1].won, Some(true));
    assert_eq!(dump.deals[1].lead_id, None);
}

async fn reimport_updates_in_place(db: TestDb) {
    seed(&db).await;
    let renamed = REPS.replace("Tom Walsh,,", "Tom Walsh,tom@acme.example,sales-emea");
    let report = import(&db, &[("reps.csv", &renamed)]).await;
    assert!(report.is_success(), "{report}");
    let reps = db.reps().await;
    assert_eq!(reps.len(), 2);
    assert_eq!(reps[1].team.as_deref(), Some("sales-emea"));
    assert_eq!(reps[1].email.as_deref(), Some("tom@acme.example"));
}

async fn file_with_partial_columns_updates_only_those(db: TestDb) {
    seed(&db).await;
    // Closing L1 needs only the id, the required created_at, and closed_at.
    let close = "id,created_at,closed_at,close_reason\nL1,2026-03-02T14:05:00Z,2026-04-02T10:00:00Z,no_response\n";
    let report = import(&db, &[("leads.csv", close)]).await;
    assert!(report.is_success(), "{report}");
    let mut expected = expected_l1();
    expected.closed_at = Some(utc("2026-04-02T10:00:00Z"));
    expected.close_reason = Some("no_response".into());
    assert_eq!(db.leads().await[0], expected);
}

async fn bad_timestamp_is_located(db: TestDb) {
    seed(&db).await;
    let before = db.dump().await;
    // Line 3 (the second data row), field 3 (mql_at) lacks an offset; line 4 field 2 is a date.
    let leads = "id,created_at,mql_at\nL7,2026-03-02T14:05:00Z,\nL8,2026-03-02T14:05:00Z,2026-03-02T14:05:00\nL9,2026-03-05,\n";
    let report = import(&db, &[("leads.csv", leads)]).await;
    assert_eq!(
        problems(&report, "leads.csv"),
        vec![
            "3:3: invalid `mql_at` `2026-03-02T14:05:00`: no UTC offset; add `Z` or an offset such as `+01:00` (RFC 3339)",
            "4:2: invalid `created_at` `2026-03-05`: a date alone is not an instant; expected RFC 3339 such as 2026-03-02T14:05:00Z",
        ]
    );
    assert_eq!(db.dump().await, before, "a rejected file writes nothing");
}

async fn unknown_kind_and_direction_are_located(db: TestDb) {
    seed(&db).await;
    let touches = "id,lead_id,occurred_at,kind,direction,automated\nT9,L1,2026-03-02T15:00:00Z,cal,outbound,false\nT10,L1,2026-03-02T15:00:00Z,call,outgoing,no\n";
    let report = import(&db, &[("touches.csv", touches)]).await;
    assert_eq!(
        problems(&report, "touches.csv"),
        vec![
            "2:4: unknown kind `cal`; expected one of call, email, meeting, sms, social, other; did you mean `call`?",
            "3:5: unknown direction `outgoing`; expected one of outbound, inbound",
            "3:6: invalid `automated` `no`: expected true or false",
        ]
    );
    assert_eq!(db.store.count(Table::Touches).await.unwrap(), 2);
}

async fn touch_for_missing_lead_is_located(db: TestDb) {
    seed(&db).await;
    let touches = "id,occurred_at,lead_id,rep_id,kind,direction,automated\nT9,2026-03-02T15:00:00Z,L1,R1,call,outbound,false\nT10,2026-03-02T15:00:00Z,L404,R9,call,outbound,false\n";
    let report = import(&db, &[("touches.csv", touches)]).await;
    assert_eq!(
        problems(&report, "touches.csv"),
        vec![
            "3:3: unknown lead `L404`: no row with this id in leads (import leads.csv first or in the same run)",
            "3:4: unknown rep `R9`: no row with this id in reps (import reps.csv first or in the same run)",
        ]
    );
    // T9 was good, but the file is all or nothing.
    assert_eq!(db.store.count(Table::Touches).await.unwrap(), 2);
}

async fn negative_and_bad_amounts_are_located(db: TestDb) {
    let deals = "id,created_at,amount\nD1,2026-03-10T00:00:00Z,-5\nD2,2026-03-10T00:00:00Z,1.005\nD3,2026-03-10T00:00:00Z,\"1,000\"\nD4,2026-03-10T00:00:00Z,\n";
    let report = import(&db, &[("deals.csv", deals)]).await;
    assert_eq!(
        problems(&report, "deals.csv"),
        vec![
            "2:3: invalid `amount` `-5`: amounts cannot be negative",
            "3:3: invalid `amount` `1.005`: more than two decimals; amounts are kept to the cent",
            "4:3: invalid `amount` `1,000`: expected a plain decimal amount such as 12500 or 12500.50",
            "5:3: `amount` is required but empty",
        ]
    );
    assert_eq!(db.store.count(Table::Deals).await.unwrap(), 0);
}

async fn missing_required_column_is_located(db: TestDb) {
    let touches = "id,lead_id,occurred_at,kind,automated\nT1,L1,2026-03-02T15:00:00Z,call,false\n";
    let report = import(&db, &[("touches.csv", touches)]).await;
    assert_eq!(
        problems(&report, "touches.csv"),
        vec!["1:1: missing required column `direction`"]
    );
}

async fn duplicate_id_in_one_file_is_located(db: TestDb) {
    let reps = "name,id\nA,R1\nB,R2\nC,R1\n";
    let report = import(&db, &[("reps.csv", reps)]).await;
    assert_eq!(
        problems(&report, "reps.csv"),
        vec!["4:2: duplicate id `R1`: line 2 has it already"]
    );
    assert_eq!(db.store.count(Table::Reps).await.unwrap(), 0);
}

async fn unknown_column_suggests_the_near_miss(db: TestDb) {
    let reps = "id,name,teem\nR1,A,x\n";
    let report = import(&db, &[("reps.csv", reps)]).await;
    assert_eq!(
        problems(&report, "reps.csv"),
        vec!["1:3: unknown column `teem`; reps has id, name, email, team; did you mean `team`?"]
    );
}

async fn every_bad_row_is_reported_and_nothing_written(db: TestDb) {
    // 5,000 good rows with a bad one every 1,000: the bad rows sit in different
    // batches, and every one of them is reported.
    let mut reps = String::from("id,name\n");
    for i in 0..5_000 {
        if i % 1_000 == 999 {
            reps.push_str(&format!("R{i},\"too long {}\"\n", "x".repeat(300)));
        } else {
            reps.push_str(&format!("R{i},Rep {i}\n"));
        }
    }
    let report = import(&db, &[("reps.csv", &reps)]).await;
    let lines: Vec<String> = problems(&report, "reps.csv")
        .iter()
        .map(|p| p.split(':').next().unwrap().to_owned())
        .collect();
    // Row i sits on line i + 2 (after the header, counting from 1).
    assert_eq!(lines, vec!["1001", "2001", "3001", "4001", "5001"]);
    assert_eq!(db.store.count(Table::Reps).await.unwrap(), 0);
}

async fn dependent_files_are_skipped_after_a_rejection(db: TestDb) {
    let bad_leads = LEADS.replace("2026-03-03T08:00:00.250Z", "soon");
    let report = import(
        &db,
        &[
            ("reps.csv", REPS),
            ("leads.csv", &bad_leads),
            ("touches.csv", TOUCHES),
        ],
    )
    .await;
    assert!(!report.is_success());
    // reps.csv was good, but the folder is imported whole or not at all.
    assert!(
        matches!(&report.files[0].outcome, Outcome::RolledBack { rows: 2, because } if because.contains("leads.csv")),
        "{report}"
    );
    assert_eq!(problems(&report, "leads.csv").len(), 1);
    assert!(
        matches!(&report.files[2].outcome, Outcome::Skipped { because } if because.contains("leads.csv"))
    );
    assert_eq!(
        (
            db.store.count(Table::Reps).await.unwrap(),
            db.store.count(Table::Leads).await.unwrap()
        ),
        (0, 0)
    );

    // --each-file: the good file before the bad one is committed.
    let dir = csv_dir(&[
        ("reps.csv", REPS),
        ("leads.csv", &bad_leads),
        ("touches.csv", TOUCHES),
    ]);
    let options = handoff::import::ImportOptions {
        each_file: true,
        ..Default::default()
    };
    let report =
        handoff::import::import_dir_with(&db.store, dir.path(), &Progress::hidden(), options)
            .await
            .unwrap();
    assert!(matches!(
        report.files[0].outcome,
        Outcome::Imported { rows: 2, .. }
    ));
    assert_eq!(
        (
            db.store.count(Table::Reps).await.unwrap(),
            db.store.count(Table::Leads).await.unwrap()
        ),
        (2, 0)
    );
}

/// What CRM exports and spreadsheets write: capitalised file names,
/// semicolons, `Call` and `Outbound`.
async fn exports_as_spreadsheets_write_them_are_read(db: TestDb) {
    let semi = |text: &str| text.replace(',', ";");
    let touches = TOUCHES
        .replace(",call,", ",Call,")
        .replace(",outbound,", ",OUTBOUND,");
    let report = import(
        &db,
        &[
            ("Reps.csv", &semi(REPS)),
            ("LEADS.CSV", LEADS),
            ("Touches.csv", &semi(&touches)),
        ],
    )
    .await;
    assert!(report.is_success(), "{report}");
    assert!(report.ignored.is_empty(), "{:?}", report.ignored);
    assert_eq!(report.files[0].name, "Reps.csv");
    assert_eq!(
        (
            db.store.count(Table::Reps).await.unwrap(),
            db.store.count(Table::Leads).await.unwrap(),
            db.store.count(Table::Touches).await.unwrap(),
        ),
        (
            REPS.lines().count() as i64 - 1,
            LEADS.lines().count() as i64 - 1,
            TOUCHES.lines().count() as i64 - 1,
        )
    );
}

/// A misnamed file is said first: it is why the others name unknown rows.
async fn a_misnamed_file_is_reported_before_what_it_causes(db: TestDb) {
    let report = import(
        &db,
        &[
            ("reps.csv", REPS),
            ("lead.csv", LEADS),
            ("touches.csv", TOUCHES),
        ],
    )
    .await;
    assert!(!report.is_success());
    let text = report.to_string();
    let first = text.lines().next().unwrap();
    assert_eq!(
        first, "lead.csv: ignored, not a canonical file; did you mean `leads.csv`?",
        "{text}"
    );
    assert!(text.contains("unknown lead"), "{text}");
}

async fn demo_csv_round_trips_exactly(db: TestDb) {
    // The demo writes CSV text with its own writer; importing it must give back
    // exactly the rows the generator made.
    let spec = handoff::demo::DemoSpec {
        leads: 1_500,
        months: 2,
        seed: 7,
        end: utc("2026-06-01T00:00:00Z"),
    };
    let dir = tempfile::tempdir().unwrap();
    handoff::demo::write_csv(dir.path(), spec, &Progress::hidden()).unwrap();
    let report = import_dir(&db.store, dir.path(), &Progress::hidden())
        .await
        .unwrap();
    assert!(report.is_success(), "{report}");

    let mut expected = crate::demo::generated(&spec);
    let dump = db.dump().await;
    for t in &mut expected.touches {
        t.occurred_at = handoff::model::to_store_precision(t.occurred_at);
    }
    assert_eq!(dump.reps, expected.reps);
    assert_eq!(dump.leads, expected.leads);
    assert_eq!(dump.touches, expected.touches);
    assert_eq!(dump.deals, expected.deals);

    // The same questions in SQL give the same answers on every backend as the
    // generator's own rows do.
    let n = |x: usize| vec![vec![Some(x as i64)]];
    let webinar_mqls = expected
        .leads
        .iter()
        .filter(|l| l.channel.as_deref() == Some("webinar") && l.mql_at.is_some())
        .count();
    let no_channel = expected
        .leads
        .iter()
        .filter(|l| l.channel.is_none())
        .count();
    let automated = expected.touches.iter().filter(|t| t.automated).count();
    let connected = expected
        .touches
        .iter()
        .filter(|t| t.direction == "outbound" && t.outcome.as_deref() == Some("connected"))
        .count();
    let big_wins = expected
        .deals
        .iter()
        .filter(|d| d.won == Some(true) && d.amount_cents >= 2_000_000)
        .count();
    assert_eq!(
        db.counts("SELECT COUNT(*) FROM leads WHERE channel = 'webinar' AND mql_at IS NOT NULL")
            .await,
        n(webinar_mqls)
    );
    assert_eq!(
        db.counts("SELECT COUNT(*) FROM leads WHERE channel IS NULL")
            .await,
        n(no_channel)
    );
    assert_eq!(
        db.counts("SELECT COUNT(*) FROM touches WHERE automated = TRUE")
            .await,
        n(automated)
    );
    assert_eq!(
        db.counts(
            "SELECT COUNT(*) FROM touches WHERE direction = 'outbound' AND outcome = 'connected'"
        )
        .await,
        n(connected)
    );
    assert_eq!(
        db.counts("SELECT COUNT(*) FROM deals WHERE won = TRUE AND amount >= 20000")
            .await,
        n(big_wins)
    );
    assert!(webinar_mqls > 0 && no_channel > 0 && automated > 0 && connected > 0 && big_wins > 0);
}

async fn lines_are_right_with_crlf_blank_lines_and_line_breaks_in_fields(db: TestDb) {
    // Line 1 header; 2 good; 3 blank; 4–5 one record whose name holds a line
    // break; 6 blank; 7 bad (empty name); 8 bad, and the file ends without a line break.
    let crlf = "id,name\r\nR1,A\r\n\r\nR2,\"two\r\nlines\"\r\n\r\nR3,\r\nR4 ,D";
    let report = import(&db, &[("reps.csv", crlf)]).await;
    assert_eq!(
        problems(&report, "reps.csv"),
        vec![
            "7:2: `name` is required but empty",
            "8:1: `id` `R4 ` has spaces around it; ids are matched exactly, so remove them",
        ]
    );
    // The same with LF endings.
    let lf = crlf.replace("\r\n", "\n");
    assert_eq!(
        problems(&import(&db, &[("reps.csv", &lf)]).await, "reps.csv").len(),
        2
    );
    let report = import(&db, &[("reps.csv", "id,name\n\n\nR1,A\nR1,B\n")]).await;
    assert_eq!(
        problems(&report, "reps.csv"),
        vec!["5:1: duplicate id `R1`: line 4 has it already"]
    );
    // Classic Mac line endings are refused as a whole, and the report says so
    // beside the files already imported.
    let report = import(
        &db,
        &[
            ("reps.csv", "id,name\nR9,A\n"),
            ("leads.csv", "id,created_at\rL1,2026-01-01T00:00:00Z\r"),
        ],
    )
    .await;
    assert!(matches!(
        report.files[0].outcome,
        Outcome::RolledBack { rows: 1, .. }
    ));
    assert!(
        matches!(&report.files[1].outcome, Outcome::Failed { error } if error.contains("bare carriage return")),
        "{report}"
    );
    assert!(!report.is_success());
}

async fn padded_ids_control_characters_and_far_years_are_refused(db: TestDb) {
    seed(&db).await;
    let touches = "id,lead_id,occurred_at,kind,direction,automated,outcome\nT9,L1 ,2026-03-02T15:00:00Z,call,outbound,false,\nT10,L1,9999-12-31T23:00:00-05:00,call,outbound,false,\nT11,L1,2026-03-02T15:00:00Z,call,outbound,false,no\u{0}answer\n";
    let report = import(&db, &[("touches.csv", touches)]).await;
    assert_eq!(
        problems(&report, "touches.csv"),
        vec![
            "2:2: `lead_id` `L1 ` has spaces around it; ids are matched exactly, so remove them",
            "3:3: invalid `occurred_at` `9999-12-31T23:00:00-05:00`: outside the years 1 to 9999 (in UTC)",
            "4:7: `outcome` holds the control character U+0000",
        ]
    );
    assert_eq!(db.store.count(Table::Touches).await.unwrap(), 2);
}

async fn text_is_trimmed_alike_on_every_backend(db: TestDb) {
    let report = import(
        &db,
        &[(
            "reps.csv",
            "id,name,team\nR1, Maya Chen ,sales-na \nR2,Tom,sales-na\nR3,Ann,  \n",
        )],
    )
    .await;
    assert!(report.is_success(), "{report}");
    let reps = db.reps().await;
    assert_eq!(reps[0].name, "Maya Chen");
    assert_eq!(reps[0].team.as_deref(), Some("sales-na"));
    assert_eq!(reps[2].team, None, "a blank value is null");
    assert_eq!(
        db.counts(
            "SELECT COUNT(*) FROM (SELECT team FROM reps WHERE team IS NOT NULL GROUP BY team) g"
        )
        .await,
        vec![vec![Some(1)]]
    );
}

/// A write the database refuses is reported with the database's own words,
/// not only with what the store was doing.
#[tokio::test]
async fn a_refused_write_is_reported_with_the_databases_reason() {
    let db = TestDb::sqlite().await;
    db.exec(
        "CREATE TRIGGER frozen BEFORE INSERT ON leads \
         BEGIN SELECT RAISE(ABORT, 'leads are frozen for the audit'); END",
    )
    .await;
    let report = import(&db, &[("reps.csv", REPS), ("leads.csv", LEADS)]).await;
    let error = report
        .files
        .iter()
        .find_map(|f| match &f.outcome {
            Outcome::Failed { error } => Some(error.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no failure in {report}"));
    assert!(error.contains("leads"), "{error}");
    assert!(error.contains("leads are frozen for the audit"), "{error}");
    assert!(!report.is_success());
}
