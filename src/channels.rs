//! Webhook, Slack and Teams notices (docs/CHANNELS.md): what a notice says in
//! each format ([`Card`] and its payloads), and how it is posted ([`Poster`]).
//!
//! A team's `webhook:`, `slack:` and `msteams:` URLs are receivers like its
//! e-mail addresses: the same decisions, outbox, grouping, order within a
//! thread and retries. Only the last step differs: the outbox holds the JSON
//! body to post instead of an RFC 5322 message, and delivery posts it to the
//! URL the rules give for the receiver's id.
//!
//! The URLs are secrets (whoever holds a Slack webhook URL can post to the
//! channel): they appear in no log line, page, metric, stored row or error.
//! Receivers are named by the endpoint's id (`slack:hooks.slack.com/1a2b3c4d5e`),
//! errors by its shown form, and any text a server sends back is scrubbed of
//! the URL before it is kept.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::mail::SendError;
use crate::mail::render::{Offenders, View};
use crate::rules::{ChannelKind, Endpoint};

/// What one notice tells, in the words every chat format draws from.
#[derive(Clone, Debug)]
pub struct Card {
    /// The outbox kind (`breach`, `at_risk`, `resolved`, `period_missed`,
    /// `evaluation_failing`, `sla_changed`, `trend`, `review`).
    pub kind: String,
    /// `BREACHED`, `AT RISK`, `RESOLVED`, …
    pub title: String,
    /// The mail's subject: the notice in one line.
    pub subject: String,
    /// The figure against the target, or what the notice is about.
    pub headline: String,
    /// What to do, when and since when, a line each.
    pub lines: Vec<String>,
    /// Label and value pairs (group, status, measured at, …).
    pub facts: Vec<(String, String)>,
    /// The first rows of the list of leads or reps behind the figure.
    pub list: Option<Offenders>,
    /// The status page at the objective, or the review.
    pub link: Option<String>,
    /// The signed acknowledgement link of a firing alert.
    pub ack: Option<String>,
    /// The alert, as a webhook receiver identifies it.
    pub alert: AlertId,
}

/// An alert's identity and state, for Alertmanager's webhook payload.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertId {
    /// `HandoffObjectiveBreached`, `HandoffObjectiveAtRisk`, … (the names of
    /// the shipped Prometheus rules where they tell the same thing).
    pub alertname: String,
    /// "" for the "evaluation failing" alert.
    pub objective: String,
    pub group: String,
    /// `critical`, `warning`, or `info` for a notice that tells of something
    /// over (a missed period, an SLA change, a trend, the review).
    pub severity: &'static str,
    /// Whether it is still a problem: `resolved` otherwise.
    pub firing: bool,
    pub starts_at: DateTime<Utc>,
    /// When it resolved.
    pub ends_at: Option<DateTime<Utc>>,
}

/// Whether a receiver is a webhook, Slack or Teams endpoint (by its id)
/// rather than an e-mail address.
pub fn is_endpoint(receiver: &str) -> bool {
    ["webhook:", "slack:", "msteams:"]
        .iter()
        .any(|p| receiver.starts_with(p))
}

/// How many rows of a list a chat message shows.
const LIST_ROWS: usize = 5;

