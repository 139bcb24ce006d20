//! The HTTP endpoints (docs/DAEMON.md, "HTTP").
//!
//! Reads (`/metrics`, the API, the page) are served from the board in memory;
//! only the history endpoints (an objective's, and the rules' change log) read
//! the database, and only the `handoff_` tables.
//! Write endpoints need the admin token: with none configured they answer 403,
//! with a wrong or missing one 401. The token is compared in constant time and
//! never logged.
//!
//! Every answer carries `X-Content-Type-Options: nosniff` and `Referrer-Policy:
//! no-referrer`; the page also a `Content-Security-Policy` that allows only its
//! inline styles (no script, nothing fetched, no framing). Every error answer
//! is JSON `{"error": …}`, axum's own (a bad query, a wrong method) included,
//! except the plain-text `/-/ready`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::json;

use super::Daemon;
use super::{metrics, view};

type Shared = State<Arc<Daemon>>;

/// The router of every endpoint.
pub fn router(daemon: Arc<Daemon>) -> Router {
    let app = Router::new()
        .route("/", get(index))
        .route("/metrics", get(scrape))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route("/-/reload", post(reload))
        .route("/api/v1/objectives", get(objectives))
        .route("/api/v1/objectives/{name}/history", get(history))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/rules/history", get(rules_history))
        .route("/review", get(review_last))
        .route("/review/{period}", get(review_period))
        .route(
            "/api/v1/silences",
            get(super::holds::list).post(super::holds::add),
        )
        .route(
            "/api/v1/silences/{id}",
            axum::routing::delete(super::holds::expire),
        )
        .route(
            "/ack",
            get(super::holds::ack_confirm).post(super::holds::ack_record),
        )
        .fallback(not_found)
        .with_state(daemon);
    finished(app)
}

/// `app` with [`finish`] around it whole: outside its method routers, so that
/// it sees their answers as they leave (a 405 with its `Allow` header).
fn finished(app: Router) -> Router {
    Router::new()
        .fallback_service(app)
        .layer(axum::middleware::map_response(finish))
}

/// What the daemon is waiting for while it starts.
#[derive(Clone, Debug, Default)]
pub struct Starting(Arc<Mutex<String>>);

impl Starting {
    /// Says why the daemon is not running yet.
    pub fn set(&self, why: &str) {
        why.clone_into(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn why(&self) -> String {
        let why = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if why.is_empty() {
            "connecting to the database".to_owned()
        } else {
            why
        }
    }
}

/// The endpoints while the daemon starts (the database not reached yet):
/// `/-/healthy` answers 200, `/-/ready` 503 with the reason, everything else
/// 503 with it as JSON.
pub fn starting(status: Starting) -> Router {
    let app = Router::new()
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(starting_ready))
        .fallback(starting_other)
        .with_state(status);
    finished(app)
}

async fn starting_ready(State(status): State<Starting>) -> Response {
    plain(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("handoff is starting: {}\n", status.why()),
    )
}

async fn starting_other(State(status): State<Starting>) -> Response {
    let mut r = error(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("handoff is starting: {}", status.why()),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// Marks an error answer that is meant as plain text (for probes).
#[derive(Clone, Copy, Debug)]
struct PlainText;

fn plain(code: StatusCode, text: String) -> Response {
    let mut r = (code, text).into_response();
    r.extensions_mut().insert(PlainText);
    r
}

/// The security headers of every answer, and error answers as JSON.
async fn finish(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let h = &mut parts.headers;
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let content_type = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("text/html") {
        // The acknowledgement page sets its own (it has a form).
        if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_POLICY),
            );
        }
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    let failed = parts.status.is_client_error() || parts.status.is_server_error();
    // A page of our own (the acknowledgement page's refusals) is read by a
    // person in a browser: it stays a page.
    if !failed
        || content_type.starts_with("application/json")
        || content_type.starts_with("text/html")
        || parts.extensions.get::<PlainText>().is_some()
    {
        return Response::from_parts(parts, body);
    }
    // axum's own rejections are plain text, and a wrong method has no body.
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if !text.is_empty() {
        text
    } else if parts.status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        format!("method not allowed; this endpoint answers {allow}")
    } else {
        parts
            .status
            .canonical_reason()
            .unwrap_or("error")
            .to_lowercase()
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let json = error(parts.status, &message);
    let (json_parts, json_body) = json.into_parts();
    parts.headers.extend(json_parts.headers);
    Response::from_parts(parts, json_body)
}

/// The status page is drawn by the server: inline CSS and SVG, no script,
/// nothing fetched.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint; see / for the status page",
    )
}

