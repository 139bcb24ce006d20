//! From parsed rule files to a [`RuleSet`], or to every error found.
//!
//! Two passes. The first checks each file on its own (shape, values, which
//! fields each kind takes) and keeps the names it defines and refers to. The
//! second checks across files: duplicate names, and references to teams,
//! calendars and objectives. Nothing is built unless both passes found nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use chrono_tz::Tz;

use super::calendar::{self, Calendar, OpenHours};
use super::diagnostic::LoadError;
use super::model::{
    Alert, ChannelKind, Checks, Duration, Endpoint, Kind, MinAttempts, NotifyReps, Objective,
    Origin, Recipient, Review, ReviewEvery, Spec, Target, Team, Trend, TrendCompare, Window,
};
use super::mute::{self, MuteTime};
use super::problem::Problem;
use super::raw::{
    self, KIND_SPECIFIC_FIELDS, Names, RawAlert, RawAttempts, RawCalendar, RawCost, RawFile,
    RawMute, RawNotifyReps, RawObjective, RawReview, RawShare, RawTarget, RawTeam, RawTrend, Text,
};
use super::yaml::{self, Isolated, Loc, Node, Sp, Value};
use super::{RuleSet, hints, schedule, values};
use crate::model::GroupBy;

/// A rule file's path (as given) and contents.
pub(crate) struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Defaults and limits the product contract leaves open; rules/README.md documents them.
pub(crate) mod defaults {
    use super::Duration;

    pub const WARN_BELOW: f64 = 0.9;
    pub const MATURE_AFTER: Duration = Duration::from_secs(7 * 86_400);
    pub const TREND_DROP: f64 = 0.10;
    pub const TREND_MIN_DENOMINATOR: u64 = 30;
    pub const LOOKBACK: Duration = Duration::from_secs(180 * 86_400);
    pub const MIN_LOOKBACK: Duration = Duration::from_secs(86_400);
    pub const MIN_SAMPLE: u64 = 30;
    pub const REPEAT: Duration = Duration::from_secs(24 * 3_600);
    pub const MIN_REPEAT: Duration = Duration::from_secs(60);
    pub const MAX_MIN_ATTEMPTS: i64 = 100;
    /// Conversions a group needs before its cutoff can breach.
    pub const MIN_CONVERSIONS: u64 = 3;
}

struct Diag {
    file: usize,
    loc: Loc,
    message: String,
    help: Option<String>,
    note: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum What {
    Team,
    Calendar,
    Objective,
}

impl What {
    fn word(self) -> &'static str {
        match self {
            What::Team => "team",
            What::Calendar => "calendar",
            What::Objective => "objective",
        }
    }
}

/// A name defined somewhere, and its value when the definition is sound.
struct Definition<T> {
    name: String,
    file: usize,
    loc: Loc,
    value: Option<T>,
}

/// What the first pass learns of an objective.
struct ObjectiveDraft {
    name: Option<(String, Loc)>,
    file: usize,
    kind: Option<Kind>,
    owner: Vec<(String, Loc)>,
    notify: Vec<(String, Loc)>,
    calendar: Option<(String, Loc)>,
    checks: Option<(String, Loc)>,
    /// The objective, when it had no error of its own (its calendar is filled in
    /// once calendars are known).
    built: Option<Objective>,
}

struct Checker<'a> {
    files: &'a [SourceFile],
    /// Where `${NAME}` in a team's URLs is looked up.
    env: values::Env<'a>,
    diags: Vec<Diag>,
    /// The file being checked, and the keys recovery dropped from it.
    file: usize,
    dropped: BTreeSet<(Loc, String)>,
    teams: Vec<Definition<Team>>,
    calendars: Vec<Definition<Calendar>>,
    objectives: Vec<ObjectiveDraft>,
    /// Names whose definition could not be read: references to them are not
    /// reported as unknown.
    broken: BTreeSet<(What, String)>,
    /// Some file could not be read far enough to know what it defines, so no
    /// reference is reported as unknown.
    unknown_definitions: bool,
    /// The reporting currency, and the file that set it first.
    currency: Option<(String, usize)>,
    /// The CRM's lead address template, and the file that set it first.
    lead_url: Option<(String, usize)>,
    /// `review:`, the file that set it, and the teams and calendar it names.
    review: Option<(Review, usize)>,
    review_refs: Vec<(usize, What, String, Loc, &'static str)>,
}

/// Checks `files` as one rule set, with `${NAME}` in URLs read from `env`.
pub(crate) fn check_with_env(
    files: &[SourceFile],
    env: values::Env,
) -> Result<RuleSet, Vec<LoadError>> {
    let mut c = Checker {
        files,
        env,
        diags: Vec::new(),
        file: 0,
        dropped: BTreeSet::new(),
        teams: Vec::new(),
        calendars: Vec::new(),
        objectives: Vec::new(),
        broken: BTreeSet::new(),
        unknown_definitions: false,
        currency: None,
        lead_url: None,
        review: None,
        review_refs: Vec::new(),
    };
    for (i, f) in files.iter().enumerate() {
        c.file = i;
        c.check_file(&f.text);
    }
    c.check_across_files();
    if c.diags.is_empty() {
        return Ok(c.build());
    }
    let mut diags = std::mem::take(&mut c.diags);
    diags.sort_by_key(|d| (d.file, d.loc.line, d.loc.column));
    diags.dedup_by(|a, b| a.file == b.file && a.loc == b.loc && a.message == b.message);
    Err(diags
        .into_iter()
        .map(|d| {
            let f = &files[d.file];
            LoadError::at(
                &f.path,
                &f.text,
                d.loc.line,
                d.loc.column,
                d.loc.len,
                d.message,
            )
            .with_help(d.help)
            .with_note(d.note)
        })
        .collect())
}