impl Card {
    /// The card of an alert notice, from the view its mail is written from.
    pub fn of_view(v: &View, kind: &str, alert: AlertId, ack: Option<String>) -> Card {
        let mut lines = Vec::new();
        lines.extend(v.action.clone());
        lines.extend(v.changed.as_ref().map(|c| format!("It {c}.")));
        lines.extend(v.latest.as_ref().map(|l| match &v.latest_at {
            Some(at) => format!("Latest: {l} ({at})"),
            None => format!("Latest: {l}"),
        }));
        lines.extend(
            v.held_until
                .as_ref()
                .map(|h| format!("The latest figure meets the target; the alert holds until {h}.")),
        );
        lines.extend(v.changes.iter().cloned());
        lines.extend(v.statuses.iter().cloned());
        for f in &v.failing {
            lines.push(format!("{} ({}): {}", f.name, f.owners, f.error));
        }
        let mut facts = Vec::new();
        if let Some(g) = &v.group {
            facts.push(("Group".to_owned(), g.clone()));
        }
        if !v.promise.is_empty() {
            facts.push(("Promise".to_owned(), v.promise.clone()));
        }
        if !v.owners.is_empty() {
            facts.push(("Owners".to_owned(), v.owners.clone()));
        }
        for (label, value) in [
            ("Period", &v.period),
            ("Since", &v.since),
            ("Fired", &v.fired_at),
            ("Resolved", &v.resolved_at),
            ("Lasted", &v.lasted),
            ("Measured", &v.measured_at),
        ] {
            if let Some(value) = value {
                facts.push((label.to_owned(), value.clone()));
            }
        }
        Card {
            kind: kind.to_owned(),
            title: v.title.clone(),
            subject: v.subject.clone(),
            headline: v.headline.clone(),
            lines,
            facts,
            list: v.lists.first().cloned(),
            link: v.link.clone(),
            ack,
            alert,
        }
    }

