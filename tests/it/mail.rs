//! Alert mail from the running daemon: that what the engine decides reaches
//! the mail server threaded, and that a restart neither loses nor repeats a
//! mail. What is decided, with which figures, for whom, is the engine's and is
//! tested on a simulated clock in `engine`.
//!
//! The plain suite delivers into an outbox directory (the `.eml` files a
//! server would have received) on every backend. With the `smtp-tests`
//! feature, a real SMTP server (Debian's `python3-aiosmtpd`, driven by
//! `tests/smtp_sink.py`) receives the mail, refuses some and comes up late.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use handoff::daemon::{Grouping, MailOptions, Options};
use handoff::mail::Transport;
use handoff::mail::render::Templates;
use mail_parser::{Message, MessageParser};

use crate::daemon::{
    NOVEMBER_LEADS, NOVEMBER_TOUCHES, count, eventually, options, rules_dir, run_all, start,
};
use crate::eval::load;
use crate::helpers::{TestDb, backend_tests, utc};

backend_tests!(
    mail_goes_out_threaded_and_a_restart_never_sends_it_twice,
    a_missed_month_is_mailed_once,
);

/// Volume (marketing) and speed (sales) as in the daemon tests, each with
/// `alert.notify` set so that the receivers are plain.
pub(crate) const RULES: &str = "  - name: volume
    description: Marketing hands sales 10 webinar MQLs a month.
    kind: lead_volume
    owner: marketing
    schedule: '0 0 1 1 *'
    window: month
    by: channel
    target: { webinar: 10, paid_search: 1 }
    warn_below: 0.9
  - name: speed
    description: Sales makes a first attempt on 90% of MQLs within the hour.
    kind: percent_worked
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    respond_within: 1h
    target: 0.9
    alert: { notify: [sales, lead@acme.example] }
";

/// Marketing's 10 MQLs a month; `for: 1d` keeps the pace alerts of either
/// month from firing around a month's end.
pub(crate) const MONTHLY_VOLUME: &str = "  - name: volume
    kind: lead_volume
    owner: marketing
    schedule: '0 0 1 1 *'
    window: month
    target: 10
    warn_below: 0.9
    alert: { for: 1d }
";

pub(crate) fn mail_options(transport: Transport) -> MailOptions {
    MailOptions {
        transport,
        from: "handoff <handoff@acme.example>".parse().unwrap(),
        templates: Arc::new(Templates::load(None).unwrap()),
        external_url: Some("https://handoff.acme.example/".to_owned()),
        grouping: Grouping {
            group_wait: chrono::TimeDelta::zero(),
            group_interval: chrono::TimeDelta::seconds(1),
        },
        first_retry: chrono::TimeDelta::seconds(1),
        ack: None,
        poster: handoff::channels::Poster::new(std::time::Duration::from_secs(5)).unwrap(),
    }
}

fn with_mail(base: Options, transport: Transport) -> Options {
    Options {
        mail: Some(mail_options(transport)),
        ..base
    }
}

