//! Silences and acknowledgements over HTTP (docs/CHANNELS.md):
//! `POST/GET /api/v1/silences`, `DELETE /api/v1/silences/{id}`, and the
//! confirm page behind an acknowledgement link (`GET/POST /ack`).
//!
//! Both live in the database (`handoff_silences`, `handoff_acks`): what the
//! API or `handoff silence` writes there, the daemon reads back every
//! [`POLL_EVERY`] (at once after its own API's writes), so that the command
//! line and other daemons on the same database are heard too.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::json;

use super::State as AlertState;
use super::acks::Episode;
use super::page::esc;
use super::{Daemon, Input};
use crate::codes::{Code, Severity};
use crate::rules::RuleSet;
use crate::store::{AckRow, Journal, SilenceRow};

/// How long after its end a silence is still listed.
pub const SILENCES_SHOWN_FOR: TimeDelta = TimeDelta::days(7);

/// How often the daemon reads silences and acknowledgements back.
pub const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// A silence to make, as the API and `handoff silence add` take it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    #[serde(default)]
    pub matchers: Matchers,
    /// Default: now.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub comment: Option<String>,
}

/// What a silence matches; a matcher left out matches every value.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matchers {
    pub objective: Option<String>,
    pub group: Option<String>,
    /// `critical` or `warning`.
    pub severity: Option<String>,
}

impl NewSilence {
    /// The silence to store, checked against the rules: an objective the
    /// rules do not have is refused (a typo would silence nothing).
    ///
    /// # Errors
    ///
    /// What is wrong, in a sentence.
    pub fn check(self, rules: &RuleSet, now: DateTime<Utc>) -> Result<SilenceRow, String> {
        let text = |v: Option<String>, what: &str, max: usize| -> Result<String, String> {
            let v = v.map(|s| s.trim().to_owned()).unwrap_or_default();
            if v.is_empty() {
                return Err(format!("say {what}"));
            }
            if v.chars().count() > max {
                return Err(format!("{what} is too long (at most {max} characters)"));
            }
            Ok(v)
        };
        let created_by = text(self.created_by, "who silences (created_by)", 200)?;
        let comment = text(self.comment, "why (comment)", 1000)?;
        let m = self.matchers;
        if m.group.as_ref().is_some_and(|g| g.chars().count() > 200) {
            return Err("the group is too long (at most 200 characters)".to_owned());
        }
        let objective = m.objective.filter(|o| !o.is_empty());
        if let Some(o) = &objective
            && rules.objective(o).is_none()
        {
            let names: Vec<&str> = rules.objectives().iter().map(|o| o.name.as_str()).collect();
            return Err(format!(
                "there is no objective `{o}`; the rules have: {}",
                names.join(", ")
            ));
        }
        let severity =
            match m.severity.as_deref().filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => Some(Severity::parse(s).ok_or_else(|| {
                    format!("severity `{s}` is not one: write critical or warning")
                })?),
            };
        let starts_at = self.starts_at.unwrap_or(now);
        let Some(ends_at) = self.ends_at else {
            return Err("say when the silence ends (ends_at)".to_owned());
        };
        if ends_at <= starts_at {
            return Err("the silence ends before it starts".to_owned());
        }
        if ends_at <= now {
            return Err("the silence would already be over".to_owned());
        }
        Ok(SilenceRow {
            id: new_id(),
            objective,
            group: m.group.filter(|g| !g.is_empty()),
            severity,
            starts_at,
            ends_at,
            created_by,
            comment,
            created_at: now,
            updated_at: now,
        })
    }
}

/// What expiring a silence found.
pub enum Expired {
    /// No silence has that id (or it ended more than 7 days ago).
    Unknown,
    AlreadyEnded(SilenceRow),
    /// Ended now, as saved.
    Ended(SilenceRow),
}

/// Ends the silence `id` at `now` in `store` (the API's `DELETE` and
/// `handoff silence expire`).
///
/// # Errors
///
/// The database could not be read or written.
pub async fn expire_silence(
    store: &crate::store::Store,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Expired, crate::store::StoreError> {
    let all = store.silences(now - SILENCES_SHOWN_FOR).await?;
    let Some(mut s) = all.into_iter().find(|s| s.id == id) else {
        return Ok(Expired::Unknown);
    };
    if s.ends_at <= now {
        return Ok(Expired::AlreadyEnded(s));
    }
    s.ends_at = now;
    s.starts_at = s.starts_at.min(now);
    s.updated_at = now;
    store
        .record(&Journal {
            silences: vec![s.clone()],
            ..Journal::default()
        })
        .await?;
    Ok(Expired::Ended(s))
}

/// A new silence id: 16 hex digits, random.
pub fn new_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", h.finish())
}