    /// The card of a notice told once (a trend, the review): its subject,
    /// the opening lines of its text (up to its first heading: the tables
    /// are the review page's), and the link to the review.
    pub fn of_text(
        kind: &str,
        subject: &str,
        text: &str,
        link: Option<String>,
        alert: AlertId,
    ) -> Card {
        let plain = subject.trim_start_matches("[handoff] ");
        let heading =
            |l: &str| l.chars().any(char::is_alphabetic) && !l.chars().any(char::is_lowercase);
        let lines: Vec<String> = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty() && *l != subject)
            .take_while(|l| !heading(l))
            .take(6)
            .map(str::to_owned)
            .collect();
        Card {
            kind: kind.to_owned(),
            title: plain.split(": ").next().unwrap_or(plain).to_owned(),
            subject: subject.to_owned(),
            headline: plain.to_owned(),
            lines,
            facts: Vec::new(),
            list: None,
            link,
            ack: None,
            alert,
        }
    }

    /// The body to post to an endpoint of `kind`, as JSON text.
    /// `receiver` names the teams the endpoint belongs to (the webhook's
    /// `receiver`); `external_url` is the status page's base URL.
    pub fn payload(&self, kind: ChannelKind, receiver: &str, external_url: Option<&str>) -> String {
        let v = match kind {
            ChannelKind::Webhook => self.webhook(receiver, external_url),
            ChannelKind::Slack => self.slack(),
            ChannelKind::MsTeams => self.msteams(),
        };
        v.to_string()
    }

    /// Alertmanager's webhook payload, version 4
    /// (<https://prometheus.io/docs/alerting/latest/configuration/#webhook_config>):
    /// one alert per notice, so that receivers written for Alertmanager
    /// work unchanged.
    pub fn webhook(&self, receiver: &str, external_url: Option<&str>) -> Value {
        let a = &self.alert;
        let status = if a.firing { "firing" } else { "resolved" };
        let labels = json!({
            "alertname": a.alertname,
            "objective": a.objective,
            "group": a.group,
            "severity": a.severity,
        });
        let mut description = self.headline.clone();
        for l in &self.lines {
            description.push('\n');
            description.push_str(l);
        }
        let mut annotations = json!({ "summary": self.subject, "description": description });
        if let Some(ack) = &self.ack {
            // The link that stops the reminders (docs/CHANNELS.md).
            annotations["ack_url"] = json!(ack);
        }
        // A notice told once (a missed period, an SLA change, a trend, the
        // review) is its own alert: it must not merge with, or reopen, the
        // incident of the series' breach.
        let once = (a.severity == "info").then_some(a.alertname.as_str());
        let ends_at = match (a.firing, a.ends_at) {
            (false, Some(t)) => rfc3339(t),
            (false, None) => rfc3339(a.starts_at),
            // Alertmanager's "not ended" for a firing alert.
            (true, _) => "0001-01-01T00:00:00Z".to_owned(),
        };
        json!({
            "version": "4",
            "groupKey": match once {
                Some(name) => format!(
                    "{{}}:{{alertname={name:?}, objective={:?}, group={:?}}}",
                    a.objective, a.group
                ),
                None => format!("{{}}:{{objective={:?}, group={:?}}}", a.objective, a.group),
            },
            "truncatedAlerts": 0,
            "status": status,
            "receiver": receiver,
            "groupLabels": { "objective": a.objective, "group": a.group },
            "commonLabels": labels,
            "commonAnnotations": annotations,
            "externalURL": external_url.unwrap_or(""),
            "alerts": [{
                "status": status,
                "labels": labels,
                "annotations": annotations,
                "startsAt": rfc3339(a.starts_at),
                "endsAt": ends_at,
                "generatorURL": self.link.clone().unwrap_or_default(),
                "fingerprint": fingerprint(once, &a.objective, &a.group),
            }],
        })
    }

    /// A Slack message with Block Kit blocks, for an incoming webhook
    /// (<https://api.slack.com/messaging/webhooks>).
    pub fn slack(&self) -> Value {
        let mut blocks = vec![json!({
            "type": "header",
            "text": { "type": "plain_text", "text": cut(&self.header(), 150) },
        })];
        let mut text = format!("*{}*", mrkdwn(&self.headline));
        for l in &self.lines {
            text.push('\n');
            text.push_str(&mrkdwn(l));
        }
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": cut(&text, 3000) },
        }));
        if !self.facts.is_empty() {
            let fields: Vec<Value> = self
                .facts
                .iter()
                .take(10)
                .map(|(k, v)| {
                    json!({ "type": "mrkdwn", "text": cut(&format!("*{}*\n{}", mrkdwn(k), mrkdwn(v)), 2000) })
                })
                .collect();
            blocks.push(json!({ "type": "section", "fields": fields }));
        }
        if let Some(list) = self.list.as_ref().filter(|l| !l.rows.is_empty()) {
            let mut t = format!("*{}* ({})", mrkdwn(&list.title), mrkdwn(&list.count));
            if !list.columns.is_empty() {
                t.push_str(&format!("\n_{}_", mrkdwn(&list.columns.join(" · "))));
            }
            for row in list.rows.iter().take(LIST_ROWS) {
                t.push_str("\n• ");
                t.push_str(&mrkdwn(&row.join(" · ")));
            }
            if list.rows.len() > LIST_ROWS {
                t.push_str("\n…");
            }
            blocks.push(json!({
                "type": "section",
                "text": { "type": "mrkdwn", "text": cut(&t, 3000) },
            }));
        }
        let buttons = self.buttons();
        if !buttons.is_empty() {
            let elements: Vec<Value> = buttons
                .iter()
                .map(|(label, url, primary)| {
                    let mut b = json!({
                        "type": "button",
                        "text": { "type": "plain_text", "text": label },
                        "url": url,
                    });
                    if *primary {
                        b["style"] = json!("primary");
                    }
                    b
                })
                .collect();
            blocks.push(json!({ "type": "actions", "elements": elements }));
        }
        json!({ "text": cut(&self.subject, 3000), "blocks": blocks })
    }

    /// A Teams message carrying an Adaptive Card, for a Teams workflow's
    /// "when a webhook request is received"
    /// (<https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook>).
    pub fn msteams(&self) -> Value {
        let color = match (self.alert.firing, self.alert.severity) {
            (true, "critical") => "Attention",
            (true, "warning") => "Warning",
            (false, _) => "Good",
            _ => "Accent",
        };
        let mut body = vec![
            json!({ "type": "TextBlock", "text": self.header(), "weight": "Bolder", "size": "Medium", "color": color, "wrap": true }),
            json!({ "type": "TextBlock", "text": self.headline, "wrap": true }),
        ];
        for l in &self.lines {
            body.push(json!({ "type": "TextBlock", "text": l, "wrap": true }));
        }
        if !self.facts.is_empty() {
            let facts: Vec<Value> = self
                .facts
                .iter()
                .map(|(k, v)| json!({ "title": k, "value": v }))
                .collect();
            body.push(json!({ "type": "FactSet", "facts": facts }));
        }
        if let Some(list) = self.list.as_ref().filter(|l| !l.rows.is_empty()) {
            let mut items = vec![
                json!({ "type": "TextBlock", "text": format!("{} ({})", list.title, list.count), "weight": "Bolder", "wrap": true }),
            ];
            if !list.columns.is_empty() {
                items.push(json!({ "type": "TextBlock", "text": list.columns.join(" · "), "wrap": true, "size": "Small", "weight": "Bolder" }));
            }
            for row in list.rows.iter().take(LIST_ROWS) {
                items.push(json!({ "type": "TextBlock", "text": row.join(" · "), "wrap": true, "isSubtle": true }));
            }
            body.push(json!({ "type": "Container", "items": items }));
        }
        let actions: Vec<Value> = self
            .buttons()
            .into_iter()
            .map(|(label, url, _)| json!({ "type": "Action.OpenUrl", "title": label, "url": url }))
            .collect();
        let mut card = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
            "msteams": { "width": "Full" },
        });
        if !actions.is_empty() {
            card["actions"] = Value::Array(actions);
        }
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }],
        })
    }

    /// `BREACHED: speed-to-lead (webinar)`.
    fn header(&self) -> String {
        let a = &self.alert;
        match (a.objective.is_empty(), a.group.as_str()) {
            // The review and trend notices' own heading.
            _ if self.kind == "review" || self.kind == "trend" => self.title.clone(),
            (true, _) => self.title.clone(),
            (false, "" | "all") => format!("{}: {}", self.title, a.objective),
            (false, g) => format!("{}: {} ({g})", self.title, a.objective),
        }
    }

    /// The links to offer: (label, URL, whether it is the thing to do).
    fn buttons(&self) -> Vec<(&'static str, String, bool)> {
        let mut out = Vec::new();
        if let Some(ack) = &self.ack {
            out.push(("Acknowledge", ack.clone(), true));
        }
        if let Some(link) = &self.link {
            let label = if self.kind == "review" || self.kind == "trend" {
                "Open the review"
            } else {
                "Open the status page"
            };
            out.push((label, link.clone(), false));
        }
        out
    }
}