/// The `.eml` files in `dir`, parsed, by file name.
fn outbox(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .map(|p| {
                    let bytes = std::fs::read(&p).unwrap();
                    (p, bytes)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

pub(crate) fn parse(bytes: &[u8]) -> Message<'_> {
    MessageParser::default()
        .parse(bytes)
        .expect("a mail message")
}

pub(crate) fn to(m: &Message<'_>) -> String {
    m.to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_owned()
}

pub(crate) fn references(m: &Message<'_>) -> Vec<String> {
    match m.references() {
        mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn in_reply_to(m: &Message<'_>) -> Option<String> {
    match m.in_reply_to() {
        mail_parser::HeaderValue::Text(t) => Some(t.to_string()),
        mail_parser::HeaderValue::TextList(l) => l.first().map(|t| t.to_string()),
        _ => None,
    }
}

/// A mail as the tests read it: (to, subject, message id, text, html,
/// in-reply-to).
pub(crate) type Read = (String, String, String, String, String, Option<String>);

/// The mails in an outbox directory, sorted by recipient and subject.
pub(crate) fn received_in(dir: &Path) -> Vec<Read> {
    let mut out: Vec<_> = outbox(dir).iter().map(|(_, b)| read(b)).collect();
    out.sort();
    out
}

/// One whole message, as the tests read it.
pub(crate) fn read(message: &[u8]) -> Read {
    let m = parse(message);
    (
        to(&m),
        m.subject().unwrap_or_default().to_owned(),
        m.message_id().unwrap_or_default().to_owned(),
        m.body_text(0).unwrap_or_default().into_owned(),
        m.body_html(0).unwrap_or_default().into_owned(),
        in_reply_to(&m),
    )
}

fn mails(dir: &Path) -> Vec<Read> {
    received_in(dir)
}

async fn mail_goes_out_threaded_and_a_restart_never_sends_it_twice(db: TestDb) {
    load(&db, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
    let dir = rules_dir(RULES);
    let out = tempfile::tempdir().unwrap();
    let at = utc("2026-11-20T12:00:00Z");
    let transport = || Transport::new(None, out.path()).unwrap();
    let run = start(&db, dir.path(), with_mail(options(at), transport())).await;

    // speed: 2 of 4 worked within the hour → 50% < 90%: breached, to sales
    // and lead@; volume: webinar 3 MQLs against 10 × 19.5/30 = 6.5 expected,
    // pace 46.2% < 90%: at risk, to marketing. paid_search is on pace.
    eventually("three mails in the outbox", || async {
        outbox(out.path()).len() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = mails(out.path());
    let heads: Vec<(&str, &str)> = got.iter().map(|m| (m.0.as_str(), m.1.as_str())).collect();
    assert_eq!(
        heads,
        [
            (
                "lead@acme.example",
                "[handoff] BREACHED speed: 50% worked in 1h, target 90%"
            ),
            (
                "mkt@acme.example",
                "[handoff] AT RISK volume (webinar): 3 MQLs, 46.2% of the 6.5 expected by now; target 10"
            ),
            (
                "sales@acme.example",
                "[handoff] BREACHED speed: 50% worked in 1h, target 90%"
            ),
        ]
    );
    // Both parts are there (their content: `engine`).
    assert!(got[2].4.contains("<table"), "{}", got[2].4);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM handoff_outbox WHERE state = 'sent'"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM handoff_notifications WHERE state = 'firing'"
        )
        .await,
        3
    );

    // W3 and P1 get their first attempts within the hour after all: speed is
    // 4 of 4, the alert resolves, and both receivers hear of it in the
    // breach's thread.
    load(
        &db,
        "",
        "T3,W3,2026-11-04T10:10:00Z,call,outbound,no_answer,false\n\
         T4,P1,2026-11-05T10:10:00Z,email,outbound,,false\n",
        "",
    )
    .await;
    run_all(&run.daemon).await;
    eventually("two resolved mails", || async {
        outbox(out.path()).len() >= 5
    })
    .await;
    let got = mails(out.path());
    let resolved: Vec<_> = got.iter().filter(|m| m.1.contains("RESOLVED")).collect();
    assert_eq!(resolved.len(), 2, "{got:#?}");
    for r in &resolved {
        assert_eq!(
            r.1,
            "[handoff] RESOLVED speed: 100% worked in 1h, target 90%"
        );
        let first = got
            .iter()
            .find(|m| m.0 == r.0 && m.1.contains("BREACHED"))
            .unwrap();
        let file = outbox(out.path())
            .into_iter()
            .find(|(_, b)| parse(b).message_id() == Some(r.2.as_str()))
            .unwrap();
        let m = parse(&file.1);
        assert_eq!(in_reply_to(&m).as_deref(), Some(first.2.as_str()));
        assert_eq!(references(&m), std::slice::from_ref(&first.2));
        assert!(
            r.3.contains("The promise is kept again; it was breached"),
            "{}",
            r.3
        );
    }
    run.stop().await;

    // A restart: the log says what was told; nothing is mailed again.
    let run = start(&db, dir.path(), with_mail(options(at), transport())).await;
    crate::daemon::evaluated(run.addr, 2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(outbox(out.path()).len(), 5, "{:#?}", mails(out.path()));

    run.stop().await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM handoff_outbox").await, 5);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM handoff_outbox WHERE state <> 'sent'"
        )
        .await,
        0
    );
}

/// October closes with 3 MQLs of 10 while the daemon runs: marketing gets one
/// "period missed" mail with the month's final figures, and a restart does not
/// send it again.
async fn a_missed_month_is_mailed_once(db: TestDb) {
    load(&db, crate::daemon::OCTOBER_LEADS, "", "").await;
    let dir = rules_dir(MONTHLY_VOLUME);
    let out = tempfile::tempdir().unwrap();
    let transport = || Transport::new(None, out.path()).unwrap();
    let first = start(
        &db,
        dir.path(),
        with_mail(options(utc("2026-10-31T23:00:00Z")), transport()),
    )
    .await;
    crate::daemon::evaluated(first.addr, 1).await;
    first.stop().await;
    assert!(outbox(out.path()).is_empty());

    // The first run in November closes October: 3 of 10 over the whole month.
    let second = start(
        &db,
        dir.path(),
        with_mail(options(utc("2026-11-01T01:00:00Z")), transport()),
    )
    .await;
    eventually("the period missed mail", || async {
        !outbox(out.path()).is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = mails(out.path());
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].0, "mkt@acme.example");
    assert_eq!(
        got[0].1,
        "[handoff] PERIOD MISSED volume, October 2026: 3 of 10 MQLs (30%)"
    );
    second.stop().await;

    let third = start(
        &db,
        dir.path(),
        with_mail(options(utc("2026-11-01T02:00:00Z")), transport()),
    )
    .await;
    crate::daemon::evaluated(third.addr, 1).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    third.stop().await;
    assert_eq!(mails(out.path()).len(), 1, "told once");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM handoff_notifications WHERE topic = 'period'"
        )
        .await,
        1
    );
}

/// A real SMTP server: `tests/smtp_sink.py` on Debian's `python3-aiosmtpd`.
#[cfg(feature = "smtp-tests")]
mod smtp {
    use std::path::Path;
    use std::process::Stdio;
    use std::time::Duration;

    use handoff::mail::Transport;

    use super::{in_reply_to, mail_options, parse, to};
    use crate::daemon::{
        NOVEMBER_LEADS, NOVEMBER_TOUCHES, count, eventually, get_json, http, options, rules_dir,
        sample, start,
    };
    use crate::eval::load;
    use crate::helpers::{TestDb, free_port, utc};

    /// Starts the SMTP server on `port`, writing what it receives into `dir`.
    fn sink(port: u16, dir: &Path) -> crate::helpers::Sink {
        crate::helpers::sink(
            "smtp_sink.py",
            port,
            dir,
            "python3 with aiosmtpd (apt-get install python3-aiosmtpd)",
        )
    }

    /// What the server accepted: (recipients, message bytes without the
    /// sink's first line), in order.
    fn received(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(p).unwrap();
                let end = bytes.windows(2).position(|w| w == b"\r\n").unwrap();
                let rcpt = String::from_utf8_lossy(&bytes[..end])
                    .trim_start_matches("X-Sink-Rcpt: ")
                    .to_owned();
                (rcpt, bytes[end + 2..].to_vec())
            })
            .collect()
    }

    fn rcpt_log(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(dir.join("rcpt.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    const RULES: &str = "  - name: speed
    description: Sales makes a first attempt on 90% of MQLs within the hour.
    kind: percent_worked
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    respond_within: 1h
    target: 0.9
    alert: { notify: [ok@acme.example, reject-me@acme.example, later-me@acme.example] }
";

    /// The server is down when the breach fires: the mails wait in the outbox
    /// and the daemon stops with them pending. The server comes up, the
    /// daemon starts again and delivers each exactly once: `ok@` at once,
    /// `later-me@` after a 451 and a retry; `reject-me@` gets a 550 and is not
    /// tried again.
    #[tokio::test]
    async fn a_real_smtp_server_receives_refuses_and_comes_up_late() {
        let db = TestDb::sqlite().await;
        load(&db, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
        let dir = rules_dir(RULES);
        let got = tempfile::tempdir().unwrap();
        let port = free_port();
        let url = format!("smtp://127.0.0.1:{port}");
        let at = utc("2026-11-20T12:00:00Z");
        let opts = || handoff::daemon::Options {
            mail: Some(mail_options(
                Transport::new(Some(&url), Path::new("unused")).unwrap(),
            )),
            ..options(at)
        };

        let run = start(&db, dir.path(), opts()).await;
        eventually("a refused connection", || async {
            let (_, scrape) = http(run.addr, "GET", "/metrics", None).await;
            sample(
                &scrape,
                "handoff_notifications_failed_total",
                &[("reason", "temporary")],
            )
            .is_some_and(|n| n >= 1.0)
        })
        .await;
        let pending = db.store.pending_mail().await.unwrap();
        assert_eq!(pending.len(), 3, "decided and saved before any delivery");
        let (_, scrape) = http(run.addr, "GET", "/metrics", None).await;
        assert_eq!(sample(&scrape, "handoff_outbox_pending", &[]), Some(3.0));
        run.stop().await;

        let _server = sink(port, got.path());
        let run = start(&db, dir.path(), opts()).await;
        eventually("two mails received", || async {
            received(got.path()).len() >= 2
        })
        .await;
        // Long enough for more retries, had any been due.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let mails = received(got.path());
        let rcpts: Vec<&str> = mails.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(rcpts, ["ok@acme.example", "later-me@acme.example"]);
        let mut log = rcpt_log(got.path());
        log.sort();
        assert_eq!(
            log,
            [
                "later-me@acme.example",
                "later-me@acme.example",
                "ok@acme.example",
                "reject-me@acme.example",
            ],
            "reject-me was tried once, later-me twice"
        );

        // What arrived is what was decided before the restart, whole.
        let ok = parse(&mails[0].1);
        let decided = pending
            .iter()
            .find(|p| p.receiver == "ok@acme.example")
            .unwrap();
        assert_eq!(ok.message_id(), Some(decided.id.as_str()));
        assert_eq!(to(&ok), "ok@acme.example");
        assert_eq!(
            ok.from().and_then(|a| a.first()).and_then(|a| a.address()),
            Some("handoff@acme.example")
        );
        assert_eq!(
            ok.subject(),
            Some("[handoff] BREACHED speed: 50% worked in 1h, target 90%")
        );
        assert_eq!(in_reply_to(&ok), None, "the first mail of its thread");
        assert_eq!(
            ok.header("Auto-Submitted").and_then(|h| h.as_text()),
            Some("auto-generated")
        );
        let text = ok.body_text(0).unwrap();
        let html = ok.body_html(0).unwrap();
        assert!(
            text.contains("Missed the deadline: 2 (of which 2 never attempted)"),
            "{text}"
        );
        assert!(
            html.contains("Missed the deadline") && html.contains("W3"),
            "{html}"
        );

        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM handoff_outbox WHERE state = 'sent'"
            )
            .await,
            2
        );
        let failed = db
            .counts("SELECT COUNT(*) FROM handoff_outbox WHERE state = 'failed' AND last_error LIKE '%550%'")
            .await;
        assert_eq!(failed[0][0], Some(1), "the 550 is kept with its code");
        let (_, scrape) = http(run.addr, "GET", "/metrics", None).await;
        assert_eq!(
            sample(
                &scrape,
                "handoff_notifications_failed_total",
                &[("reason", "permanent")]
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &scrape,
                "handoff_notifications_total",
                &[("kind", "firing")]
            ),
            Some(2.0)
        );
        assert_eq!(sample(&scrape, "handoff_outbox_pending", &[]), Some(0.0));
        let v = get_json(run.addr, "/api/v1/alerts").await;
        assert!(v.to_string().contains("speed"), "{v}");
        run.stop().await;
    }

    /// The review of November (docs/REVIEW.md) goes to both teams and the
    /// trend notice of speed (40 points down) to its owner, through a real
    /// SMTP server, once: a restart and a reload of changed rules tell
    /// nothing again.
    #[tokio::test]
    async fn the_review_and_a_trend_reach_a_real_smtp_server_once() {
        let db = TestDb::sqlite().await;
        crate::review::load(&db).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sla.yaml"), crate::review::RULES).unwrap();
        let got = tempfile::tempdir().unwrap();
        let port = free_port();
        let _server = sink(port, got.path());
        let url = format!("smtp://127.0.0.1:{port}");
        // Monday 7 December: the review of November was due on Tuesday 1
        // December at 09:00 (the first business day).
        let at = utc("2026-12-07T12:00:00Z");
        let opts = || handoff::daemon::Options {
            mail: Some(mail_options(
                Transport::new(Some(&url), Path::new("unused")).unwrap(),
            )),
            ..options(at)
        };
        let review_mail = || -> Vec<(String, String, String)> {
            let mut v: Vec<_> = received(got.path())
                .iter()
                .map(|(rcpt, bytes)| {
                    let m = parse(bytes);
                    (
                        rcpt.clone(),
                        m.message_id().unwrap_or_default().to_owned(),
                        m.subject().unwrap_or_default().to_owned(),
                    )
                })
                .filter(|(_, id, _)| id.starts_with("review.") || id.starts_with("trend."))
                .collect();
            v.sort();
            v
        };
        let run = start(&db, dir.path(), opts()).await;
        eventually("the review and the trend received", || async {
            review_mail().len() >= 3
        })
        .await;
        let first = review_mail();
        let heads: Vec<(&str, &str)> = first
            .iter()
            .map(|(r, _, s)| (r.as_str(), s.as_str()))
            .collect();
        assert_eq!(
            heads,
            [
                (
                    "marketing@acme.example",
                    "[handoff] Review of November 2026: 3 promises met, 2 missed"
                ),
                (
                    "sales@acme.example",
                    "[handoff] Review of November 2026: 3 promises met, 2 missed"
                ),
                (
                    "sales@acme.example",
                    "[handoff] TREND speed (all): 60% in November 2026, -40 pts against 100%"
                ),
            ]
        );
        let bytes = &received(got.path())
            .into_iter()
            .find(|(r, b)| {
                r == "sales@acme.example"
                    && parse(b)
                        .message_id()
                        .is_some_and(|id| id.starts_with("review."))
            })
            .unwrap()
            .1;
        let m = parse(bytes);
        let html = m.body_html(0).unwrap();
        let text = m.body_text(0).unwrap();
        assert!(html.contains("<h1>Review of November 2026</h1>"), "{html}");
        assert!(
            text.contains("Met: volume, acceptance, economics. Missed: speed, persistence."),
            "{text}"
        );
        eventually("recorded as sent", || async {
            count(
                &db,
                "SELECT COUNT(*) FROM handoff_outbox WHERE kind IN ('review', 'trend') AND state = 'sent'",
            )
            .await
                == 3
        })
        .await;
        let (_, scrape) = http(run.addr, "GET", "/metrics", None).await;
        assert_eq!(
            sample(
                &scrape,
                "handoff_notifications_total",
                &[("kind", "review")]
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(
                &scrape,
                "handoff_period_met",
                &[("objective", "speed"), ("group", "all")]
            ),
            Some(0.0)
        );
        run.stop().await;

        // Started again, then the rules edited and reloaded: the review is
        // worked out afresh, and nobody is told again.
        let run = start(&db, dir.path(), opts()).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        std::fs::write(
            dir.path().join("sla.yaml"),
            crate::review::RULES.replace(
                "    lookback: 60d\n",
                "    description: Where calls stop paying.\n    lookback: 60d\n",
            ),
        )
        .unwrap();
        run.daemon.reload("SIGHUP").await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        run.stop().await;
        assert_eq!(review_mail(), first, "nothing told twice");
        let decided = db
            .counts("SELECT COUNT(*) FROM handoff_outbox WHERE kind IN ('review', 'trend')")
            .await;
        assert_eq!(decided[0][0], Some(3), "no mail decided twice");
    }

    /// Lead notices (docs/LEADS.md) reach a real SMTP server from the
    /// binary, one digest per receiver; killed with SIGKILL once they are
    /// recorded as sent and started again, the daemon tells nothing twice.
    #[tokio::test]
    async fn lead_digests_reach_a_real_smtp_server_and_nothing_twice_after_sigkill() {
        use chrono::{TimeDelta, Utc};
        use handoff::model::{Lead, Rep, Table};
        use handoff::store::UpsertColumns;

        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::sqlite_at(&dir.path().join("leads.db")).await;
        let now = Utc::now();
        let ago = |m: i64| now - TimeDelta::minutes(m);
        let rep = |id: &str, name: &str, email: Option<&str>| Rep {
            id: id.into(),
            name: name.into(),
            email: email.map(str::to_owned),
            team: Some("floor".into()),
        };
        let lead = |id: &str, minutes_ago: i64, owner: Option<&str>| {
            let mut l = Lead::new(id, ago(minutes_ago));
            l.mql_at = Some(ago(minutes_ago));
            l.owner_id = owner.map(str::to_owned);
            l.channel = Some("webinar".into());
            l
        };
        let mut tx = db.store.begin().await.unwrap();
        tx.upsert(
            &UpsertColumns::all(Table::Reps),
            &[
                rep("R1", "Ana", Some("ana@acme.example")),
                rep("R2", "Bo", Some("bo@acme.example")),
                // No address, and `floor` is no team of the rules: nobody to tell.
                rep("R3", "Cy", None),
            ],
        )
        .await
        .unwrap();
        // 1 h to the first attempt, a reminder at half of it, overdue told
        // for 24 h. L1: new (Ana). L2: 40 min old, past the reminder, never
        // told (Ana: one line, the reminder). L3: 90 min old, overdue: Bo is
        // told it is his and late, the managers that it is overdue. L4: no
        // owner, overdue (the managers). L5: overdue for more than a day
        // (nobody). L6: Cy's, who has no address (nobody).
        tx.upsert(
            &UpsertColumns::all(Table::Leads),
            &[
                lead("L1", 5, Some("R1")),
                lead("L2", 40, Some("R1")),
                lead("L3", 90, Some("R2")),
                lead("L4", 100, None),
                lead("L5", 30 * 60, Some("R1")),
                lead("L6", 10, Some("R3")),
            ],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let rules = rules_dir(
            "  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    respond_within: 1h
    target: 0.9
    notify_reps: { on_handoff: true, before_deadline: 50%, overdue: [managers@acme.example] }
",
        );
        let got = tempfile::tempdir().unwrap();
        let port = free_port();
        let _server = sink(port, got.path());
        let smtp = format!("smtp://127.0.0.1:{port}");
        let spawn = || {
            crate::helpers::handoff()
                .args(["--database", &db.url, "--rules"])
                .arg(rules.path())
                .args(["run", "--listen", "127.0.0.1:0", "--group-wait", "0"])
                .args(["--lead-scan-every", "1", "--smtp-url", &smtp])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let leads_received = || -> Vec<(String, String, String)> {
            received(got.path())
                .iter()
                .map(|(rcpt, bytes)| {
                    let m = parse(bytes);
                    (
                        rcpt.clone(),
                        m.message_id().unwrap_or_default().to_owned(),
                        m.subject().unwrap_or_default().to_owned(),
                    )
                })
                .filter(|(_, id, _)| id.starts_with("handoff.leads."))
                .collect()
        };
        let mut child = spawn();
        let start = std::time::Instant::now();
        loop {
            let sent = db
                .counts("SELECT COUNT(*) FROM handoff_outbox WHERE kind = 'lead_notice' AND state = 'sent'")
                .await;
            if leads_received().len() >= 3 && sent[0][0] == Some(3) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "three digests sent and recorded: {:?}",
                leads_received()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let mut mails = leads_received();
        mails.sort();
        let heads: Vec<(&str, &str)> = mails
            .iter()
            .map(|(r, _, s)| (r.as_str(), s.as_str()))
            .collect();
        assert_eq!(heads.len(), 3, "{heads:?}");
        assert_eq!(heads[0].0, "ana@acme.example");
        assert!(
            heads[0]
                .1
                .starts_with("[handoff] 2 MQLs to call: 1 new, 1 due soon; the first due by "),
            "{heads:?}"
        );
        assert_eq!(heads[1].0, "bo@acme.example");
        assert!(
            heads[1]
                .1
                .starts_with("[handoff] MQL L3 (webinar) is yours and past its deadline"),
            "{heads:?}"
        );
        assert_eq!(
            heads[2],
            (
                "managers@acme.example",
                "[handoff] 2 MQLs overdue for speed: untried past their first-attempt deadline"
            )
        );
        let told = db.counts("SELECT COUNT(*) FROM handoff_lead_notices").await;
        // Ana: L1 hand-off, L2 reminder and hand-off; Bo: L3 hand-off; the
        // managers: L3 and L4 overdue.
        assert_eq!(told[0][0], Some(6));

        // Started again: three more scans, and nothing is told again.
        let mut child = spawn();
        tokio::time::sleep(Duration::from_secs(4)).await;
        let _ = child.kill();
        let _ = child.wait();
        let mut again = leads_received();
        again.sort();
        assert_eq!(again, mails, "nothing told twice after SIGKILL");
    }
}

// ------------------------------------------------------------ the snapshots

/// One mail of each kind, rendered from the shipped rules and hand-made
/// figures, compared with the reviewed copies in `tests/snapshots/mail/`
/// (text and HTML). After a deliberate change of the templates, write them
/// anew with `HANDOFF_UPDATE_SNAPSHOTS=1 cargo test snapshots` and review the
/// difference.
#[test]
fn each_kind_of_mail_reads_as_reviewed() {
    use handoff::eval::{
        AttemptsDetails, Details, Failure, FailureReason, GroupResult, LateLead, NamedLead,
        OverdueLead, RepAttempts, RepWorked, Status, VolumeDetails, WorkedDetails,
    };
    use handoff::mail::render::{MailKind, Notice};

    // Tests run in the crate's directory: the rule file is named as a user
    // running from the repository would see it.
    let rules = handoff::rules::load_dir(Path::new("rules")).unwrap_or_else(|e| panic!("{e}"));
    let objective = |name: &str| rules.objectives().iter().find(|o| o.name == name).unwrap();
    let templates = Templates::load(None).unwrap();
    let t = utc;

    // speed-to-lead, webinar: 31 of 40 due MQLs worked within 4 business hours;
    // of the 9 late, 4 were never tried: 2 of them still open (to call now),
    // 2 closed. Bo Lind has 7 of the misses, Ana Ruiz 1, nobody's lead 1.
    let late: Vec<LateLead> = (1..=3)
        .map(|i| LateLead {
            deadline: t(&format!("2026-11-1{i}T18:00:00Z")),
            first_attempt_seconds: if i == 2 {
                None
            } else {
                Some(f64::from(i) * 5.0 * 3600.0)
            },
            id: format!("L-10{i}"),
            mql_at: t(&format!("2026-11-1{i}T14:00:00Z")),
            owner: Some(if i == 3 {
                "rep-ana".to_owned()
            } else {
                "rep-bo".to_owned()
            }),
            owner_name: Some(if i == 3 { "Ana Ruiz" } else { "Bo Lind" }.to_owned()),
        })
        .collect();
    // Measured Friday 20 Nov 10:05 EST. L-201, handed over Thursday 11:00,
    // was due at 15:00: 2 h on Thursday and 1 h 05 on Friday overdue. L-202,
    // handed over at 13:30, was due Friday 09:30: 35 min overdue.
    let overdue = |id: &str, mql: &str, due: &str, secs: f64| OverdueLead {
        deadline: t(due),
        id: id.to_owned(),
        mql_at: t(mql),
        overdue_seconds: secs,
        owner: Some("rep-bo".to_owned()),
        owner_name: Some("Bo Lind".to_owned()),
    };
    let rep =
        |id: Option<&str>, name: Option<&str>, (eligible, worked, late, never, open)| RepWorked {
            eligible,
            late,
            name: name.map(str::to_owned),
            never_attempted: never,
            overdue_open: open,
            rep: id.map(str::to_owned),
            worked,
        };
    let speed = GroupResult {
        denominator: Some(40.0),
        details: Details::PercentWorked(WorkedDetails {
            by_rep: vec![
                rep(Some("rep-bo"), Some("Bo Lind"), (20, 13, 7, 3, 2)),
                rep(Some("rep-ana"), Some("Ana Ruiz"), (18, 17, 1, 0, 0)),
            ],
            eligible: 40,
            late: 9,
            late_leads: late,
            never_attempted: 4,
            overdue_open: 2,
            overdue_leads: vec![
                overdue(
                    "L-201",
                    "2026-11-19T16:00:00Z",
                    "2026-11-19T20:00:00Z",
                    11_100.0,
                ),
                overdue(
                    "L-202",
                    "2026-11-19T18:30:00Z",
                    "2026-11-20T14:30:00Z",
                    2_100.0,
                ),
            ],
            p50_seconds: Some(2.5 * 3600.0),
            p90_seconds: Some(9.0 * 3600.0),
            response_seconds_sum: 0.0,
            unassigned: Some(rep(None, None, (2, 1, 1, 1, 0))),
            window_start: t("2026-10-23T14:00:00Z"),
            worked: 31,
        }),
        group: "webinar".to_owned(),
        group_name: None,
        numerator: Some(31.0),
        status: Status::Breached,
        target: Some(0.9),
        value: Some(0.775),
    };
    // A lead_volume result: `delivered` of `target`, `elapsed` of the month
    // (from `start` to `end`) gone by.
    let volume_of =
        |group: &str, delivered: u64, target: f64, elapsed: f64, start: &str, end: &str| {
            let expected = target * elapsed;
            GroupResult {
                denominator: None,
                details: Details::LeadVolume(VolumeDetails {
                    attainment: Some(delivered as f64 / target),
                    delivered,
                    elapsed: Some(elapsed),
                    expected: Some(expected),
                    pace: Some(delivered as f64 / expected),
                    period_end: t(end),
                    window_start: t(start),
                }),
                group: group.to_owned(),
                group_name: None,
                numerator: None,
                status: Status::AtRisk,
                target: Some(target),
                value: Some(delivered as f64),
            }
        };
    // mql-volume, paid_search: 61 of 150 when 73.575 were expected.
    let volume = volume_of(
        "paid_search",
        61,
        150.0,
        0.4905,
        "2026-11-01T04:00:00Z",
        "2026-12-01T05:00:00Z",
    );
    // persistence: back to 92% (23 of 25).
    let persistence = GroupResult {
        denominator: Some(25.0),
        details: Details::ContactAttempts(AttemptsDetails {
            abandoned: 25,
            by_rep: vec![RepAttempts {
                abandoned: 10,
                name: Some("Cy Moss".to_owned()),
                rep: Some("rep-cy".to_owned()),
                violating: 2,
            }],
            compliant: 23,
            min_attempts: 6,
            unassigned: None,
            violating_leads: vec![NamedLead {
                attempts: 2,
                closed_at: t("2026-11-18T21:30:00Z"),
                id: "L-77".to_owned(),
                owner: Some("rep-cy".to_owned()),
                owner_name: Some("Cy Moss".to_owned()),
            }],
            violations: 2,
            window_start: t("2026-10-23T14:00:00Z"),
        }),
        group: "all".to_owned(),
        group_name: None,
        numerator: Some(23.0),
        status: Status::Ok,
        target: Some(0.9),
        value: Some(0.92),
    };
    // October for webinar: 118 of 150, closed.
    let october = volume_of(
        "webinar",
        118,
        150.0,
        1.0,
        "2026-10-01T04:00:00Z",
        "2026-11-01T04:00:00Z",
    );
    let down = Failure {
        message: "connecting to the database: Connection refused (os error 111)".to_owned(),
        reason: FailureReason::DatabaseUnreachable,
    };

    let base = Notice {
        kind: MailKind::Breach,
        repeat: false,
        changed_from: None,
        objective: Some(objective("speed-to-lead")),
        group: "webinar",
        result: Some(&speed),
        measured_at: Some(t("2026-11-20T15:05:00Z")),
        since: Some(t("2026-11-19T20:35:00Z")),
        fired_at: Some(t("2026-11-19T21:05:00Z")),
        resolved_at: None,
        resolved_status: None,
        period: None,
        failing: Vec::new(),
        latest: None,
        latest_measured_at: None,
        held_until: None,
        changes: Vec::new(),
        statuses: Vec::new(),
        database: "postgres://handoff:***@db.acme.example/crm",
        receiver: "sales-managers@acme.example",
        external_url: Some("https://handoff.acme.example"),
        ack: None,
    };
    // speed-to-lead, webinar, 40 minutes later: 37 of 40 (92.5%) meet the 90%
    // target again; the alert is held by keep_firing_for.
    let mut speed_now = speed.clone();
    speed_now.numerator = Some(37.0);
    speed_now.value = Some(0.925);
    speed_now.status = Status::Ok;
    let cases = [
        ("breach", base.clone()),
        (
            "breach_held",
            Notice {
                latest: Some(&speed_now),
                latest_measured_at: Some(t("2026-11-20T15:45:00Z")),
                held_until: Some(t("2026-11-20T16:45:00Z")),
                ..base.clone()
            },
        ),
        (
            // With --ack-secret: the link that stops the reminders.
            "breach_ack",
            Notice {
                ack: Some(
                    "https://handoff.acme.example/ack?o=speed-to-lead&g=webinar&e=1795640700000000&s=0f1e2d3c4b5a69788796a5b4c3d2e1f0"
                        .to_owned(),
                ),
                ..base.clone()
            },
        ),
        (
            "sla_changed",
            Notice {
                kind: MailKind::SlaChanged,
                group: "",
                result: None,
                since: None,
                fired_at: None,
                measured_at: Some(t("2026-11-20T15:06:00Z")),
                changes: vec![
                    "target.webinar: 90% → 85%".to_owned(),
                    "was written at rules/acme.yaml:92".to_owned(),
                ],
                statuses: vec![
                    (
                        "webinar".to_owned(),
                        "webinar — breached: 77.5% worked within 4h, target 85.0%".to_owned(),
                    ),
                    (
                        "events".to_owned(),
                        "events — ok: 96.0% worked within 4h, target 90.0%".to_owned(),
                    ),
                ],
                ..base.clone()
            },
        ),
        (
            "at_risk",
            Notice {
                kind: MailKind::AtRisk,
                objective: Some(objective("mql-volume")),
                group: "paid_search",
                result: Some(&volume),
                since: Some(t("2026-11-20T14:00:00Z")),
                fired_at: Some(t("2026-11-20T14:00:00Z")),
                receiver: "marketing-lead@acme.example",
                ..base.clone()
            },
        ),
        (
            "resolved",
            Notice {
                kind: MailKind::Resolved,
                objective: Some(objective("persistence")),
                group: "all",
                result: Some(&persistence),
                since: None,
                fired_at: Some(t("2026-11-16T13:00:00Z")),
                resolved_at: Some(t("2026-11-20T13:00:00Z")),
                resolved_status: Some("breached"),
                ..base.clone()
            },
        ),
        (
            "period_missed",
            Notice {
                kind: MailKind::PeriodMissed,
                objective: Some(objective("mql-volume")),
                group: "webinar",
                result: Some(&october),
                measured_at: Some(t("2026-11-01T04:00:00Z")),
                since: None,
                fired_at: None,
                period: Some((t("2026-10-01T04:00:00Z"), t("2026-11-01T04:00:00Z"))),
                receiver: "marketing-lead@acme.example",
                ..base.clone()
            },
        ),
        (
            "evaluation_failing",
            Notice {
                kind: MailKind::EvaluationFailing,
                objective: None,
                group: "database",
                result: None,
                measured_at: None,
                since: Some(t("2026-11-20T15:00:00Z")),
                fired_at: Some(t("2026-11-20T15:00:00Z")),
                failing: vec![
                    (objective("speed-to-lead"), Some(&down)),
                    (objective("mql-volume"), Some(&down)),
                ],
                ..base.clone()
            },
        ),
    ];
    let mut wrong = Vec::new();
    for (name, notice) in cases {
        let r = templates.render(&notice).unwrap();
        let text = format!("Subject: {}\n\n{}", r.subject, r.text);
        wrong.extend(snapshot(&format!("{name}.txt"), &text));
        wrong.extend(snapshot(&format!("{name}.html"), &r.html));
    }
    assert!(
        wrong.is_empty(),
        "mail differs from the reviewed snapshots (HANDOFF_UPDATE_SNAPSHOTS=1 writes them anew):\n{}",
        wrong.join("\n")
    );
}

/// Compares `got` with the reviewed copy `tests/snapshots/mail/{file}`: what
/// differs, at its first line; nothing when equal. With
/// `HANDOFF_UPDATE_SNAPSHOTS` set, writes `got` as the reviewed copy.
pub(crate) fn snapshot(file: &str, got: &str) -> Option<String> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/mail"));
    let path = dir.join(file);
    if std::env::var_os("HANDOFF_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(&path, got).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if want == got {
        return None;
    }
    let line = want
        .lines()
        .zip(got.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(want.lines().count().min(got.lines().count()));
    Some(format!(
        "{file}, line {}:\n  reviewed: {:?}\n  now:      {:?}",
        line + 1,
        want.lines().nth(line).unwrap_or(""),
        got.lines().nth(line).unwrap_or("")
    ))
}

/// Mail settings that cannot work stop `run` before it touches the database,
/// saying what to write instead.
#[test]
fn bad_mail_settings_stop_the_daemon_at_start_with_what_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/never.db", dir.path().display());
    let templates = dir.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(templates.join("breach.txt.j2"), "{% if %}\n").unwrap();
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    for (args, says) in [
        (
            vec!["--smtp-url", "smtp://mail.acme.example:587?tls=yes"],
            "smtp://HOST:PORT?tls=required",
        ),
        (vec!["--smtp-url", "mail.acme.example"], "not a URL"),
        (vec!["--mail-from", "handoff at acme"], "is not a sender"),
        (
            vec!["--templates-dir", templates.to_str().unwrap()],
            "breach.txt.j2: line 1",
        ),
        (
            vec!["--external-url", "handoff.acme.example"],
            "http:// or https://",
        ),
    ] {
        let out = crate::helpers::handoff()
            .args([
                "--database",
                &db,
                "--rules",
                rules,
                "run",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stderr.contains("cannot start"), "{args:?}: {stderr}");
    }
    assert!(
        !dir.path().join("never.db").exists(),
        "the database was not touched"
    );
}