/// `active`, `pending` (starts later) or `expired`.
pub fn silence_state(s: &SilenceRow, now: DateTime<Utc>) -> &'static str {
    if s.ends_at <= now {
        "expired"
    } else if s.starts_at > now {
        "pending"
    } else {
        "active"
    }
}

/// A silence as the API shows it.
pub fn silence_json(s: &SilenceRow, now: DateTime<Utc>) -> serde_json::Value {
    json!({
        "id": s.id,
        "matchers": {
            "objective": s.objective,
            "group": s.group,
            "severity": s.severity.map(Code::as_str),
        },
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "created_by": s.created_by,
        "comment": s.comment,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "state": silence_state(s, now),
    })
}

/// What a silence matches, in words: `speed-to-lead, group webinar,
/// critical`, or `everything`.
pub fn matchers_text(s: &SilenceRow) -> String {
    let mut parts = Vec::new();
    parts.extend(s.objective.clone());
    parts.extend(s.group.as_ref().map(|g| format!("group {g}")));
    parts.extend(s.severity.map(|v| v.as_str().to_owned()));
    if parts.is_empty() {
        "every alert".to_owned()
    } else {
        parts.join(", ")
    }
}

fn error(code: StatusCode, message: &str) -> Response {
    (code, axum::Json(json!({ "error": message }))).into_response()
}

impl Daemon {
    /// Reads silences and acknowledgements back from the database, for the
    /// engine.
    ///
    /// # Errors
    ///
    /// The database could not be read.
    pub async fn read_holds(&self) -> Result<(), crate::store::StoreError> {
        let now = self.now();
        let silences = self.store.silences(now - SILENCES_SHOWN_FOR).await?;
        let acks = self.store.acks().await?;
        let mut engine = self.engine();
        engine.handle(Input::Silences(silences));
        engine.handle(Input::Acks(acks));
        drop(engine);
        self.mail_wake.notify_one();
        Ok(())
    }

    /// Reads silences and acknowledgements back every [`POLL_EVERY`] until
    /// stop; a failed read keeps what was read before and says so.
    pub(super) async fn holds_loop(self: Arc<Self>) {
        let mut failing = false;
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep(POLL_EVERY) => {}
            }
            match self.read_holds().await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("Silences and acknowledgements are read again.");
                }
                Ok(()) => {}
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "Silences and acknowledgements could not be read; the last ones read stay in force.");
                }
                Err(_) => {}
            }
        }
    }
}

/// `GET /api/v1/silences`: silences in force, to come, and ended in the
/// last 7 days, newest first.
pub async fn list(State(d): State<Arc<Daemon>>) -> Response {
    let now = d.now();
    let board = d.board();
    let list: Vec<serde_json::Value> = board
        .silences
        .iter()
        .map(|s| silence_json(s, now))
        .collect();
    axum::Json(json!({ "silences": list })).into_response()
}

/// `POST /api/v1/silences` (admin token).
pub async fn add(
    State(d): State<Arc<Daemon>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = super::http::authorized(&d, &headers) {
        return *r;
    }
    let new: NewSilence = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "the silence is not valid JSON of the expected shape: {e}; send {{\"matchers\": {{\"objective\": …, \"group\": …, \"severity\": …}}, \"ends_at\": \"2026-12-08T09:00:00Z\", \"created_by\": …, \"comment\": …}}"
                ),
            );
        }
    };
    let now = d.now();
    let row = match new.check(&d.rules(), now) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    if let Err(e) = d
        .store
        .record(&Journal {
            silences: vec![row.clone()],
            ..Journal::default()
        })
        .await
    {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the silence could not be saved: {e}"),
        );
    }
    tracing::info!(id = %row.id, matches = %matchers_text(&row), until = %row.ends_at, by = %row.created_by, comment = %row.comment, "Silence added.");
    if let Err(e) = d.read_holds().await {
        tracing::warn!(error = %e, "The silence was saved but could not be read back; it takes effect at the next read.");
    }
    (StatusCode::CREATED, axum::Json(silence_json(&row, now))).into_response()
}

/// `DELETE /api/v1/silences/{id}` (admin token): expires the silence now.
pub async fn expire(
    State(d): State<Arc<Daemon>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = super::http::authorized(&d, &headers) {
        return *r;
    }
    let now = d.now();
    let s = match expire_silence(&d.store, &id, now).await {
        Ok(Expired::Ended(s)) => s,
        Ok(Expired::AlreadyEnded(s)) => return axum::Json(silence_json(&s, now)).into_response(),
        Ok(Expired::Unknown) => {
            return error(
                StatusCode::NOT_FOUND,
                &format!("there is no silence `{id}`"),
            );
        }
        Err(e) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("the silence could not be expired: {e}"),
            );
        }
    };
    tracing::info!(id = %s.id, matches = %matchers_text(&s), "Silence expired.");
    if let Err(e) = d.read_holds().await {
        tracing::warn!(error = %e, "The silence was expired but could not be read back; it takes effect at the next read.");
    }
    axum::Json(silence_json(&s, now)).into_response()
}