/// RFC 3339 in UTC with seconds, as Alertmanager writes times.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The alert's fingerprint: 16 hex digits of a hash of (objective, group),
/// the same through a change of severity, so that a receiver keeps one
/// incident per series; a notice told once (`once`: its alertname) hashes
/// its name too.
pub fn fingerprint(once: Option<&str>, objective: &str, group: &str) -> String {
    let text = match once {
        Some(name) => format!("{name}\u{0}{objective}\u{0}{group}"),
        None => format!("{objective}\u{0}{group}"),
    };
    let h = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
    format!("{h:016x}")
}

/// Text for Slack's mrkdwn: `&`, `<` and `>` escaped, as Slack asks.
fn mrkdwn(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// At most `max` characters, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The client that posts notices.
#[derive(Clone, Debug)]
pub struct Poster {
    client: reqwest::Client,
}

/// How long one post may take, connecting included.
pub const POST_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of a refusal's body is kept for the page and the log.
const BODY_KEPT: usize = 200;

impl Poster {
    /// A client that follows no redirects (a webhook URL that moved is a
    /// configuration to fix, and following it would send the notice where
    /// the rules do not say) and gives each post `timeout`. Proxies come
    /// from `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`.
    ///
    /// # Errors
    ///
    /// The TLS setup failed.
    pub fn new(timeout: Duration) -> Result<Poster, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("handoff/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {}", e.without_url()))?;
        Ok(Poster { client })
    }

    /// Posts `body` (JSON) to `endpoint`. A 2xx answer is delivery; 429,
    /// 408 and 5xx answers, timeouts and connection failures are tried
    /// again (after `Retry-After` when the answer has one); any other answer
    /// is permanent.
    ///
    /// # Errors
    ///
    /// Why it was not delivered, scrubbed of the URL.
    pub async fn post(&self, endpoint: &Endpoint, body: &str) -> Result<(), SendError> {
        let answer = self
            .client
            .post(endpoint.url())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await;
        let response = match answer {
            Ok(r) => r,
            Err(e) => {
                let timeout = e.is_timeout();
                let e = e.without_url();
                let what = if timeout {
                    format!("{} did not answer in time", endpoint.shown)
                } else {
                    format!(
                        "cannot reach {}: {}",
                        endpoint.shown,
                        crate::error_chain(&e)
                    )
                };
                return Err(SendError {
                    permanent: false,
                    reason: if timeout { "timeout" } else { "temporary" },
                    connection: true,
                    message: scrub(&what, endpoint),
                    retry_after: None,
                });
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, Utc::now()));
        let text = response.text().await.unwrap_or_default();
        let text = cut(text.trim(), BODY_KEPT);
        let said = if text.is_empty() {
            String::new()
        } else {
            format!(": {text}")
        };
        let code = status.as_u16();
        let message = scrub(
            &format!("{} answered HTTP {code}{said}", endpoint.shown),
            endpoint,
        );
        let (permanent, reason) = match code {
            429 => (false, "rate_limited"),
            408 | 500..=599 => (false, "temporary"),
            _ => (true, "permanent"),
        };
        Err(SendError {
            permanent,
            reason,
            connection: false,
            message,
            retry_after,
        })
    }
}