impl Checker<'_> {
    fn error(&mut self, loc: Loc, message: impl Into<String>) {
        self.diag(self.file, loc, message.into(), None, None);
    }

    fn error_help(&mut self, loc: Loc, message: impl Into<String>, help: impl Into<String>) {
        self.diag(self.file, loc, message.into(), Some(help.into()), None);
    }

    fn diag(
        &mut self,
        file: usize,
        loc: Loc,
        message: String,
        help: Option<String>,
        note: Option<String>,
    ) {
        let loc = if loc.is_known() { loc } else { Loc::TOP };
        self.diags.push(Diag {
            file,
            loc,
            message,
            help,
            note,
        });
    }

    /// Reports a problem with a text value, pointing inside it when the problem
    /// names a part and the value sits on one line as written.
    fn problem(&mut self, loc: Loc, text: &str, p: Problem) {
        let loc = match p.part {
            Some((offset, len)) => part_loc(loc, text, offset, len),
            None => loc,
        };
        self.diag(self.file, loc, p.message, p.help, None);
    }

    /// Reports a required field that `map` lacks, unless recovery dropped it
    /// (the user has been told about that key already).
    fn missing(&mut self, map: &Node, field: &str, message: String, help: String) {
        if !self.dropped.contains(&(map.loc, field.to_owned())) {
            self.error_help(map.loc, message, help);
        }
    }

    fn origin(&self, loc: Loc) -> Origin {
        Origin {
            file: self.files[self.file].path.clone(),
            line: loc.line,
        }
    }

    fn place(&self, file: usize, loc: Loc) -> String {
        format!(
            "{}:{}:{}",
            self.files[file].path.display(),
            loc.line,
            loc.column
        )
    }

    // -----------------------------------------------------------------------
    // One file.

    fn check_file(&mut self, text: &str) {
        let tree = match yaml::parse(text) {
            Ok(tree) => tree,
            Err(e) => {
                self.error(e.loc, e.message);
                self.unknown_definitions = true;
                return;
            }
        };
        if matches!(tree.value, Value::Null) {
            self.error_help(
                Loc::TOP,
                "empty rule file",
                "a rule file starts with `version: 1`",
            );
            return;
        }
        let recovered = yaml::from_node_recovering::<RawFile>(tree);
        for e in recovered.errors {
            self.diag(
                self.file,
                e.loc.unwrap_or(Loc::TOP),
                e.message,
                e.help,
                None,
            );
        }
        self.dropped = recovered.dropped;
        let tree = recovered.tree;
        let Some(raw) = recovered.value else {
            self.unknown_definitions = true;
            return;
        };

        match &raw.version {
            Some(v) if v.value.0 != 1 => self.error_help(
                v.loc,
                format!("unsupported version {}", v.value.0),
                "this handoff reads version 1 rule files: write `version: 1`",
            ),
            Some(_) => {}
            None => self.missing(
                &tree,
                "version",
                "missing field `version`".to_owned(),
                hints::example_for("version").unwrap_or_default().to_owned(),
            ),
        }

        let timezone = match &raw.timezone {
            Some(tz) => match values::timezone(tz.as_str()) {
                Ok(tz) => Some(tz),
                Err(p) => {
                    self.problem(tz.loc, tz.as_str(), p);
                    None
                }
            },
            None => {
                let has_objectives = raw.objectives.as_ref().is_some_and(|o| !o.value.is_empty());
                let has_calendars = raw
                    .calendars
                    .as_ref()
                    .is_some_and(|c| !c.value.0.is_empty());
                let has_mutes = raw.teams.as_ref().is_some_and(|t| {
                    t.value
                        .0
                        .iter()
                        .any(|(_, team)| team.0.as_ref().is_some_and(|t| t.mute.is_some()))
                });
                if has_objectives || has_calendars || has_mutes {
                    self.missing(
                        &tree,
                        "timezone",
                        "missing field `timezone`".to_owned(),
                        "periods, schedules, business hours and team mutes are read in a \
                         time zone; add e.g. `timezone: America/New_York`"
                            .to_owned(),
                    );
                }
                None
            }
        };

        if let Some(c) = &raw.currency {
            let code = c.value.as_str();
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                self.error_help(
                    c.loc,
                    format!("`currency` must be a three-letter ISO 4217 code, found `{code}`"),
                    "write the code of the currency deal amounts are in, e.g. `currency: USD`",
                );
            } else {
                match &self.currency {
                    Some((first, file)) if first != code => {
                        let other = self.files[*file].path.display().to_string();
                        self.error_help(
                            c.loc,
                            format!(
                                "`currency: {code}` differs from `currency: {first}` in {other}"
                            ),
                            "a rule set has one reporting currency: deal amounts are all in it",
                        );
                    }
                    Some(_) => {}
                    None => self.currency = Some((code.to_owned(), self.file)),
                }
            }
        }

        if let Some(u) = &raw.lead_url {
            let url = u.value.trim();
            let scheme = url.starts_with("https://") || url.starts_with("http://");
            if !scheme || !url.contains("{id}") {
                self.error_help(
                    u.loc,
                    format!("`lead_url` must be an http(s) address with `{{id}}` where the lead's id goes, found `{url}`"),
                    "e.g. `lead_url: https://crm.example/leads/{id}`",
                );
            } else {
                match &self.lead_url {
                    Some((first, file)) if first != url => {
                        let other = self.files[*file].path.display().to_string();
                        self.error_help(
                            u.loc,
                            format!("`lead_url` differs from the one in {other} (`{first}`)"),
                            "a rule set links leads to one CRM: keep one `lead_url`",
                        );
                    }
                    Some(_) => {}
                    None => self.lead_url = Some((url.to_owned(), self.file)),
                }
            }
        }

        if let Some(r) = &raw.review
            && let Some(review) = &r.value.0
        {
            if let Some((_, file)) = &self.review {
                let other = self.files[*file].path.display().to_string();
                self.error_help(
                    r.loc,
                    format!("a second `review:` (the first is in {other})"),
                    "a rule set has one review: keep one `review:` block",
                );
            } else if let Some(built) = self.review(review) {
                self.review = Some((built, self.file));
            }
        }

        if let Some(teams) = &raw.teams {
            let nodes = tree.get("teams");
            for (name, team) in &teams.value.0 {
                let node = nodes.and_then(|n| n.get(&name.value));
                self.team(name, team, node, timezone);
            }
        }
        if let Some(calendars) = &raw.calendars {
            let nodes = tree.get("calendars");
            for (name, cal) in &calendars.value.0 {
                let node = nodes.and_then(|n| n.get(&name.value));
                self.calendar(name, cal, node, timezone);
            }
        }
        if let Some(objectives) = &raw.objectives {
            let nodes = match tree.get("objectives").map(|n| &n.value) {
                Some(Value::Seq(items)) => items.as_slice(),
                _ => &[],
            };
            for (item, node) in objectives.value.iter().zip(nodes) {
                match &item.value.0 {
                    Some(raw) => self.objective(raw, node, timezone),
                    None => {
                        if let Some(name) = node.get("name").and_then(Node::as_str) {
                            self.broken.insert((What::Objective, name.to_owned()));
                        }
                    }
                }
            }
        }
    }

    /// Checks a name; reports and returns false when it is not `[a-z0-9-]+`.
    fn name(&mut self, text: &str, loc: Loc, what: What) -> bool {
        match values::name(text, what.word()) {
            Ok(()) => true,
            Err(p) => {
                self.problem(loc, text, p);
                false
            }
        }
    }

    fn team(
        &mut self,
        name: &Sp<String>,
        team: &Isolated<RawTeam>,
        node: Option<&Node>,
        tz: Option<Tz>,
    ) {
        let before = self.diags.len();
        self.name(&name.value, name.loc, What::Team);
        let mut value = None;
        if let Some(team) = &team.0 {
            let mut email = Vec::new();
            if let Some(list) = &team.email {
                for (address, loc) in names(list) {
                    match values::email(&address) {
                        Ok(()) => email.push(address),
                        Err(p) => self.problem(loc, &address, p),
                    }
                }
                if list.value.0.is_empty() {
                    self.error_help(
                        list.loc,
                        "`email` is empty",
                        "give at least one address, e.g. `email: [sales-managers@acme.example]`, or remove it",
                    );
                }
            }
            let webhook = self.endpoints(ChannelKind::Webhook, team.webhook.as_ref());
            let slack = self.endpoints(ChannelKind::Slack, team.slack.as_ref());
            let msteams = self.endpoints(ChannelKind::MsTeams, team.msteams.as_ref());
            const CHANNELS: [&str; 4] = ["email", "webhook", "slack", "msteams"];
            let given = team.email.is_some()
                || team.webhook.is_some()
                || team.slack.is_some()
                || team.msteams.is_some();
            let map = node.cloned().unwrap_or(Node {
                loc: name.loc,
                value: Value::Null,
            });
            let misspelled = CHANNELS
                .iter()
                .any(|c| self.dropped.contains(&(map.loc, (*c).to_owned())));
            if !given && !misspelled {
                self.error_help(
                    map.loc,
                    format!(
                        "team `{}` has no `email`, `webhook`, `slack` or `msteams`",
                        name.value
                    ),
                    hints::example_for("email").unwrap_or_default(),
                );
            }
            let mut mute = Vec::new();
            let mut mute_ok = true;
            if let Some(list) = &team.mute {
                if list.value.is_empty() {
                    self.error_help(
                        list.loc,
                        "`mute` has no entries",
                        "add one, e.g. `mute: [{ weekdays: \"sat,sun\" }]`, or remove it",
                    );
                }
                for entry in &list.value {
                    match &entry.value.0 {
                        Some(raw) => match self.mute(raw, entry.loc, tz) {
                            Some(m) => mute.push(m),
                            None => mute_ok = false,
                        },
                        // Its shape error has been reported.
                        None => mute_ok = false,
                    }
                }
            }
            if self.diags.len() == before && mute_ok {
                value = Some(Team {
                    name: name.value.clone(),
                    email,
                    webhook,
                    slack,
                    msteams,
                    mute,
                    origin: self.origin(name.loc),
                });
            }
        }
        if value.is_none() {
            self.broken.insert((What::Team, name.value.clone()));
        }
        self.teams.push(Definition {
            name: name.value.clone(),
            file: self.file,
            loc: name.loc,
            value,
        });
    }

    /// The URLs of a team's `webhook`, `slack` or `msteams` (`kind`), with
    /// `${NAME}` expanded.
    fn endpoints(
        &mut self,
        kind: ChannelKind,
        list: Option<&Sp<Names<raw::UrlText>>>,
    ) -> Vec<Endpoint> {
        let Some(list) = list else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (url, loc) in names(list) {
            match values::endpoint(kind, &url, self.env) {
                Ok(e) => out.push(e),
                Err(p) => self.problem(loc, &url, p),
            }
        }
        if list.value.0.is_empty() {
            self.error_help(
                list.loc,
                format!("`{kind}` is empty"),
                format!("give at least one URL, e.g. `{kind}: ${{TEAM_URL}}`, or remove it"),
            );
        }
        out
    }

    /// One entry of a team's `mute:`, written at `loc`; `None` when it has
    /// an error or there is no time zone to read it in (the file has been
    /// told it needs one).
    fn mute(&mut self, raw: &RawMute, loc: Loc, tz: Option<Tz>) -> Option<MuteTime> {
        let mut ok = true;
        if raw.weekdays.is_none() && raw.times.is_none() && raw.dates.is_none() {
            // A misspelled field has been reported, and dropped.
            if !self.dropped.iter().any(|(l, _)| *l == loc) {
                self.error_help(
                    loc,
                    "a `mute` entry needs `weekdays`, `times` or `dates`",
                    "e.g. `- { weekdays: mon-fri, times: \"19:00-24:00, 00:00-07:00\" }` \
                     or `- { dates: 2026-12-24..2026-12-26 }`",
                );
            }
            ok = false;
        }
        let weekdays = raw.weekdays.as_ref().and_then(|w| {
            mute::parse_weekdays(w.as_str())
                .map_err(|p| self.problem(w.loc, w.as_str(), p))
                .ok()
        });
        ok &= raw.weekdays.is_none() || weekdays.is_some();
        let times = raw.times.as_ref().and_then(|t| {
            calendar::parse_hours(t.as_str())
                .map_err(|p| self.problem(t.loc, t.as_str(), p))
                .ok()
        });
        ok &= raw.times.is_none() || times.is_some();
        let dates = raw.dates.as_ref().map(|list| {
            let mut dates = Vec::new();
            for (text, loc) in names(list) {
                match mute::parse_date_range(&text) {
                    Ok(d) => dates.push(d),
                    Err(p) => {
                        self.problem(loc, &text, p);
                        ok = false;
                    }
                }
            }
            if list.value.0.is_empty() {
                self.error_help(
                    list.loc,
                    "`dates` is empty",
                    "give a date or a range, e.g. `dates: 2026-12-24..2026-12-26`, or remove it",
                );
                ok = false;
            }
            dates.sort_unstable();
            dates.dedup();
            dates
        });
        let timezone = tz?;
        ok.then_some(MuteTime {
            timezone,
            weekdays,
            times,
            dates,
        })
    }

    fn calendar(
        &mut self,
        name: &Sp<String>,
        cal: &Isolated<RawCalendar>,
        node: Option<&Node>,
        tz: Option<Tz>,
    ) {
        let before = self.diags.len();
        self.name(&name.value, name.loc, What::Calendar);
        let mut value = None;
        if let Some(cal) = &cal.0 {
            let mut week: [Vec<OpenHours>; 7] = Default::default();
            match &cal.hours {
                Some(hours) => {
                    self.week(hours, &mut week);
                    if hours.value.0.is_empty() {
                        self.error_help(
                            hours.loc,
                            "a calendar needs open hours",
                            hints::example_for("hours").unwrap_or_default(),
                        );
                    }
                }
                None => {
                    let map = node.cloned().unwrap_or(Node {
                        loc: name.loc,
                        value: Value::Null,
                    });
                    self.missing(
                        &map,
                        "hours",
                        format!("calendar `{}` has no `hours`", name.value),
                        hints::example_for("hours").unwrap_or_default().to_owned(),
                    );
                }
            }
            let mut holidays = BTreeSet::new();
            for date in cal.holidays.iter().flat_map(|l| l.value.iter()) {
                match calendar::parse_date(date.as_str()) {
                    Ok(d) => {
                        holidays.insert(d);
                    }
                    Err(p) => self.problem(date.loc, date.as_str(), p),
                }
            }
            if let (true, Some(tz)) = (self.diags.len() == before, tz) {
                value = Some(calendar::new(name.value.clone(), tz, week, holidays));
            }
        }
        if value.is_none() {
            self.broken.insert((What::Calendar, name.value.clone()));
        }
        self.calendars.push(Definition {
            name: name.value.clone(),
            file: self.file,
            loc: name.loc,
            value,
        });
    }

    /// Fills `week` from `hours:`; each day may be named by one key only.
    fn week(
        &mut self,
        hours: &Sp<raw::Entries<Sp<Text<raw::HoursText>>>>,
        week: &mut [Vec<OpenHours>; 7],
    ) {
        const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let mut seen: [Option<Loc>; 7] = [None; 7];
        for (days, spans) in &hours.value.0 {
            let days_list = match calendar::parse_days(&days.value) {
                Ok(d) => d,
                Err(p) => {
                    self.problem(days.loc, &days.value, p);
                    continue;
                }
            };
            let spans = match calendar::parse_hours(spans.as_str()) {
                Ok(h) => h,
                Err(p) => {
                    self.problem(spans.loc, spans.as_str(), p);
                    continue;
                }
            };
            for d in days_list {
                if let Some(first) = seen[d] {
                    self.diag(
                        self.file,
                        days.loc,
                        format!("`{}` is given hours twice", DAY_NAMES[d]),
                        Some("name each day in one key only".to_owned()),
                        Some(format!("first given on line {}", first.line)),
                    );
                    break;
                }
                seen[d] = Some(days.loc);
                week[d] = spans.clone();
            }
        }
    }

    fn duration(&mut self, text: &Sp<Text<raw::DurationText>>) -> Option<Duration> {
        match values::duration(text.as_str()) {
            Ok(d) => Some(d),
            Err(p) => {
                self.problem(text.loc, text.as_str(), p);
                None
            }
        }
    }

    /// A whole number in `min..=max`, or an error naming `field`.
    fn whole(&mut self, n: &Sp<i64>, field: &str, min: i64, max: i64) -> Option<u64> {
        if (min..=max).contains(&n.value) {
            return u64::try_from(n.value).ok();
        }
        self.error(
            n.loc,
            format!(
                "`{field}` must be between {min} and {max}, found {}",
                n.value
            ),
        );
        None
    }

    fn objective(&mut self, raw: &RawObjective, node: &Node, tz: Option<Tz>) {
        let before = self.diags.len();

        let name = raw.name.as_ref().map(|n| (n.value.0.clone(), n.loc));
        match &name {
            Some((text, loc)) => {
                self.name(text, *loc, What::Objective);
            }
            None => self.missing(
                node,
                "name",
                "objective has no `name`".to_owned(),
                hints::example_for("name").unwrap_or_default().to_owned(),
            ),
        }
        let called = name
            .as_ref()
            .map_or("objective".to_owned(), |(n, _)| format!("objective `{n}`"));

        let kind = raw.kind.as_ref().map(|k| k.value);
        let kind_loc = raw.kind.as_ref().map_or(node.loc, |k| k.loc);
        match kind {
            Some(kind) => self.kind_fields(kind, kind_loc, node),
            None => self.missing(
                node,
                "kind",
                format!("{called} has no `kind`"),
                hints::example_for("kind").unwrap_or_default().to_owned(),
            ),
        }
        // With the kind unknown, check every field that is there.
        let allowed = |f: &str| kind.is_none_or(|k| k.allows(f));

        let mut owner = Vec::new();
        match &raw.owner {
            Some(list) => {
                for (team, loc) in names(list) {
                    if team.contains('@') {
                        self.error_help(
                            loc,
                            format!("owner `{team}` is an address; owners are teams"),
                            "define a team with this address under `teams:` and name it here",
                        );
                    } else if self.name(&team, loc, What::Team) {
                        owner.push((team, loc));
                    }
                }
                if list.value.0.is_empty() {
                    self.error_help(
                        list.loc,
                        "`owner` needs at least one team",
                        required_help("owner"),
                    );
                }
            }
            None => self.missing(
                node,
                "owner",
                format!("{called} has no `owner`"),
                required_help("owner"),
            ),
        }

        let schedule = match &raw.schedule {
            Some(s) => match schedule::parse(s.as_str()) {
                Ok(s) => Some(s),
                Err(p) => {
                    self.problem(s.loc, s.as_str(), p);
                    None
                }
            },
            None => {
                self.missing(
                    node,
                    "schedule",
                    format!("{called} has no `schedule`"),
                    required_help("schedule"),
                );
                None
            }
        };

        let window = match (&raw.window, allowed("window")) {
            (Some(w), true) => match values::window(w.as_str()) {
                Ok(w) => Some(w),
                Err(p) => {
                    self.problem(w.loc, w.as_str(), p);
                    None
                }
            },
            _ => None,
        };

        let by = raw.by.as_ref().map(|b| b.value);
        let target = match (&raw.target, kind) {
            (Some(t), Some(kind)) if kind.allows("target") => self.target(t, kind, by),
            _ => None,
        };

        let warn_below = match (&raw.warn_below, allowed("warn_below")) {
            (Some(w), true) if !(w.value > 0.0 && w.value <= 1.0) => {
                self.error_help(
                    w.loc,
                    format!(
                        "`warn_below` must be above 0 and at most 1, found {}",
                        w.value
                    ),
                    "it is the pace (delivered / expected so far) below which the objective is \
                     at risk, e.g. `0.9`",
                );
                defaults::WARN_BELOW
            }
            (Some(w), true) => w.value,
            _ => defaults::WARN_BELOW,
        };

        let calendar = match (&raw.calendar, allowed("calendar")) {
            (Some(c), true) => {
                if kind == Some(Kind::LeadVolume) && matches!(window, Some(Window::Rolling(_))) {
                    self.error_help(
                        node.key_loc("calendar"),
                        "`calendar` changes nothing with a rolling window",
                        "a rolling window has always fully elapsed, so expected = target; \
                         remove `calendar` or use a calendar period such as `window: month`",
                    );
                }
                self.name(c.as_str(), c.loc, What::Calendar)
                    .then(|| (c.as_str().to_owned(), c.loc))
            }
            _ => None,
        };

        let mut mature_after = defaults::MATURE_AFTER;
        if let (Some(m), true) = (&raw.mature_after, allowed("mature_after"))
            && let Some(d) = self.duration(m)
        {
            mature_after = d;
        }
        if let (Some(Kind::LeadQuality), Some(w)) = (kind, window)
            && mature_after >= w.max_len()
        {
            self.error_help(
                raw.mature_after.as_ref().map_or(kind_loc, |m| m.loc),
                format!(
                    "with `mature_after: {mature_after}` no MQL of a `{w}` window is ever old \
                     enough to judge"
                ),
                "make `mature_after` shorter or the window longer",
            );
        }

        let respond_within = match (&raw.respond_within, allowed("respond_within")) {
            (Some(r), true) => self.duration(r).and_then(|d| {
                if d == Duration::ZERO {
                    self.error(r.loc, "`respond_within` must be longer than 0");
                    return None;
                }
                if let Some(w) = window.filter(|w| raw.calendar.is_none() && d >= w.max_len()) {
                    self.error_help(
                        r.loc,
                        format!(
                            "with `respond_within: {d}` no MQL of a `{w}` window ever reaches its \
                             deadline"
                        ),
                        "make the window longer, e.g. `window: rolling 28d`",
                    );
                }
                Some(d)
            }),
            _ => None,
        };

        let min_attempts = match (&raw.min_attempts, allowed("min_attempts")) {
            (Some(n), true) => self.min_attempts(n, by),
            _ => None,
        };

        let mut lookback = defaults::LOOKBACK;
        if let (Some(l), true) = (&raw.lookback, allowed("lookback"))
            && let Some(d) = self.duration(l)
        {
            if d < defaults::MIN_LOOKBACK {
                self.error(l.loc, format!("`lookback` must be at least 1d, found {d}"));
            }
            lookback = d;
        }

        let cost_per_attempt = match (&raw.cost_per_attempt, allowed("cost_per_attempt")) {
            (Some(c), true) => self.cost(c, node),
            _ => None,
        };

        let mut min_sample = defaults::MIN_SAMPLE;
        if let (Some(n), true) = (&raw.min_sample, allowed("min_sample")) {
            min_sample = self
                .whole(n, "min_sample", 1, 1_000_000)
                .unwrap_or(min_sample);
        }

        let mut min_conversions = defaults::MIN_CONVERSIONS;
        if let (Some(n), true) = (&raw.min_conversions, allowed("min_conversions")) {
            min_conversions = self
                .whole(n, "min_conversions", 0, 1_000_000)
                .unwrap_or(min_conversions);
        }

        let checks = match (&raw.checks, allowed("checks")) {
            (Some(c), true) => self
                .name(c.as_str(), c.loc, What::Objective)
                .then(|| (c.as_str().to_owned(), c.loc)),
            _ => None,
        };

        let (alert, notify) = match &raw.alert {
            Some(a) => match &a.value.0 {
                Some(a) => self.alert(a, &owner),
                None => (None, Vec::new()),
            },
            None => (Some(default_alert(&owner)), Vec::new()),
        };

        let (notify_reps, rep_teams) = match (&raw.notify_reps, allowed("notify_reps")) {
            (Some(n), true) => match &n.value.0 {
                Some(n) => self.notify_reps(n),
                None => (None, Vec::new()),
            },
            _ => (None, Vec::new()),
        };

        let trend = match &raw.trend {
            Some(t) => match &t.value.0 {
                Some(t) => self.trend(t, kind),
                None => None,
            },
            None => None,
        };

        let description = raw
            .description
            .as_ref()
            .map(|d| d.value.trim().to_owned())
            .filter(|d| !d.is_empty());

        let mut built = None;
        if self.diags.len() == before {
            let spec = kind.and_then(|kind| match kind {
                Kind::LeadVolume => target.map(|target| Spec::LeadVolume {
                    target,
                    warn_below,
                    calendar: None,
                }),
                Kind::LeadQuality => target.map(|target| Spec::LeadQuality {
                    target,
                    mature_after,
                }),
                Kind::PercentWorked => {
                    target
                        .zip(respond_within)
                        .map(|(target, respond_within)| Spec::PercentWorked {
                            target,
                            respond_within,
                            calendar: None,
                        })
                }
                Kind::ContactAttempts => {
                    target
                        .zip(min_attempts)
                        .map(|(target, min_attempts)| Spec::ContactAttempts {
                            target,
                            min_attempts,
                        })
                }
                Kind::Profitability => {
                    cost_per_attempt.map(|cost_per_attempt| Spec::Profitability {
                        lookback,
                        cost_per_attempt,
                        min_sample,
                        min_conversions,
                        // Resolved to the checked objective in `build`, once
                        // every objective is known.
                        checks: checks.as_ref().map(|(n, _)| Checks {
                            objective: n.clone(),
                            min_attempts: MinAttempts::Uniform(0),
                        }),
                    })
                }
            });
            let window = if kind == Some(Kind::Profitability) {
                Some(Window::Rolling(lookback))
            } else {
                window
            };
            if let (
                Some((name, loc)),
                Some(spec),
                Some(schedule),
                Some(window),
                Some(alert),
                Some(tz),
            ) = (&name, spec, schedule, window, alert, tz)
            {
                built = Some(Objective {
                    name: name.clone(),
                    description,
                    owner: owner.iter().map(|(n, _)| n.clone()).collect(),
                    schedule,
                    timezone: tz,
                    currency: None,
                    window,
                    by,
                    spec,
                    alert,
                    notify_reps,
                    trend,
                    origin: self.origin(*loc),
                });
            }
        }
        if let (None, Some((n, _))) = (&built, &name) {
            self.broken.insert((What::Objective, n.clone()));
        }
        self.objectives.push(ObjectiveDraft {
            name,
            file: self.file,
            kind,
            owner,
            notify: notify.into_iter().chain(rep_teams).collect(),
            calendar,
            checks,
            built,
        });
    }

    /// Reports the kind-specific fields present that `kind` does not take, and
    /// those it requires that are absent (at the `kind:` value, which makes them required).
    fn kind_fields(&mut self, kind: Kind, kind_loc: Loc, node: &Node) {
        for field in KIND_SPECIFIC_FIELDS {
            let Some((key, _)) = node.entry(field) else {
                continue;
            };
            if kind.allows(field) {
                continue;
            }
            let takers: Vec<&str> = Kind::ALL
                .iter()
                .filter(|k| k.allows(field))
                .map(|k| k.as_str())
                .collect();
            let help = if *field == "window" && kind == Kind::Profitability {
                "profitability measures the MQLs of the last `lookback` (default 180d) instead"
                    .to_owned()
            } else {
                format!("`{field}` belongs to {} objectives", or_list(&takers))
            };
            self.error_help(
                key.loc,
                format!("`{field}` does not apply to a {kind} objective"),
                help,
            );
        }
        for field in kind.fields().required {
            let absent = node
                .get(field)
                .is_none_or(|v| matches!(v.value, Value::Null));
            if absent && !self.dropped.contains(&(node.loc, (*field).to_owned())) {
                let at = Node {
                    loc: kind_loc,
                    value: Value::Null,
                };
                self.missing(
                    &at,
                    field,
                    format!("a {kind} objective needs `{field}`"),
                    required_help(field),
                );
            }
        }
    }

    fn target(&mut self, t: &Sp<RawTarget>, kind: Kind, by: Option<GroupBy>) -> Option<Target> {
        let ratio = kind != Kind::LeadVolume;
        let check = |c: &mut Self, v: f64, loc: Loc| -> bool {
            if ratio && !(0.0..=1.0).contains(&v) {
                let help = if v > 1.0 && v <= 100.0 {
                    format!("a {kind} target is a ratio: write {} for {v}%", v / 100.0)
                } else {
                    format!("a {kind} target is a ratio between 0 and 1, e.g. `0.9` for 90%")
                };
                c.error_help(loc, format!("target {v} is not between 0 and 1"), help);
                return false;
            }
            if !ratio && (v < 0.0 || !v.is_finite()) {
                c.error_help(
                    loc,
                    format!("target {v} is negative"),
                    "a lead_volume target counts MQLs per period",
                );
                return false;
            }
            true
        };
        let mut ok = true;
        let target = match &t.value {
            RawTarget::One(v) => {
                ok &= check(self, *v, t.loc);
                if let (Kind::LeadVolume, Some(by)) = (kind, by) {
                    self.error_help(
                        t.loc,
                        format!("with `by: {by}` one number would be every {by}'s target"),
                        format!(
                            "give a target per {by}, e.g. `{{ webinar: 150, default: 50 }}` \
                             (`default` covers the {by}s not named), or drop `by` for one total"
                        ),
                    );
                    ok = false;
                }
                Target::Uniform(*v)
            }
            RawTarget::PerGroup(entries) => {
                if by.is_none() {
                    self.error_help(
                        t.loc,
                        "a per-group target needs `by`",
                        "add e.g. `by: channel` to split the figures, or give one number",
                    );
                    ok = false;
                }
                if entries.is_empty() {
                    self.error(t.loc, "empty target map");
                    ok = false;
                }
                let mut groups = BTreeMap::new();
                let mut default = None;
                for (group, value) in entries {
                    ok &= check(self, value.value, value.loc);
                    if group.value == "default" {
                        default = Some(value.value);
                    } else {
                        groups.insert(group.value.clone(), value.value);
                    }
                }
                Target::PerGroup { groups, default }
            }
        };
        ok.then_some(target)
    }

    /// `min_attempts: 6`, or `{ events: 3, default: 6 }` with `by`.
    fn min_attempts(&mut self, m: &Sp<RawAttempts>, by: Option<GroupBy>) -> Option<MinAttempts> {
        let max = defaults::MAX_MIN_ATTEMPTS;
        let whole = |c: &mut Self, v: f64, loc: Loc| -> Option<u32> {
            if v.fract() == 0.0 && (1.0..=max as f64).contains(&v) {
                return Some(v as u32);
            }
            c.error(
                loc,
                format!("`min_attempts` must be a whole number between 1 and {max}, found {v}"),
            );
            None
        };
        match &m.value.0 {
            RawTarget::One(v) => whole(self, *v, m.loc).map(MinAttempts::Uniform),
            RawTarget::PerGroup(entries) => {
                let Some(by) = by else {
                    self.error_help(
                        m.loc,
                        "a `min_attempts` map needs `by`",
                        "add e.g. `by: channel` to owe a different minimum per channel, or give one number",
                    );
                    return None;
                };
                let mut ok = true;
                let mut groups = BTreeMap::new();
                let mut default = None;
                let named_default = entries.iter().any(|(g, _)| g.value == "default");
                for (group, value) in entries {
                    match whole(self, value.value, value.loc) {
                        Some(n) if group.value == "default" => default = Some(n),
                        Some(n) => {
                            groups.insert(group.value.clone(), n);
                        }
                        None => ok = false,
                    }
                }
                if !named_default {
                    self.error_help(
                        m.loc,
                        "the `min_attempts` map has no `default`",
                        format!(
                            "every lead given up on owes some minimum: add e.g. `default: 6` \
                             for the {by}s the map does not name"
                        ),
                    );
                }
                let default = default?;
                ok.then_some(MinAttempts::PerGroup { groups, default })
            }
        }
    }

    fn cost(&mut self, c: &Sp<RawCost>, objective: &Node) -> Option<f64> {
        let positive = |v: f64| v > 0.0 && v.is_finite();
        match &c.value {
            RawCost::Amount(v) if positive(*v) => Some(*v),
            RawCost::Amount(v) => {
                self.error_help(
                    c.loc,
                    format!("`cost_per_attempt` must be above 0, found {v}"),
                    "the cost of one contact attempt in the reporting currency, e.g. `4.50`",
                );
                None
            }
            RawCost::Rate(rate) => {
                let map = objective.get("cost_per_attempt").cloned().unwrap_or(Node {
                    loc: c.loc,
                    value: Value::Null,
                });
                let mut parts = Vec::new();
                for (field, v) in [
                    ("hourly_cost", &rate.hourly_cost),
                    ("attempts_per_hour", &rate.attempts_per_hour),
                ] {
                    match v {
                        Some(v) if positive(v.value) => parts.push(v.value),
                        Some(v) => self.error(
                            v.loc,
                            format!("`{field}` must be above 0, found {}", v.value),
                        ),
                        None => self.missing(
                            &map,
                            field,
                            format!("missing field `{field}`"),
                            hints::example_for(field).unwrap_or_default().to_owned(),
                        ),
                    }
                }
                match parts[..] {
                    [hourly_cost, attempts_per_hour] => Some(hourly_cost / attempts_per_hour),
                    _ => None,
                }
            }
        }
    }

    fn alert(
        &mut self,
        a: &RawAlert,
        owner: &[(String, Loc)],
    ) -> (Option<Alert>, Vec<(String, Loc)>) {
        let mut alert = default_alert(owner);
        let mut ok = true;
        for (text, into) in [
            (&a.pending_for, &mut alert.pending_for),
            (&a.keep_firing_for, &mut alert.keep_firing_for),
            (&a.repeat, &mut alert.repeat),
        ] {
            if let Some(text) = text {
                match self.duration(text) {
                    Some(d) => *into = d,
                    None => ok = false,
                }
            }
        }
        if let Some(r) = &a.repeat
            && ok
            && alert.repeat < defaults::MIN_REPEAT
        {
            self.error_help(
                r.loc,
                format!(
                    "`repeat: {}` would mail on nearly every evaluation",
                    alert.repeat
                ),
                "repeat at most once a minute; daily (`24h`) suits SLA matters",
            );
            ok = false;
        }
        let mut teams = Vec::new();
        if let Some(notify) = &a.notify {
            let (who, named, all_ok) = self.recipients(notify);
            alert.notify = who;
            teams = named;
            ok &= all_ok;
            if notify.value.0.is_empty() {
                self.error_help(
                    notify.loc,
                    "`notify` is empty: nobody would hear of this alert",
                    "name teams or addresses, or remove `notify` to alert the owner",
                );
                ok = false;
            }
        }
        if let Some(s) = &a.send_resolved {
            alert.send_resolved = s.value;
        }
        if let Some(p) = &a.on_error {
            alert.on_error = p.value;
        }
        if let Some(p) = &a.on_no_data {
            alert.on_no_data = p.value;
        }
        (ok.then_some(alert), teams)
    }

    /// Team names and addresses: the recipients, the teams named (to check
    /// that they exist), and whether every one was well formed.
    fn recipients(
        &mut self,
        list: &Sp<Names<raw::RecipientText>>,
    ) -> (Vec<Recipient>, Vec<(String, Loc)>, bool) {
        let (mut out, mut teams, mut ok) = (Vec::new(), Vec::new(), true);
        for (who, loc) in names(list) {
            if who.contains('@') {
                match values::email(&who) {
                    Ok(()) => out.push(Recipient::Email(who)),
                    Err(p) => {
                        self.problem(loc, &who, p);
                        ok = false;
                    }
                }
            } else if self.name(&who, loc, What::Team) {
                out.push(Recipient::Team(who.clone()));
                teams.push((who, loc));
            } else {
                ok = false;
            }
        }
        (out, teams, ok)
    }

    /// `notify_reps`: the notices and their receivers, and the teams named.
    fn notify_reps(&mut self, n: &RawNotifyReps) -> (Option<NotifyReps>, Vec<(String, Loc)>) {
        let mut ok = true;
        let before_deadline = n.before_deadline.as_ref().and_then(|s| {
            let share = match &s.value {
                RawShare::Number(v) => Some(*v),
                RawShare::Text(t) => t
                    .trim()
                    .strip_suffix('%')
                    .and_then(|p| p.trim().parse::<f64>().ok())
                    .map(|p| p / 100.0),
            };
            match share {
                Some(v) if v > 0.0 && v < 1.0 => Some(v),
                _ => {
                    self.error_help(
                        s.loc,
                        "`before_deadline` must be a share of the time to the deadline, above 0% and below 100%",
                        "e.g. `before_deadline: 75%` reminds the owner when three quarters of the time is gone",
                    );
                    ok = false;
                    None
                }
            }
        });
        let (overdue, teams) = match &n.overdue {
            Some(list) => {
                let (who, teams, all_ok) = self.recipients(list);
                ok &= all_ok;
                if list.value.0.is_empty() {
                    self.error_help(
                        list.loc,
                        "`overdue` is empty: nobody would hear of an overdue lead",
                        "name teams or addresses, or remove `overdue`",
                    );
                    ok = false;
                }
                (who, teams)
            }
            None => (Vec::new(), Vec::new()),
        };
        let on_handoff = n.on_handoff.as_ref().is_some_and(|b| b.value);
        let notify = NotifyReps {
            on_handoff,
            before_deadline,
            overdue,
        };
        (ok.then_some(notify), teams)
    }

    /// `trend:` on an objective of `kind`.
    fn trend(&mut self, t: &RawTrend, kind: Option<Kind>) -> Option<Trend> {
        let mut ok = true;
        let ratio = !matches!(kind, Some(Kind::LeadVolume | Kind::Profitability));
        let drop = match &t.drop {
            None => defaults::TREND_DROP,
            Some(s) => {
                let share = match &s.value {
                    RawShare::Number(v) => Some(*v),
                    RawShare::Text(text) => text
                        .trim()
                        .strip_suffix('%')
                        .and_then(|p| p.trim().parse::<f64>().ok())
                        .map(|p| p / 100.0),
                };
                match share {
                    Some(v) if v > 0.0 && v < 1.0 => v,
                    _ => {
                        let help = if ratio {
                            "for a ratio the drop is in points: `drop: 0.10` tells a fall from 95% to 84%"
                        } else {
                            "for a count the drop is relative: `drop: 10%` tells 360 MQLs after 400"
                        };
                        self.error_help(
                            s.loc,
                            "`drop` must be above 0 and below 1 (or a percentage)",
                            help,
                        );
                        ok = false;
                        0.0
                    }
                }
            }
        };
        let min_denominator = match &t.min_denominator {
            None => defaults::TREND_MIN_DENOMINATOR,
            Some(n) => match u64::try_from(n.value) {
                Ok(v) => v,
                Err(_) => {
                    self.error_help(
                        n.loc,
                        format!("`min_denominator` must be 0 or more, found {}", n.value),
                        "the volume below which no trend is told, e.g. `min_denominator: 30`",
                    );
                    ok = false;
                    0
                }
            },
        };
        let compare = match t.compare.as_ref().map(|c| c.value) {
            None | Some(raw::TrendCompare::Previous) => TrendCompare::Previous,
            Some(raw::TrendCompare::MedianOf3) => TrendCompare::MedianOf3,
        };
        ok.then_some(Trend {
            compare,
            drop,
            min_denominator,
        })
    }

    /// `review:`, the top-level block.
    fn review(&mut self, r: &RawReview) -> Option<Review> {
        let mut ok = true;
        let mut review = Review::default();
        if let Some(p) = &r.period {
            match p.value.trim() {
                "month" => review.period = ReviewEvery::Month,
                "quarter" => review.period = ReviewEvery::Quarter,
                other => {
                    self.error_help(
                        p.loc,
                        format!("`period` must be `month` or `quarter`, found `{other}`"),
                        "the calendar period the review covers, e.g. `period: month`",
                    );
                    ok = false;
                }
            }
        }
        if let Some(s) = &r.send_at {
            match chrono::NaiveTime::parse_from_str(s.value.trim(), "%H:%M") {
                Ok(t) => review.send_at = t,
                Err(_) => {
                    self.error_help(
                        s.loc,
                        format!("`send_at` must be a local time `HH:MM`, found `{}`", s.value),
                        "e.g. `send_at: \"09:00\"`: the review goes after 9 a.m. on the first business day",
                    );
                    ok = false;
                }
            }
        }
        if let Some(list) = &r.to {
            let (who, teams, all_ok) = self.recipients(list);
            ok &= all_ok;
            if list.value.0.is_empty() {
                self.error_help(
                    list.loc,
                    "`to` is empty: nobody would get the review",
                    "name teams or addresses, or remove `to` to send it to every team",
                );
                ok = false;
            }
            review.to = who;
            let file = self.file;
            self.review_refs.extend(
                teams
                    .into_iter()
                    .map(|(n, l)| (file, What::Team, n, l, "to")),
            );
        }
        if let Some(c) = &r.calendar {
            let name = c.value.0.clone();
            if self.name(&name, c.loc, What::Calendar) {
                self.review_refs
                    .push((self.file, What::Calendar, name.clone(), c.loc, "calendar"));
                review.calendar_name = Some(name);
            } else {
                ok = false;
            }
        }
        ok.then_some(review)
    }

    // -----------------------------------------------------------------------
    // Across files.

    fn check_across_files(&mut self) {
        let team_defs: Vec<_> = self
            .teams
            .iter()
            .map(|d| (d.name.clone(), d.file, d.loc))
            .collect();
        let calendar_defs: Vec<_> = self
            .calendars
            .iter()
            .map(|d| (d.name.clone(), d.file, d.loc))
            .collect();
        let objective_defs: Vec<_> = self
            .objectives
            .iter()
            .filter_map(|d| d.name.as_ref().map(|(n, l)| (n.clone(), d.file, *l)))
            .collect();
        let teams = self.duplicates(What::Team, team_defs);
        let calendars = self.duplicates(What::Calendar, calendar_defs);
        let objectives = self.duplicates(What::Objective, objective_defs);
        let kinds: HashMap<String, (Option<Kind>, usize, Loc)> = self
            .objectives
            .iter()
            .filter_map(|o| {
                o.name
                    .as_ref()
                    .map(|(n, l)| (n.clone(), (o.kind, o.file, *l)))
            })
            .collect();

        let mut refs: Vec<(usize, What, String, Loc, &'static str)> = Vec::new();
        for o in &self.objectives {
            let f = o.file;
            refs.extend(
                o.owner
                    .iter()
                    .map(|(n, l)| (f, What::Team, n.clone(), *l, "owner")),
            );
            refs.extend(
                o.notify
                    .iter()
                    .map(|(n, l)| (f, What::Team, n.clone(), *l, "notify")),
            );
            refs.extend(
                o.calendar
                    .iter()
                    .map(|(n, l)| (f, What::Calendar, n.clone(), *l, "calendar")),
            );
            refs.extend(
                o.checks
                    .iter()
                    .map(|(n, l)| (f, What::Objective, n.clone(), *l, "checks")),
            );
        }
        refs.extend(self.review_refs.iter().cloned());
        for (file, what, name, loc, field) in refs {
            let known = match what {
                What::Team => &teams,
                What::Calendar => &calendars,
                What::Objective => &objectives,
            };
            if !known.contains(&name) {
                if !self.unknown_definitions && !self.broken.contains(&(what, name.clone())) {
                    let (message, help) = unknown_reference(what, &name, known, field);
                    self.diag(file, loc, message, Some(help), None);
                }
                continue;
            }
            if what != What::Objective {
                continue;
            }
            if let Some(&(Some(kind), def_file, def_loc)) = kinds.get(&name)
                && kind != Kind::ContactAttempts
            {
                let note = format!("`{name}` is defined at {}", self.place(def_file, def_loc));
                self.diag(
                    file,
                    loc,
                    format!("`checks` needs a contact_attempts objective; `{name}` is {kind}"),
                    Some("name the objective whose `min_attempts` this one checks".to_owned()),
                    Some(note),
                );
            }
        }
        self.per_group_checks();
    }

    /// A cutoff per channel can only be set against a minimum per channel:
    /// a `min_attempts` map must split by the same `by` as the objective
    /// that checks it.
    fn per_group_checks(&mut self) {
        let mut found = Vec::new();
        for o in &self.objectives {
            let (Some((name, loc)), Some(built)) = (&o.checks, &o.built) else {
                continue;
            };
            let checked = self.objectives.iter().find(|c| {
                c.name.as_ref().is_some_and(|(n, _)| n == name)
                    && c.kind == Some(Kind::ContactAttempts)
            });
            let Some(c) = checked else { continue };
            let Some(Objective {
                spec: Spec::ContactAttempts { min_attempts, .. },
                by: Some(split),
                ..
            }) = &c.built
            else {
                continue;
            };
            if min_attempts.is_per_group() && built.by != Some(*split) {
                let loc_def = c.name.as_ref().map_or(*loc, |(_, l)| *l);
                found.push((
                    o.file,
                    *loc,
                    name.clone(),
                    *split,
                    built.name.clone(),
                    c.file,
                    loc_def,
                ));
            }
        }
        for (file, loc, name, split, me, def_file, def_loc) in found {
            let note = format!("`{name}` is defined at {}", self.place(def_file, def_loc));
            self.diag(
                file,
                loc,
                format!(
                    "`{name}` owes a `min_attempts` per {split}, but `{me}` does not split by {split}"
                ),
                Some(format!(
                    "give `{me}` `by: {split}` so each {split}'s cutoff meets its own minimum, \
                     or give `{name}` one `min_attempts`"
                )),
                Some(note),
            );
        }
    }

    /// Reports names defined more than once; returns every name defined.
    fn duplicates(&mut self, what: What, defs: Vec<(String, usize, Loc)>) -> BTreeSet<String> {
        let mut first: HashMap<String, (usize, Loc)> = HashMap::new();
        let mut dups = Vec::new();
        for (name, file, loc) in defs {
            match first.get(&name) {
                Some(&(f, l)) => {
                    let place = self.place(f, l);
                    dups.push((name, file, loc, place));
                }
                None => {
                    first.insert(name, (file, loc));
                }
            }
        }
        let word = what.word();
        for (name, file, loc, place) in dups {
            let help = if what == What::Objective {
                "objective names are unique across all rule files; rename one".to_owned()
            } else {
                format!(
                    "{word}s are shared by all rule files, so each is defined once; remove or rename one"
                )
            };
            self.diag(
                file,
                loc,
                format!("{word} `{name}` is defined twice"),
                Some(help),
                Some(format!("first defined at {place}")),
            );
        }
        first.into_keys().collect()
    }

    fn build(self) -> RuleSet {
        let calendars: BTreeMap<String, Arc<Calendar>> = self
            .calendars
            .into_iter()
            .filter_map(|d| Some((d.name, Arc::new(d.value?))))
            .collect();
        let teams: BTreeMap<String, Team> = self
            .teams
            .into_iter()
            .filter_map(|d| Some((d.name, d.value?)))
            .collect();
        let mut objectives: Vec<Objective> = self
            .objectives
            .into_iter()
            .filter_map(|d| {
                let mut o = d.built?;
                let cal = d.calendar.and_then(|(n, _)| calendars.get(&n).cloned());
                if let Spec::LeadVolume { calendar, .. } | Spec::PercentWorked { calendar, .. } =
                    &mut o.spec
                {
                    *calendar = cal;
                }
                Some(o)
            })
            .collect();
        // `checks` names a contact_attempts objective (checked above); the
        // evaluator gets the attempts it demands, not a name to look up.
        let demanded: BTreeMap<String, MinAttempts> = objectives
            .iter()
            .filter_map(|o| match &o.spec {
                Spec::ContactAttempts { min_attempts, .. } => {
                    Some((o.name.clone(), min_attempts.clone()))
                }
                _ => None,
            })
            .collect();
        for o in &mut objectives {
            if let Spec::Profitability { checks, .. } = &mut o.spec {
                *checks = checks.take().and_then(|c| {
                    let min_attempts = demanded.get(&c.objective)?.clone();
                    Some(Checks { min_attempts, ..c })
                });
            }
        }
        let currency = self.currency.map(|(c, _)| c);
        for o in &mut objectives {
            o.currency.clone_from(&currency);
        }
        RuleSet {
            objectives,
            currency,
            lead_url: self.lead_url.map(|(u, _)| u),
            review: self.review.map(|(mut r, _)| {
                r.calendar = r
                    .calendar_name
                    .as_ref()
                    .and_then(|n| calendars.get(n).cloned());
                r
            }),
            teams,
            calendars,
            files: self.files.iter().map(|f| f.path.clone()).collect(),
        }
    }
}