/// The query of an acknowledgement link, and the confirm form's fields.
#[derive(Clone, Debug, Deserialize)]
pub struct AckLink {
    o: String,
    g: String,
    e: i64,
    s: String,
    /// Who acknowledges (the form's field).
    #[serde(default)]
    by: Option<String>,
}

/// Where an episode stands now, for the confirm page.
enum Standing {
    /// Firing at this severity since then, with its latest summary.
    Firing(Severity, String),
    /// Not firing any more (resolved, or another episode fired since).
    Over,
}

fn standing(d: &Daemon, e: &Episode) -> Standing {
    let board = d.board();
    let Some(entry) = board.entries.get(&e.objective) else {
        return Standing::Over;
    };
    match entry.series.get(&e.group) {
        Some(s) if s.state == AlertState::Firing && s.fired_at == Some(e.fired_at) => {
            let summary = entry
                .latest
                .get(&e.group)
                .map(|l| l.summary.clone())
                .unwrap_or_default();
            Standing::Firing(s.severity.unwrap_or(Severity::Critical), summary)
        }
        _ => Standing::Over,
    }
}

/// `speed-to-lead (webinar)`, or `speed-to-lead` for an objective not split
/// into groups; escaped for HTML.
fn series_name(e: &Episode) -> String {
    match e.group.as_str() {
        "" | "all" => esc(&e.objective),
        g => format!("{} ({})", esc(&e.objective), esc(g)),
    }
}

fn status_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "breached",
        Severity::Warning => "at risk",
    }
}