/// A `Retry-After` value (seconds, or an HTTP date) as a wait from `now`;
/// at most an hour.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = DateTime::parse_from_rfc2822(value)
            .ok()?
            .with_timezone(&Utc);
        (at - now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(wait.min(Duration::from_secs(3600)))
}

/// `text` without the endpoint's URL or any part of its path: what a server
/// says back may quote the URL it was called at.
pub fn scrub(text: &str, endpoint: &Endpoint) -> String {
    let url = endpoint.url();
    let mut out = text.replace(url, "…");
    let Some((_, rest)) = url.split_once("://") else {
        return out;
    };
    let cut = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(cut);
    // A user and password before the host.
    if let Some((user, _)) = authority.rsplit_once('@') {
        out = out.replace(user, "…");
    }
    if !tail.is_empty() {
        // The whole path and query, then each of their parts long enough to
        // be a secret on its own.
        out = out.replace(tail, &format!("{}…", &tail[..1]));
        for part in tail
            .split(['/', '?', '&', '=', '#'])
            .filter(|s| s.len() >= 6)
        {
            out = out.replace(part, "…");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(firing: bool) -> AlertId {
        AlertId {
            alertname: "HandoffObjectiveBreached".into(),
            objective: "speed-to-lead".into(),
            group: "webinar".into(),
            severity: "critical",
            firing,
            starts_at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            ends_at: (!firing).then(|| DateTime::from_timestamp(1_790_003_600, 0).unwrap()),
        }
    }

    fn card(firing: bool) -> Card {
        Card {
            kind: if firing { "breach" } else { "resolved" }.into(),
            title: if firing { "BREACHED" } else { "RESOLVED" }.into(),
            subject: "[handoff] BREACHED speed-to-lead (webinar): 81% worked within 4h, target 95%"
                .into(),
            headline: "81% worked within 4h, target 95%".into(),
            lines: vec!["Call 12 leads today <now> & first".into()],
            facts: vec![("Group".into(), "webinar".into())],
            list: None,
            link: Some("https://handoff.acme.example/#speed-to-lead".into()),
            ack: firing.then(|| "https://handoff.acme.example/ack/abc.def".into()),
            alert: alert(firing),
        }
    }

    #[test]
    fn the_webhook_payload_is_alertmanagers_version_4() {
        let v = card(true).webhook("sales", Some("https://handoff.acme.example"));
        assert_eq!(v["version"], "4");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["receiver"], "sales");
        let a = &v["alerts"][0];
        // 1 790 000 000 s after the epoch is 2026-09-21 14:13:20 UTC.
        assert_eq!(a["startsAt"], "2026-09-21T14:13:20Z");
        assert_eq!(a["endsAt"], "0001-01-01T00:00:00Z");
        assert_eq!(a["labels"]["severity"], "critical");
        assert_eq!(v["commonLabels"], a["labels"]);
        let r = card(false).webhook("sales", None);
        assert_eq!(r["status"], "resolved");
        // An hour later.
        assert_eq!(r["alerts"][0]["endsAt"], "2026-09-21T15:13:20Z");
        // One series, one fingerprint, firing or resolved.
        assert_eq!(a["fingerprint"], r["alerts"][0]["fingerprint"]);
        assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
        assert_eq!(
            a["annotations"]["ack_url"],
            "https://handoff.acme.example/ack/abc.def"
        );
        // A missed period of the same series is an alert of its own.
        let mut missed = card(true);
        missed.ack = None;
        missed.alert.alertname = "HandoffPeriodMissed".into();
        missed.alert.severity = "info";
        let m = missed.webhook("sales", None);
        assert_ne!(m["alerts"][0]["fingerprint"], a["fingerprint"]);
        assert_ne!(m["groupKey"], v["groupKey"]);
    }

    #[test]
    fn slack_text_is_escaped_and_the_ack_button_comes_first() {
        let v = card(true).slack();
        let section = v["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(section.contains("&lt;now&gt; &amp; first"), "{section}");
        let buttons = v["blocks"].as_array().unwrap().last().unwrap()["elements"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(buttons[0]["text"]["text"], "Acknowledge");
        assert_eq!(buttons[1]["text"]["text"], "Open the status page");
        // A resolved alert has nothing to acknowledge.
        let r = card(false).slack();
        let last = r["blocks"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["elements"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_bounded() {
        let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        // 2026-09-21 14:13:20 + 90 s.
        assert_eq!(
            retry_after("Mon, 21 Sep 2026 14:14:50 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(retry_after("86400", now), Some(Duration::from_secs(3600)));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn scrub_removes_the_path_query_and_password_wherever_quoted() {
        let rules = crate::rules::load_str(
            "r.yaml",
            "version: 1\ntimezone: UTC\nteams:\n  t: { webhook: 'https://bot:pa55word@h.example/hooks?token=TOKEN123456&x=1' }\nobjectives:\n  - name: volume\n    kind: lead_volume\n    owner: t\n    schedule: '* * * * *'\n    window: month\n    target: 10\n",
        )
        .unwrap();
        let e = rules.team("t").unwrap().webhook[0].clone();
        let said = "POST https://bot:pa55word@h.example/hooks?token=TOKEN123456&x=1 failed; \
                    path /hooks?token=TOKEN123456&x=1; token TOKEN123456; user bot:pa55word";
        let s = scrub(said, &e);
        for secret in ["TOKEN123456", "pa55word"] {
            assert!(!s.contains(secret), "{s}");
        }
        assert!(s.starts_with("POST … failed; path /…; token …;"), "{s}");
    }

    #[test]
    fn a_review_card_is_its_opening_lines_not_its_tables() {
        let subject = "[handoff] Review of November 2026: 3 promises met, 2 missed";
        let text = format!(
            "{subject}\n\nReview of November 2026 (Sun 1 Nov to Tue 1 Dec)\nMet: a, b, c. Missed: d, e.\n\nPROMISES\nd (lead_volume): MISSED\n  group  Nov  Oct\n"
        );
        let mut alert = alert(true);
        alert.severity = "info";
        let c = Card::of_text("review", subject, &text, None, alert);
        let v = c.slack();
        assert_eq!(v["blocks"][0]["text"]["text"], "Review of November 2026");
        assert_eq!(
            v["blocks"][1]["text"]["text"],
            "*Review of November 2026: 3 promises met, 2 missed*\nReview of November 2026 (Sun 1 Nov to Tue 1 Dec)\nMet: a, b, c. Missed: d, e."
        );
    }

    #[test]
    fn cut_keeps_short_text_and_marks_a_cut() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
    }
}