fn error(code: StatusCode, message: &str) -> Response {
    (code, axum::Json(json!({ "error": message }))).into_response()
}

async fn scrape(State(d): Shared) -> Response {
    // The cached body is shared, not copied.
    let rows = d.unwritten().rows();
    let body = d.metrics.body(&d.board(), rows, d.store().replica_lag());
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response()
}

async fn healthy() -> &'static str {
    "handoff is healthy\n"
}

async fn ready(State(d): Shared) -> Response {
    let loaded = d.board().rules_loaded_at.is_some();
    if !loaded {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "rules not loaded\n".into());
    }
    if !d.database_ok() {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable\n".into(),
        );
    }
    if let Some(why) = d.write_failing() {
        let rows = d.unwritten().rows();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{why}; {rows} rows wait in memory\n"),
        )
            .into_response();
    }
    "handoff is ready\n".into_response()
}

/// Compares the bearer token with the configured one in constant time.
pub(super) fn authorized(d: &Daemon, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(expected) = d.options.admin_token.as_deref() else {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "write endpoints are disabled: start handoff with --admin-token to enable them",
        )));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .unwrap_or("");
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong admin token (Authorization: Bearer TOKEN)",
        )))
    }
}

/// The token of an `Authorization: Bearer TOKEN` value; the scheme is
/// case-insensitive (RFC 7235), spaces after it are skipped.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start_matches(' '))
}

/// Equality whose time depends only on the lengths, not on where the bytes
/// differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

async fn reload(State(d): Shared, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&d, &headers) {
        return *r;
    }
    match d.reload("POST /-/reload").await {
        Ok(summary) => axum::Json(json!({ "status": "ok", "message": summary })).into_response(),
        Err(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "status": "error",
                "message": "the rules are not valid; the running rules are kept",
                "errors": errors,
            })),
        )
            .into_response(),
    }
}

async fn objectives(State(d): Shared) -> Response {
    axum::Json(view::objectives_json(&d)).into_response()
}

async fn alerts(State(d): Shared) -> Response {
    axum::Json(view::alerts_json(&d)).into_response()
}

async fn index(State(d): Shared) -> Response {
    let view = view::page(&d);
    Html(super::page::render(&view)).into_response()
}

/// `?format=json` of the review pages.
#[derive(Debug, Deserialize)]
struct ReviewQuery {
    format: Option<String>,
}

/// The review of the last closed period (docs/REVIEW.md).
async fn review_last(State(d): Shared, Query(q): Query<ReviewQuery>) -> Response {
    let rules = d.rules();
    let period = crate::review::Periods::of(&rules).last_closed(d.now());
    // Relative links, so that the page works behind a proxy's sub-path.
    review_page(&d, &period, q.format.as_deref(), ("./", "review/")).await
}

/// The review of a closed month (`2026-11`) or quarter (`2026-Q4`).
async fn review_period(
    State(d): Shared,
    Path(text): Path<String>,
    Query(q): Query<ReviewQuery>,
) -> Response {
    let rules = d.rules();
    match crate::review::Periods::of(&rules).parse(&text, d.now()) {
        Ok(period) => review_page(&d, &period, q.format.as_deref(), ("../", "./")).await,
        Err(e) => error(StatusCode::NOT_FOUND, &e),
    }
}

/// The review of `period`; `links`: the status page and the prefix of
/// other periods' reviews, relative to the page's own path.
async fn review_page(
    d: &Arc<Daemon>,
    period: &crate::review::ReviewPeriod,
    format: Option<&str>,
    links: (&str, &str),
) -> Response {
    // One review is worked out at a time (the cache's lock), beside the
    // scheduled evaluations rather than in their place.
    let review = d.review_of(period).await;
    match (review, format) {
        (Err(e), _) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "the review of {} could not be worked out: {e}",
                period.label
            ),
        ),
        (Ok(r), Some("json")) => axum::Json(r.to_json()).into_response(),
        (Ok(r), _) => {
            let links = crate::report::Links {
                home: Some(links.0.to_owned()),
                review_base: Some(links.1.to_owned()),
            };
            Html(crate::report::html(&r, &d.rules(), &links)).into_response()
        }
    }
}