fn unknown_reference(
    what: What,
    name: &str,
    known: &BTreeSet<String>,
    field: &str,
) -> (String, String) {
    let word = what.word();
    let message = match crate::suggest::did_you_mean(name, known.iter().map(String::as_str)) {
        Some(near) => format!("unknown {word} `{name}` — did you mean `{near}`?"),
        None => format!("unknown {word} `{name}`"),
    };
    let listed: Vec<&str> = known.iter().map(String::as_str).collect();
    let mut help = match what {
        What::Objective => "`checks` names a contact_attempts objective".to_owned(),
        _ if known.is_empty() => {
            format!("no {word}s are defined; define them under `{word}s:` in any rule file")
        }
        _ => format!("the {word}s are {}", hints::list(&listed)),
    };
    if field == "notify" {
        help.push_str("; `notify` also takes email addresses");
    }
    (message, help)
}

fn default_alert(owner: &[(String, Loc)]) -> Alert {
    Alert {
        pending_for: Duration::ZERO,
        keep_firing_for: Duration::ZERO,
        notify: owner
            .iter()
            .map(|(n, _)| Recipient::Team(n.clone()))
            .collect(),
        repeat: defaults::REPEAT,
        send_resolved: true,
        on_error: Default::default(),
        on_no_data: Default::default(),
    }
}