/// The page around an acknowledgement's message: no script, one form that
/// posts back here.
fn ack_page(code: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} · handoff</title><style>\
body{{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;background:#f3f4f6;color:#111827;margin:0;padding:16px;line-height:1.45}}\
main{{max-width:560px;margin:24px auto;background:#fff;border-radius:8px;padding:20px}}\
h1{{font-size:20px;margin:0 0 12px}}label{{display:block;margin:12px 0 4px;font-weight:600}}\
input[type=text]{{width:100%;box-sizing:border-box;padding:8px;font-size:16px;border:1px solid #9ca3af;border-radius:6px}}\
button{{margin-top:12px;background:#1f2937;color:#fff;border:0;border-radius:6px;padding:10px 16px;font-size:16px;font-weight:600}}\
.muted{{color:#4b5563}}</style></head><body><main><h1>{t}</h1>{body}\
<p class=\"muted\"><a href=\"./\">Open the status page</a></p></main></body></html>",
        t = esc(title),
    );
    let mut r = (code, Html(html)).into_response();
    // The one page with a form: it may post back to this daemon.
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    r
}

/// The episode a link names, if its signature is the daemon's.
fn verified(d: &Daemon, link: &AckLink) -> Result<Episode, Box<Response>> {
    let bad = || {
        ack_page(
            StatusCode::FORBIDDEN,
            "This link does not acknowledge anything",
            "<p>It was not written by this handoff, it was changed on the way, or the \
             acknowledgement secret changed since it was sent. Open the status page to see \
             where the alert stands.</p>",
        )
    };
    let Some(key) = d.options.mail.as_ref().and_then(|m| m.ack.as_deref()) else {
        return Err(Box::new(ack_page(
            StatusCode::NOT_FOUND,
            "Acknowledgements are off",
            "<p>This handoff was started without <code>--ack-secret</code>.</p>",
        )));
    };
    let Some(fired_at) = DateTime::from_timestamp_micros(link.e) else {
        return Err(Box::new(bad()));
    };
    let e = Episode {
        objective: link.o.clone(),
        group: link.g.clone(),
        fired_at,
    };
    if key.verify(&e, &link.s) {
        Ok(e)
    } else {
        Err(Box::new(bad()))
    }
}

fn when(d: &Daemon, t: DateTime<Utc>) -> String {
    let tz = d.board().timezone;
    crate::mail::render::when(t, tz)
}

/// `GET /ack?o=…&g=…&e=…&s=…`: asks to confirm.
pub async fn ack_confirm(State(d): State<Arc<Daemon>>, Query(link): Query<AckLink>) -> Response {
    let e = match verified(&d, &link) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let name = series_name(&e);
    let existing = d
        .board()
        .ack_of(&e.objective, &e.group, e.fired_at)
        .cloned();
    match standing(&d, &e) {
        Standing::Over => ack_page(
            StatusCode::OK,
            "Nothing to acknowledge",
            &format!(
                "<p>{name}, which fired at {}, is no longer firing. Nothing was recorded.</p>",
                esc(&when(&d, e.fired_at))
            ),
        ),
        Standing::Firing(sev, _) if existing.as_ref().is_some_and(|a| a.severity == sev) => {
            let a = existing.unwrap_or_else(|| unreachable!());
            ack_page(
                StatusCode::OK,
                "Already acknowledged",
                &format!(
                    "<p>{name} was acknowledged by <strong>{}</strong> at {}. No reminders go \
                     while it stays {}; everyone it goes to still hears when its status \
                     changes or it resolves.</p>",
                    esc(&a.acked_by),
                    esc(&when(&d, a.acked_at)),
                    status_word(sev)
                ),
            )
        }
        Standing::Firing(sev, summary) => ack_page(
            StatusCode::OK,
            &format!("Acknowledge {}?", e.objective),
            &format!(
                "<p><strong>{name}</strong> is {} since {}.</p>\
                 <p class=\"muted\">{}</p>\
                 <p>Acknowledging says \"we know\" for everyone it goes to: no reminders go \
                 while it stays {}. You all still hear when it changes or resolves.</p>\
                 <form method=\"post\" action=\"ack\">\
                 <input type=\"hidden\" name=\"o\" value=\"{}\">\
                 <input type=\"hidden\" name=\"g\" value=\"{}\">\
                 <input type=\"hidden\" name=\"e\" value=\"{}\">\
                 <input type=\"hidden\" name=\"s\" value=\"{}\">\
                 <label for=\"by\">Your name</label>\
                 <input type=\"text\" id=\"by\" name=\"by\" required maxlength=\"200\" autocomplete=\"name\">\
                 <button type=\"submit\">Acknowledge</button></form>",
                status_word(sev),
                esc(&when(&d, e.fired_at)),
                esc(&summary),
                status_word(sev),
                esc(&link.o),
                esc(&link.g),
                link.e,
                esc(&link.s),
            ),
        ),
    }
}

/// `POST /ack` (the confirm form): records who and when.
pub async fn ack_record(State(d): State<Arc<Daemon>>, Form(link): Form<AckLink>) -> Response {
    let e = match verified(&d, &link) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let by = link
        .by
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| b.chars().take(200).collect::<String>());
    let Some(by) = by else {
        return ack_page(
            StatusCode::BAD_REQUEST,
            "Say who acknowledges",
            "<p>Go back and fill in your name: the page and the API show who said \"we know\".</p>",
        );
    };
    let Standing::Firing(severity, _) = standing(&d, &e) else {
        return ack_page(
            StatusCode::CONFLICT,
            "Nothing to acknowledge",
            "<p>The alert is no longer firing. Nothing was recorded.</p>",
        );
    };
    let now = d.now();
    let row = AckRow {
        objective: e.objective.clone(),
        group: e.group.clone(),
        episode: e.fired_at,
        severity,
        acked_by: by.clone(),
        acked_at: now,
    };
    if let Some(a) = d
        .board()
        .ack_of(&e.objective, &e.group, e.fired_at)
        .filter(|a| a.severity == severity)
    {
        return ack_page(
            StatusCode::OK,
            "Already acknowledged",
            &format!(
                "<p>{} was acknowledged by <strong>{}</strong> at {}.</p>",
                series_name(&e),
                esc(&a.acked_by),
                esc(&when(&d, a.acked_at))
            ),
        );
    }
    if let Err(err) = d
        .store
        .record(&Journal {
            acks: vec![row.clone()],
            ..Journal::default()
        })
        .await
    {
        return ack_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not recorded",
            &format!(
                "<p>The database did not take the acknowledgement: {}. Try again in a moment.</p>",
                esc(&err.to_string())
            ),
        );
    }
    tracing::info!(objective = %e.objective, group = %e.group, fired_at = %e.fired_at, by = %by, severity = %severity, "Alert acknowledged.");
    d.engine().handle(Input::Acked(Box::new(row)));
    ack_page(
        StatusCode::OK,
        "Acknowledged",
        &format!(
            "<p>{} is acknowledged by <strong>{}</strong> at {}. No reminders go while it \
             stays {}; everyone it goes to still hears when its status changes or it \
             resolves.</p>",
            series_name(&e),
            esc(&by),
            esc(&when(&d, now)),
            status_word(severity)
        ),
    )
}