/// `?from=&to=&limit=` of the history endpoint.
#[derive(Debug, Deserialize)]
struct Range {
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

/// The most results one history request returns.
const MAX_HISTORY: u32 = 10_000;

fn instant(name: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, Box<Response>> {
    match text {
        None | Some("") => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| Some(t.to_utc()))
            .map_err(|e| {
                Box::new(error(
                    StatusCode::BAD_REQUEST,
                    &format!("`{name}` must be an RFC 3339 time like 2026-11-01T00:00:00Z: {e}"),
                ))
            }),
    }
}

async fn history(
    State(d): Shared,
    Path(name): Path<String>,
    Query(range): Query<Range>,
) -> Response {
    if d.rules().objective(&name).is_none() {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no objective `{name}` in the rules"),
        );
    }
    let (from, to) = match (
        instant("from", range.from.as_deref()),
        instant("to", range.to.as_deref()),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let to = to.unwrap_or_else(|| d.now() + TimeDelta::seconds(1));
    let from = from.unwrap_or(to - TimeDelta::days(7));
    if from >= to {
        return error(StatusCode::BAD_REQUEST, "`from` must be before `to`");
    }
    let limit = range.limit.unwrap_or(MAX_HISTORY).clamp(1, MAX_HISTORY);
    let store = d.store();
    let mut results = Vec::new();
    // One more than asked tells whether the answer was cut short.
    let read = store
        .results(Some(&name), from, to, limit + 1, &mut |r| results.push(r))
        .await;
    if let Err(e) = read {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("cannot read the history: {}", e.kind().as_str()),
        );
    }
    let truncated = results.len() > limit as usize;
    results.truncate(limit as usize);
    let periods = store.periods(&name, from, to).await;
    let events = store.alert_events(&name, from, to, MAX_HISTORY).await;
    let (periods, events) = match (periods, events) {
        (Ok(p), Ok(e)) => (p, e),
        (Err(e), _) | (_, Err(e)) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("cannot read the history: {}", e.kind().as_str()),
            );
        }
    };
    let results: Vec<_> = results.iter().map(with_details).collect();
    let periods: Vec<_> = periods
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            v["details"] = serde_json::from_str(&p.details).unwrap_or_default();
            v
        })
        .collect();
    axum::Json(json!({
        "objective": name,
        "from": from.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "to": to.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "truncated": truncated,
        "results": results,
        "periods": periods,
        "alerts": events,
    }))
    .into_response()
}

/// The most rule sets one change-log request returns.
const MAX_RULE_SETS: u32 = 100;

/// The SLA's change log: the rule sets loaded in `[from, to)` (default:
/// everything up to now), newest first, at most 100, each with its rules as
/// JSON.
async fn rules_history(State(d): Shared, Query(range): Query<Range>) -> Response {
    let (from, to) = match (
        instant("from", range.from.as_deref()),
        instant("to", range.to.as_deref()),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let to = to.unwrap_or_else(|| d.now() + TimeDelta::seconds(1));
    let from = from.unwrap_or(DateTime::UNIX_EPOCH);
    if from >= to {
        return error(StatusCode::BAD_REQUEST, "`from` must be before `to`");
    }
    let limit = range.limit.unwrap_or(MAX_RULE_SETS).clamp(1, MAX_RULE_SETS);
    let rows = match d.store().rule_sets(from, to, limit).await {
        Ok(rows) => rows,
        Err(e) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("cannot read the change log: {}", e.kind().as_str()),
            );
        }
    };
    let rule_sets: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "loaded_at": r.loaded_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                "hash": r.hash,
                "source": r.source,
                "rules": serde_json::from_str::<serde_json::Value>(&r.rules).unwrap_or_default(),
            })
        })
        .collect();
    axum::Json(json!({ "rule_sets": rule_sets })).into_response()
}

fn with_details(r: &crate::store::ResultRow) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    v["details"] = serde_json::from_str(&r.details).unwrap_or_default();
    v
}

#[cfg(test)]
mod tests {
    use super::{bearer, constant_time_eq};

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer("Bearer s3cret"), Some("s3cret"));
        assert_eq!(bearer("bearer s3cret"), Some("s3cret"));
        assert_eq!(bearer("BEARER  s3cret"), Some("s3cret"));
        assert_eq!(bearer("Basic czNjcmV0"), None);
        assert_eq!(bearer("Bearers3cret"), None);
        assert_eq!(bearer("s3cret"), None);
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