/// The names of a one-or-many value with their locations (a single name takes
/// the location of the whole value).
fn names<K>(names: &Sp<Names<K>>) -> Vec<(String, Loc)> {
    names
        .value
        .0
        .iter()
        .map(|n| {
            (
                n.value.0.clone(),
                if n.loc.is_known() { n.loc } else { names.loc },
            )
        })
        .collect()
}

fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn required_help(field: &str) -> String {
    match field {
        "window" => "e.g. `window: month` or `window: rolling 28d`".to_owned(),
        "target" => "e.g. `target: 0.9` (a ratio; a count of MQLs for lead_volume)".to_owned(),
        "respond_within" => {
            "the promised time to the first human attempt, e.g. `respond_within: 4h`".to_owned()
        }
        "min_attempts" => "attempts owed before giving up, e.g. `min_attempts: 6`".to_owned(),
        "cost_per_attempt" => {
            "e.g. `cost_per_attempt: 4.50` or `{ hourly_cost: 45, attempts_per_hour: 10 }`"
                .to_owned()
        }
        other => hints::example_for(other).unwrap_or_default().to_owned(),
    }
}

/// The location of characters `offset..offset + len` of a scalar `text` written
/// at `loc`, when the scalar sits on one line plainly or in quotes; else `loc`.
pub(crate) fn part_loc(loc: Loc, text: &str, offset: usize, len: usize) -> Loc {
    let n = text.chars().count() as u32;
    if text.contains('\n') || !loc.is_known() {
        return loc;
    }
    let start = if loc.len == n {
        loc.column
    } else if loc.len == n + 2 {
        loc.column + 1
    } else {
        return loc;
    };
    Loc {
        line: loc.line,
        column: start + offset as u32,
        len: len as u32,
    }
}
