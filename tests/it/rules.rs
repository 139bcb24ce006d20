//! Rule files: what loads, what does not and how the errors read; the shipped
//! SLA; the JSON Schema; and `handoff check` / `handoff schema` as a user runs them.
//!
//! Error tests state the location they expect as `line:column`, worked out by
//! hand from the YAML in the test. Most tests write one file whose first lines
//! are [`HEAD`]; its objectives start at line 5, so the first objective's `name`
//! key sits at 5:5 and each field of it at `4 + n`:5.

use std::path::{Path, PathBuf};

use handoff::rules::{self, GroupBy, Kind, MinAttempts, Recipient, Spec, Target, Window};

/// Lines 1–4 of most test files.
const HEAD: &str = "\
version: 1
timezone: UTC
teams: { sales: { email: [sales@acme.example] }, marketing: { email: mkt@acme.example } }
objectives:
";

/// A valid percent_worked objective at lines 5–11, to start from.
const WORKED: &str = "  - name: o
    kind: percent_worked
    owner: sales
    schedule: \"0 */5 * * * *\"
    window: rolling 28d
    respond_within: 4h
    target: 0.9
";

/// Each error of loading `files` as `file:line:column: message`.
fn errors_of(files: &[(&str, &str)]) -> Vec<String> {
    let errors = rules::load_texts(files).expect_err("the rules should not load");
    errors
        .errors()
        .iter()
        .map(|e| {
            format!(
                "{}:{}:{}: {}",
                e.file.display(),
                e.line,
                e.column,
                e.message
            )
        })
        .collect()
}

/// The errors of one file `t.yaml` holding [`HEAD`] followed by `objectives`.
fn errors(objectives: &str) -> Vec<String> {
    errors_of(&[("t.yaml", &format!("{HEAD}{objectives}"))])
}

/// The single error of `t.yaml`, with its help.
fn error(objectives: &str) -> (String, Option<String>) {
    let text = format!("{HEAD}{objectives}");
    let errors = rules::load_texts(&[("t.yaml", &text)]).expect_err("should not load");
    assert_eq!(errors.len(), 1, "{errors}");
    let e = &errors.errors()[0];
    (
        format!("{}:{}: {}", e.line, e.column, e.message),
        e.help.clone(),
    )
}

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

// ---------------------------------------------------------------------------
// One test per class of error.

#[test]
fn yaml_syntax_error() {
    let (at, _) = error(&WORKED.replace("    target: 0.9\n", "    target: 0.9\n    target: 0.8\n"));
    assert_eq!(
        at,
        "12:5: duplicate key `target`: each key may appear only once in a mapping"
    );

    let errs = errors_of(&[("t.yaml", "version: 1\nobjectives: [\n")]);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("t.yaml:") && errs[0].contains(": invalid YAML: "),
        "{errs:?}"
    );
}

#[test]
fn unknown_field_suggests_the_near_miss() {
    let text = WORKED.replace("respond_within", "respnd_within");
    assert_eq!(
        error(&text),
        (
            "10:5: unknown field `respnd_within` — did you mean `respond_within`?".into(),
            None
        ),
        "a misspelled required field is reported once, not also as missing"
    );
}

#[test]
fn unknown_field_without_a_near_miss_lists_the_fields() {
    let (at, help) = error(&format!("{WORKED}    colour: red\n"));
    assert_eq!(at, "12:5: unknown field `colour`");
    assert!(
        help.unwrap()
            .starts_with("the fields allowed here are `name`, `description`, `kind`")
    );
}

#[test]
fn alert_field_at_the_objective_level_says_where_it_belongs() {
    let (at, help) = error(&format!("{WORKED}    repeat: 24h\n"));
    assert_eq!(at, "12:5: unknown field `repeat`");
    assert_eq!(help.as_deref(), Some("`repeat` belongs under `alert:`"));
}

#[test]
fn every_error_of_every_file_in_one_run() {
    let a = format!(
        "{HEAD}{}  - name: p\n    kind: lead_volume\n    owner: marketing\n    schedule: \"@daily\"\n    window: month\n    taget: 10\n",
        WORKED
            .replace("respond_within", "respnd_within")
            .replace("window:", "windw:"),
    );
    let b = "version: 1\ntimezone: UTC\nobjectives:\n  - name: q\n    kind: lead_quality\n    owner: salse\n    schedule: \"@hourly\"\n    window: month\n    target: 60\n";
    assert_eq!(
        errors_of(&[("a.yaml", &a), ("b.yaml", b)]),
        [
            "a.yaml:9:5: unknown field `windw` — did you mean `window`?",
            "a.yaml:10:5: unknown field `respnd_within` — did you mean `respond_within`?",
            "a.yaml:17:5: unknown field `taget` — did you mean `target`?",
            "b.yaml:6:12: unknown team `salse` — did you mean `sales`?",
            "b.yaml:9:13: target 60 is not between 0 and 1",
        ]
    );
}

#[test]
fn wrong_type() {
    let text = "  - name: o\n    kind: contact_attempts\n    owner: sales\n    schedule: \"@daily\"\n    window: rolling 28d\n    min_attempts: six\n    target: 0.9\n";
    assert_eq!(
        error(text).0,
        "10:19: expected a whole number, or a mapping of group to whole number, found the text \"six\""
    );
}

#[test]
fn unknown_kind() {
    let (at, help) = error(&WORKED.replace("percent_worked", "percent_workd"));
    assert_eq!(
        at,
        "6:11: unknown value `percent_workd` — did you mean `percent_worked`?"
    );
    assert!(
        help.unwrap()
            .contains("`lead_volume`, `lead_quality`, `percent_worked`")
    );
    assert_eq!(
        error(&WORKED.replace("percent_worked", "5")).0,
        "6:11: expected a name, found the number 5"
    );
}

#[test]
fn missing_common_field_points_at_the_objective() {
    let (at, help) = error(&WORKED.replace("    schedule: \"0 */5 * * * *\"\n", ""));
    assert_eq!(at, "5:5: objective `o` has no `schedule`");
    assert!(help.unwrap().contains("\"0 */15 * * * *\""));
}

#[test]
fn missing_kind_field_points_at_the_kind() {
    let (at, help) = error(&WORKED.replace("    respond_within: 4h\n", ""));
    assert_eq!(
        at,
        "6:11: a percent_worked objective needs `respond_within`"
    );
    assert!(help.unwrap().contains("respond_within: 4h"));
}

#[test]
fn field_the_kind_does_not_take() {
    let text = WORKED.replace("percent_worked", "lead_quality");
    let (at, help) = error(&text);
    assert_eq!(
        at,
        "10:5: `respond_within` does not apply to a lead_quality objective"
    );
    assert_eq!(
        help.as_deref(),
        Some("`respond_within` belongs to percent_worked objectives")
    );

    let text = "  - name: e\n    kind: profitability\n    owner: sales\n    schedule: \"@weekly\"\n    window: month\n    cost_per_attempt: 4.5\n";
    let (at, help) = error(text);
    assert_eq!(
        at,
        "9:5: `window` does not apply to a profitability objective"
    );
    assert!(help.unwrap().contains("`lookback`"));
}

#[test]
fn numeric_weekday_is_ambiguous() {
    let (at, help) = error(&WORKED.replace("0 */5 * * * *", "0 9 * * 1-5"));
    assert_eq!(
        at,
        "8:24: numeric day-of-week `1-5` is ambiguous: classic cron counts 0 = Sunday and \
         1 = Monday, handoff's cron counts 1 = Sunday"
    );
    assert!(
        help.unwrap()
            .contains("(in classic cron `1-5` is `MON-FRI`)")
    );
}

#[test]
fn schedules_that_misfire() {
    let cases = [
        ("0 0 0 30 2 *", "8:15: this schedule never fires"),
        (
            "* * * * * *",
            "8:16: the seconds field `*` fires more than once a minute",
        ),
        ("0 0 0 1 1 * 2030", "8:28: a year field is not supported"),
        (
            "0 0 9 1 * MON",
            "8:22: both day-of-month `1` and day-of-week `MON` are restricted: here both must match, while classic cron fires when either does",
        ),
        ("0 */5 * *", "8:15: expected 6 cron fields (or 5), found 4"),
    ];
    for (cron, expected) in cases {
        assert_eq!(
            error(&WORKED.replace("0 */5 * * * *", cron)).0,
            expected,
            "{cron}"
        );
    }
}

#[test]
fn unknown_timezone_suggests_the_near_miss() {
    let text = format!("{}{WORKED}", HEAD.replace("UTC", "America/New_Yrok"));
    let errs = errors_of(&[("t.yaml", &text)]);
    assert_eq!(
        errs,
        ["t.yaml:2:11: unknown time zone `America/New_Yrok` — did you mean `America/New_York`?"]
    );
}

#[test]
fn objectives_need_a_timezone() {
    let text = format!("{}{WORKED}", HEAD.replace("timezone: UTC\n", ""));
    assert_eq!(
        errors_of(&[("t.yaml", &text)]),
        ["t.yaml:1:1: missing field `timezone`"]
    );
}

#[test]
fn durations() {
    let (at, help) = error(&WORKED.replace("4h", "1M"));
    assert_eq!(at, "10:22: `M` (months) is not a duration unit");
    assert!(help.unwrap().contains("`window: month`"));
    assert_eq!(
        error(&WORKED.replace("4h", "30")).0,
        "10:21: `30` has no unit"
    );
    assert_eq!(
        error(&WORKED.replace("4h", "1.5h")).0,
        "10:21: `1.5h` has a fraction"
    );
}

#[test]
fn windows() {
    assert_eq!(
        error(&WORKED.replace("rolling 28d", "monthly")).0,
        "9:13: unknown window `monthly` — did you mean `month`?"
    );
    assert_eq!(
        error(&WORKED.replace("rolling 28d", "rolling 30m")).0,
        "9:23: `m` is too fine a unit here"
    );
    let (at, help) = error(&WORKED.replace("rolling 28d", "28d"));
    assert_eq!(
        (at.as_str(), help.as_deref()),
        (
            "9:13: `28d` is a length, not a window",
            Some("did you mean `rolling 28d`?")
        )
    );
}

#[test]
fn ratio_targets_are_between_0_and_1() {
    let (at, help) = error(&WORKED.replace("0.9", "95"));
    assert_eq!(at, "11:13: target 95 is not between 0 and 1");
    assert_eq!(
        help.as_deref(),
        Some("a percent_worked target is a ratio: write 0.95 for 95%")
    );
}

#[test]
fn per_group_targets_need_by_and_lead_volume_by_needs_a_map() {
    let volume = "  - name: v\n    kind: lead_volume\n    owner: marketing\n    schedule: \"@hourly\"\n    window: month\n";
    let (at, _) = error(&format!(
        "{volume}    target: {{ webinar: 150, default: 50 }}\n"
    ));
    assert_eq!(at, "10:13: a per-group target needs `by`");
    let errs = errors(&format!(
        "{volume}    by: channel\n    target: {{ webinar: 150, default: -5 }}\n"
    ));
    assert_eq!(errs, ["t.yaml:11:38: target -5 is negative"]);
    let (at, help) = error(&format!("{volume}    by: channel\n    target: 400\n"));
    assert_eq!(
        at,
        "11:13: with `by: channel` one number would be every channel's target"
    );
    assert!(help.unwrap().contains("{ webinar: 150, default: 50 }"));
}

#[test]
fn warn_below_is_a_ratio() {
    let volume = "  - name: v\n    kind: lead_volume\n    owner: marketing\n    schedule: \"@hourly\"\n    window: month\n    target: 400\n    warn_below: 1.5\n";
    assert_eq!(
        error(volume).0,
        "11:17: `warn_below` must be above 0 and at most 1, found 1.5"
    );
}

#[test]
fn unknown_teams() {
    let (at, help) = error(&WORKED.replace("owner: sales", "owner: [sales, salse]"));
    assert_eq!(at, "7:20: unknown team `salse` — did you mean `sales`?");
    assert_eq!(
        help.as_deref(),
        Some("the teams are `marketing` and `sales`")
    );

    let (at, help) = error(&format!("{WORKED}    alert: {{ notify: [sales, ops] }}\n"));
    assert_eq!(at, "12:30: unknown team `ops`");
    assert!(
        help.unwrap()
            .ends_with("`notify` also takes email addresses")
    );

    assert_eq!(
        error(&format!("{WORKED}    alert: {{ notify: [sales, ops@] }}\n")).0,
        "12:30: `ops@` is not an email address"
    );
    assert_eq!(
        error(&WORKED.replace("owner: sales", "owner: sales@acme.example")).0,
        "7:12: owner `sales@acme.example` is an address; owners are teams"
    );
}

#[test]
fn unknown_calendar() {
    let (at, help) = error(&format!("{WORKED}    calendar: ofice\n"));
    assert_eq!(at, "12:15: unknown calendar `ofice`");
    assert_eq!(
        help.as_deref(),
        Some("no calendars are defined; define them under `calendars:` in any rule file")
    );
}

#[test]
fn checks_names_a_contact_attempts_objective() {
    let econ = "  - name: e\n    kind: profitability\n    owner: sales\n    schedule: \"@weekly\"\n    cost_per_attempt: 4.5\n    checks: ";
    let errs = rules::load_texts(&[("t.yaml", &format!("{HEAD}{WORKED}{econ}o\n"))]).unwrap_err();
    let e = &errs.errors()[0];
    assert_eq!(
        (e.line, e.column, e.message.as_str()),
        (
            17,
            13,
            "`checks` needs a contact_attempts objective; `o` is percent_worked"
        )
    );
    assert_eq!(e.note.as_deref(), Some("`o` is defined at t.yaml:5:11"));
    assert_eq!(
        error(&format!("{WORKED}{econ}persistance\n")).0,
        "17:13: unknown objective `persistance`"
    );
}

#[test]
fn names_are_unique_across_files() {
    let a = format!("{HEAD}{WORKED}");
    let b = format!(
        "version: 1\ntimezone: UTC\nteams:\n  sales: {{ email: [x@acme.example] }}\nobjectives:\n{WORKED}"
    );
    let errs = rules::load_texts(&[("a.yaml", &a), ("b.yaml", &b)]).unwrap_err();
    let found: Vec<(String, Option<String>)> = errs
        .errors()
        .iter()
        .map(|e| {
            (
                format!(
                    "{}:{}:{}: {}",
                    e.file.display(),
                    e.line,
                    e.column,
                    e.message
                ),
                e.note.clone(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "b.yaml:4:3: team `sales` is defined twice".into(),
                Some("first defined at a.yaml:3:10".into())
            ),
            (
                "b.yaml:6:11: objective `o` is defined twice".into(),
                Some("first defined at a.yaml:5:11".into())
            ),
        ]
    );
}

#[test]
fn calendars_hours_and_holidays() {
    let text = "version: 1\ntimezone: UTC\ncalendars:\n  office:\n    hours: { mon-fir: \"09:00-17:00\", sat: \"10:00-09:00\" }\n    holidays: [2026-12-25, 2026-13-01]\n  late:\n    hours:\n      mon-fri: 09:00-17:00\n      wed: 10:00-12:00\n";
    assert_eq!(
        errors_of(&[("c.yaml", text)]),
        [
            "c.yaml:5:18: unknown day `fir` — did you mean `fri`?",
            "c.yaml:5:44: `10:00-09:00` closes before it opens",
            "c.yaml:6:28: `2026-13-01` is not a date",
            "c.yaml:10:7: `wed` is given hours twice",
        ]
    );
}

#[test]
fn names_are_lowercase_words() {
    let (at, help) = error(&WORKED.replace("name: o", "name: Speed To Lead"));
    assert_eq!(
        at,
        "5:11: objective name `Speed To Lead` may contain only lowercase letters, digits and `-`"
    );
    assert_eq!(help.as_deref(), Some("e.g. `speed-to-lead`"));
}

#[test]
fn version_is_1() {
    assert_eq!(
        errors_of(&[("t.yaml", "version: 2\n")]),
        ["t.yaml:1:10: unsupported version 2"]
    );
    assert_eq!(
        errors_of(&[("t.yaml", "teams: {}\n")]),
        ["t.yaml:1:1: missing field `version`"]
    );
    assert_eq!(
        errors_of(&[("t.yaml", "# nothing yet\n")]),
        ["t.yaml:1:1: empty rule file"]
    );
    assert_eq!(
        errors_of(&[("t.yaml", "- version: 1\n")]),
        ["t.yaml:1:1: expected a mapping of fields, found a list"]
    );
}

#[test]
fn settings_that_can_never_work() {
    let quality = "  - name: q\n    kind: lead_quality\n    owner: marketing\n    schedule: \"@daily\"\n    window: week\n    mature_after: 7d\n    target: 0.6\n";
    assert_eq!(
        error(quality).0,
        "10:19: with `mature_after: 7d` no MQL of a `week` window is ever old enough to judge"
    );
    let volume = "  - name: v\n    kind: lead_volume\n    owner: marketing\n    schedule: \"@hourly\"\n    window: rolling 28d\n    calendar: office\n    target: 400\n";
    let text =
        format!("{HEAD}{volume}calendars: {{ office: {{ hours: {{ mon-fri: 09:00-17:00 }} }} }}\n");
    assert_eq!(
        errors_of(&[("t.yaml", &text)]),
        ["t.yaml:10:5: `calendar` changes nothing with a rolling window"]
    );
    let econ = "  - name: e\n    kind: profitability\n    owner: sales\n    schedule: \"@weekly\"\n    cost_per_attempt: { hourly_cost: 45, attempts_per_hour: 0 }\n";
    assert_eq!(
        error(econ).0,
        "9:61: `attempts_per_hour` must be above 0, found 0"
    );
    assert_eq!(
        error(&format!("{WORKED}    alert: {{ repeat: 10s }}\n")).0,
        "12:22: `repeat: 10s` would mail on nearly every evaluation"
    );
}

#[test]
fn errors_read_like_a_compiler() {
    let text = format!(
        "{HEAD}{}",
        WORKED.replace("respond_within", "respnd_within")
    );
    let errors = rules::load_texts(&[("rules/acme.yaml", &text)]).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "rules/acme.yaml:10:5: error: unknown field `respnd_within` — did you mean `respond_within`?\n   \
         |\n10 |     respnd_within: 4h\n   |     ^^^^^^^^^^^^^\n\n"
    );
    assert_eq!(errors.summary(), "1 error in 1 file");
}

#[test]
fn directories_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let empty = rules::load_dir(dir.path()).unwrap_err();
    assert_eq!(
        empty.errors()[0].message,
        "no rule files (*.yaml) in this directory"
    );

    std::fs::write(dir.path().join("teams.yml"), "version: 1\n").unwrap();
    std::fs::create_dir(dir.path().join("sla")).unwrap();
    std::fs::write(dir.path().join("sla/acme.yaml"), format!("{HEAD}{WORKED}")).unwrap();
    std::fs::write(dir.path().join(".hidden.yaml"), "not: [valid").unwrap();
    let errs = rules::load_dir(dir.path()).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(
        errs.errors()[0].message,
        "rule files end in `.yaml`; this file would be ignored"
    );

    std::fs::remove_file(dir.path().join("teams.yml")).unwrap();
    let set = rules::load_dir(dir.path()).unwrap();
    assert_eq!(set.files(), [dir.path().join("sla/acme.yaml")]);
    let one = rules::load_dir(&dir.path().join("sla/acme.yaml")).unwrap();
    assert_eq!(one.objectives().len(), 1);

    let missing = rules::load_dir(&dir.path().join("nope")).unwrap_err();
    assert_eq!(
        missing.errors()[0].message,
        "cannot read: no such file or directory"
    );

    std::fs::write(
        dir.path().join("sla/latin1.yaml"),
        b"version: 1\n# caf\xe9\n",
    )
    .unwrap();
    let errs = rules::load_dir(dir.path()).unwrap_err();
    let e = &errs.errors()[0];
    assert_eq!(
        (e.line, e.column, e.message.as_str()),
        (2, 6, "the file is not UTF-8 text")
    );
}

// ---------------------------------------------------------------------------
// What loads.

#[test]
fn the_shipped_sla_loads_and_uses_every_kind() {
    let set = rules::load_dir(&shipped_dir()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.summary(), "5 objectives in 1 file are valid");
    let mut kinds: Vec<Kind> = set.objectives().iter().map(|o| o.kind()).collect();
    kinds.sort();
    assert_eq!(kinds, Kind::ALL);

    let volume = set.objective("mql-volume").unwrap();
    assert_eq!(volume.by, Some(GroupBy::Channel));
    assert_eq!(volume.target().unwrap().for_group("webinar"), Some(140.0));
    assert_eq!(volume.target().unwrap().for_group("unknown"), None);
    assert_eq!(volume.timezone, chrono_tz::America::New_York);

    let speed = set.objective("speed-to-lead").unwrap();
    let Spec::PercentWorked {
        respond_within,
        calendar: Some(office),
        ..
    } = &speed.spec
    else {
        panic!("{speed:?}")
    };
    assert_eq!(respond_within.as_secs(), 4 * 3600);
    assert_eq!(
        office.hours(chrono::Weekday::Mon)[0].opens(),
        chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap()
    );
    assert!(office.hours(chrono::Weekday::Sat).is_empty());
    assert!(office.is_holiday(chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()));
    assert_eq!(speed.alert.pending_for.as_secs(), 1800);
    assert_eq!(
        set.notify_addresses(speed).into_iter().collect::<Vec<_>>(),
        ["sales-managers@acme.example"]
    );

    let econ = set.objective("attempt-economics").unwrap();
    let Spec::Profitability {
        cost_per_attempt,
        checks: Some(checks),
        lookback,
        min_sample,
        min_conversions,
    } = &econ.spec
    else {
        panic!("{econ:?}")
    };
    assert_eq!(
        (*cost_per_attempt, *min_sample, *min_conversions),
        (4.5, 30, 3)
    );
    assert_eq!(set.currency(), Some("USD"));
    assert_eq!(econ.currency.as_deref(), Some("USD"));
    assert_eq!(econ.window, Window::Rolling(*lookback));
    assert_eq!(
        set.objective(&checks.objective).unwrap().kind(),
        Kind::ContactAttempts
    );
    // Resolved at load: the persistence objective demands six attempts.
    assert_eq!(checks.min_attempts, MinAttempts::Uniform(6));
}

/// A contact_attempts objective split by channel (lines 5–12), to give a
/// `min_attempts` of line 11.
const ATTEMPTS_BY_CHANNEL: &str = "  - name: p
    kind: contact_attempts
    owner: sales
    schedule: \"@daily\"
    window: rolling 28d
    by: channel
    min_attempts: MIN
    target: 0.9
";

#[test]
fn min_attempts_per_channel_needs_by_a_default_and_whole_numbers() {
    let with = |min: &str| ATTEMPTS_BY_CHANNEL.replace("MIN", min);
    let set = rules::load_str(
        "t.yaml",
        &format!("{HEAD}{}", with("{ events: 3, referral: 4, default: 6 }")),
    )
    .unwrap();
    let Spec::ContactAttempts { min_attempts, .. } = &set.objectives()[0].spec else {
        panic!()
    };
    assert_eq!(
        [
            min_attempts.for_group("events"),
            min_attempts.for_group("referral"),
            min_attempts.for_group("webinar"),
            min_attempts.for_group("unknown"),
        ],
        [3, 4, 6, 6]
    );

    let (at, help) = error(&with("{ events: 3 }"));
    assert_eq!(at, "11:19: the `min_attempts` map has no `default`");
    assert!(help.unwrap().contains("`default: 6`"));
    assert_eq!(
        errors(&with("{ events: 2.5, default: 0 }")),
        [
            "t.yaml:11:29: `min_attempts` must be a whole number between 1 and 100, found 2.5",
            "t.yaml:11:43: `min_attempts` must be a whole number between 1 and 100, found 0",
        ]
    );
    let (at, help) = error(&with("{ events: 3, default: 6 }").replace("    by: channel\n", ""));
    assert_eq!(at, "10:19: a `min_attempts` map needs `by`");
    assert!(help.unwrap().contains("`by: channel`"));
    assert_eq!(
        error(&with("101")).0,
        "11:19: `min_attempts` must be a whole number between 1 and 100, found 101"
    );
}

#[test]
fn a_cutoff_per_channel_is_checked_against_the_channels_minimum() {
    let econ = "  - name: e\n    kind: profitability\n    owner: sales\n    schedule: \"@weekly\"\n    cost_per_attempt: 4.5\n    checks: p\n";
    let attempts = ATTEMPTS_BY_CHANNEL.replace("MIN", "{ events: 3, default: 6 }");
    // Without `by` the cutoff is one figure for all channels: refused.
    let errs = rules::load_texts(&[("t.yaml", &format!("{HEAD}{attempts}{econ}"))]).unwrap_err();
    let e = &errs.errors()[0];
    assert_eq!(errs.len(), 1, "{errs}");
    assert_eq!(
        (e.line, e.column, e.message.as_str()),
        (
            18,
            13,
            "`p` owes a `min_attempts` per channel, but `e` does not split by channel"
        )
    );
    assert_eq!(e.note.as_deref(), Some("`p` is defined at t.yaml:5:11"));
    // Split by channel too, each channel's cutoff meets its own minimum.
    let set = rules::load_str(
        "t.yaml",
        &format!(
            "{HEAD}{attempts}{}",
            econ.replace("    checks", "    by: channel\n    checks")
        ),
    )
    .unwrap();
    let Spec::Profitability {
        checks: Some(checks),
        ..
    } = &set.objectives()[1].spec
    else {
        panic!()
    };
    assert_eq!(
        (
            checks.min_attempts.for_group("events"),
            checks.min_attempts.for_group("webinar")
        ),
        (3, 6)
    );
}

#[test]
fn defaults_are_filled_in() {
    let text = format!(
        "{HEAD}  - name: q\n    kind: lead_quality\n    owner: [marketing, sales]\n    schedule: \"0 * * * *\"\n    window: quarter\n    target: 0.6\n"
    );
    let set = rules::load_str("t.yaml", &text).unwrap();
    let q = &set.objectives()[0];
    let Spec::LeadQuality {
        mature_after,
        target,
    } = &q.spec
    else {
        panic!()
    };
    assert_eq!(mature_after.to_string(), "7d");
    assert_eq!(*target, Target::Uniform(0.6));
    assert_eq!(
        q.alert.notify,
        [
            Recipient::Team("marketing".into()),
            Recipient::Team("sales".into())
        ]
    );
    assert_eq!(
        (
            q.alert.pending_for.as_secs(),
            q.alert.keep_firing_for.as_secs()
        ),
        (0, 0)
    );
    assert_eq!(q.alert.repeat.to_string(), "1d");
    assert!(q.alert.send_resolved);
    assert_eq!(q.alert.on_error, rules::ErrorPolicy::Alert);
    assert_eq!(q.alert.on_no_data, rules::NoDataPolicy::Ok);
    assert_eq!(q.origin.to_string(), "t.yaml:5");

    // Classic 5-field cron fires on the minute, in the file's time zone.
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-25T10:20:30Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert_eq!(
        q.schedule.next_after(&at).unwrap().to_rfc3339(),
        "2026-11-25T11:00:00+00:00"
    );
}

#[test]
fn teams_and_calendars_defined_once_serve_every_file() {
    let shared = "version: 1\ntimezone: America/New_York\nteams:\n  sales: { email: sales@acme.example }\ncalendars:\n  office: { hours: { mon-fri: \"09:00-17:00\" } }\n";
    let sla = format!(
        "version: 1\ntimezone: Europe/Berlin\nobjectives:\n{WORKED}    calendar: office\n    alert: {{ notify: [sales, cro@acme.example] }}\n"
    );
    let set = rules::load_texts(&[("shared.yaml", shared), ("sla.yaml", &sla)]).unwrap();
    let o = set.objective("o").unwrap();
    assert_eq!(o.timezone, chrono_tz::Europe::Berlin);
    assert_eq!(
        o.spec.calendar().unwrap().timezone,
        chrono_tz::America::New_York,
        "hours are the office's"
    );
    let to: Vec<String> = set.notify_addresses(o).into_iter().collect();
    assert_eq!(to, ["cro@acme.example", "sales@acme.example"]);
}

// ---------------------------------------------------------------------------
// Team channels and mutes.

/// Sets the environment variable `name` of this test process. Tests run in
/// parallel, so each test uses names of its own.
fn set_env(name: &str, value: &str) {
    // SAFETY: std's environment lock serializes this with the loader's
    // `std::env::var`; no test reads or writes a name another test uses.
    unsafe { std::env::set_var(name, value) };
}

/// A file whose team `sales` (line 4) has `fields` from line 5 on.
fn team_file(fields: &str) -> String {
    format!("version: 1\ntimezone: UTC\nteams:\n  sales:\n{fields}")
}

#[test]
fn an_unset_environment_variable_is_named_where_it_is_used() {
    // Line 6 `    slack: ${…}`: the value starts at column 12.
    let text =
        team_file("    email: sales@acme.example\n    slack: ${HANDOFF_IT_RULES_UNSET_SLACK}\n");
    let errors = rules::load_texts(&[("t.yaml", &text)]).unwrap_err();
    assert_eq!(
        errors_of(&[("t.yaml", &text)]),
        ["t.yaml:6:12: environment variable HANDOFF_IT_RULES_UNSET_SLACK is not set"]
    );
    assert!(
        errors.errors()[0]
            .help
            .as_deref()
            .unwrap()
            .contains("an empty value counts as unset")
    );
    // Inside a URL: `    webhook: ` is 13 characters and
    // `https://hooks.acme.example/` 27 more, so `${` is at column 41.
    let text =
        team_file("    webhook: https://hooks.acme.example/${HANDOFF_IT_RULES_UNSET_TOKEN}\n");
    assert_eq!(
        errors_of(&[("t.yaml", &text)]),
        ["t.yaml:5:41: environment variable HANDOFF_IT_RULES_UNSET_TOKEN is not set"]
    );
    // Set but empty is the same.
    set_env("HANDOFF_IT_RULES_EMPTY", "");
    let text = team_file("    msteams: ${HANDOFF_IT_RULES_EMPTY}\n");
    assert_eq!(
        errors_of(&[("t.yaml", &text)]),
        ["t.yaml:5:14: environment variable HANDOFF_IT_RULES_EMPTY is not set"]
    );
}

#[test]
fn a_url_that_is_not_http_is_refused_without_showing_it() {
    set_env(
        "HANDOFF_IT_RULES_FTP_URL",
        "ftp://files.acme.example/drop/SECRET-FTP-abc123",
    );
    set_env("HANDOFF_IT_RULES_NO_HOST", "https:///SECRET-NOHOST-def456");
    // Line 5 `    webhook: ` and line 6 `    slack: ` put the values at
    // columns 14 and 12; line 7's URL is written out.
    let text = team_file(
        "    webhook: ${HANDOFF_IT_RULES_FTP_URL}\n    slack: ${HANDOFF_IT_RULES_NO_HOST}\n    msteams: mailto:ops@acme.example\n",
    );
    assert_eq!(
        errors_of(&[("t.yaml", &text)]),
        [
            "t.yaml:5:14: the `webhook` URL does not start with `http://` or `https://` (it comes from environment variable HANDOFF_IT_RULES_FTP_URL)",
            "t.yaml:6:12: the `slack` URL has no valid host (it comes from environment variable HANDOFF_IT_RULES_NO_HOST)",
            "t.yaml:7:14: the `msteams` URL does not start with `http://` or `https://`",
        ]
    );
    // Not in the message, the help or the snippet.
    let shown = rules::load_texts(&[("t.yaml", &text)])
        .unwrap_err()
        .to_string();
    for secret in [
        "SECRET-FTP-abc123",
        "files.acme.example",
        "SECRET-NOHOST-def456",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn a_secret_url_appears_in_no_error_and_no_name() {
    const SECRET: &str = "ITSECRET-42-ghi789";
    set_env(
        "HANDOFF_IT_RULES_SLACK_OK",
        &format!("https://hooks.slack.com/services/T000/B000/{SECRET}"),
    );
    // A good Slack URL beside an error elsewhere in the file.
    let text = team_file(
        "    slack: ${HANDOFF_IT_RULES_SLACK_OK}\n    mute:\n      - { weekdays: sat, colour: red }\n",
    );
    let shown = rules::load_texts(&[("t.yaml", &text)])
        .unwrap_err()
        .to_string();
    assert!(shown.contains("unknown field `colour`"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");

    let text = team_file("    slack: ${HANDOFF_IT_RULES_SLACK_OK}\n");
    let set = rules::load_str("t.yaml", &text).unwrap();
    let slack = &set.team("sales").unwrap().slack[0];
    assert!(slack.url().ends_with(SECRET));
    assert!(slack.id.starts_with("slack:hooks.slack.com/"));
    assert_eq!(slack.shown, "${HANDOFF_IT_RULES_SLACK_OK}");
    for text in [
        slack.id.clone(),
        slack.shown.clone(),
        format!("{slack:?}"),
        format!("{set:?}"),
        set.normalized().to_string(),
    ] {
        assert!(!text.contains(SECRET), "{text}");
    }
}

#[test]
fn a_team_needs_a_way_to_reach_it() {
    let text = team_file("    mute: [{ weekdays: sat }]\n");
    let errors = rules::load_texts(&[("t.yaml", &text)]).unwrap_err();
    let e = &errors.errors()[0];
    // The team's mapping starts at line 5, column 5.
    assert_eq!(
        (e.line, e.column, e.message.as_str()),
        (
            5,
            5,
            "team `sales` has no `email`, `webhook`, `slack` or `msteams`"
        )
    );
    assert!(
        e.help
            .as_deref()
            .unwrap()
            .contains("slack: ${SLACK_SALES_URL}")
    );
    assert_eq!(errors.len(), 1);
}

#[test]
fn an_empty_mute_entry_is_refused() {
    // Line 8 `      - {}`: the entry's `{` is at column 9.
    let text = team_file(
        "    email: sales@acme.example\n    mute:\n      - { weekdays: sat }\n      - {}\n",
    );
    assert_eq!(
        errors_of(&[("t.yaml", &text)]),
        ["t.yaml:8:9: a `mute` entry needs `weekdays`, `times` or `dates`"]
    );
    // And a team's mute is read in its file's zone, so the file needs one.
    let text = "version: 1\nteams:\n  sales:\n    email: sales@acme.example\n    mute: [{ weekdays: sat }]\n";
    assert_eq!(
        errors_of(&[("t.yaml", text)]),
        ["t.yaml:1:1: missing field `timezone`"]
    );
}

#[test]
fn mute_dates_and_times_are_checked() {
    // Line 7 `      - { dates: [`: 18 characters, so the first date is at
    // column 19 and the second, 22 + 2 characters on, at 43.
    let text = team_file(
        "    email: sales@acme.example\n    mute:\n      - { dates: [2026-12-24..2026-12-31, 2027-01-06..2027-01-01] }\n",
    );
    let errors = rules::load_texts(&[("t.yaml", &text)]).unwrap_err();
    assert_eq!(
        errors_of(&[("t.yaml", &text)]),
        ["t.yaml:7:43: the range `2027-01-06..2027-01-01` ends before it starts"]
    );
    assert_eq!(
        errors.errors()[0].help.as_deref(),
        Some("write the earlier date first: `2027-01-01..2027-01-06`")
    );
    // A bad end date is pointed at: `      - dates: ` is 15 characters and
    // `2026-12-24..` 12 more, so it starts at column 28. On line 8 the
    // weekdays start at column 21 (`fir` at 25) and the times, quoted, at 38.
    let text = team_file(
        "    email: sales@acme.example\n    mute:\n      - dates: 2026-12-24..2026-12-32\n      - { weekdays: mon-fir, times: \"19:00-07:00\" }\n",
    );
    assert_eq!(
        errors_of(&[("t.yaml", &text)]),
        [
            "t.yaml:7:28: `2026-12-32` is not a date",
            "t.yaml:8:25: unknown day `fir` — did you mean `fri`?",
            "t.yaml:8:38: `19:00-07:00` closes before it opens",
        ]
    );
}

#[test]
fn teams_reach_their_channels_unless_muted() {
    set_env(
        "HANDOFF_IT_RULES_SLACK_SALES",
        "https://hooks.slack.com/services/T000/B000/XYZ",
    );
    let text = "version: 1
timezone: Europe/Berlin
teams:
  sales:
    email: sales@acme.example
    slack: ${HANDOFF_IT_RULES_SLACK_SALES}
    mute:
      - weekdays: sat,sun
      - { weekdays: mon-fri, times: \"19:00-24:00, 00:00-07:00\" }
  marketing:
    slack: ['${HANDOFF_IT_RULES_SLACK_SALES}']
    webhook: https://hooks.acme.example/handoff
    mute:
      - dates: 2026-12-24..2026-12-26
";
    let set = rules::load_str("teams.yaml", text).unwrap_or_else(|e| panic!("{e}"));
    let sales = set.team("sales").unwrap();
    let slack = sales.slack[0].id.clone();
    assert_eq!(set.team("marketing").unwrap().slack[0].id, slack);
    let hook = &set.team("marketing").unwrap().webhook[0];
    assert_eq!(hook.shown, "https://hooks.acme.example/…");
    assert_eq!(set.endpoint(&hook.id), Some(hook));
    assert_eq!(
        set.receivers(&[
            Recipient::Team("sales".into()),
            Recipient::Team("marketing".into())
        ]),
        [slack.clone(), "sales@acme.example".into(), hook.id.clone()]
            .into_iter()
            .collect()
    );
    assert_eq!(set.receiver_teams(&slack), ["marketing", "sales"]);

    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    // Thursday 24 Dec 2026, 20:00 CET: both teams are muted, so the shared
    // Slack URL is; sales's evening ends Friday 07:00 CET (06:00Z).
    let evening = at("2026-12-24T19:00:00Z");
    assert!(set.muted(&slack, evening));
    assert_eq!(sales.mute_ends(evening), Some(at("2026-12-25T06:00:00Z")));
    // Friday 25 Dec, noon: sales is not muted, so the shared URL is not.
    let noon = at("2026-12-25T11:00:00Z");
    assert!(!set.muted(&slack, noon));
    assert!(set.muted(&hook.id, noon), "only marketing lists it");
    assert!(!set.muted("cro@acme.example", noon), "in no team");
    // Saturday 26 Dec: sales's weekend runs to Monday 28 Dec 07:00 CET
    // (the weekday mornings join it).
    assert_eq!(
        sales.mute_ends(at("2026-12-26T11:00:00Z")),
        Some(at("2026-12-28T06:00:00Z"))
    );
}

// ---------------------------------------------------------------------------
// The JSON Schema.

fn yaml_as_json(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn shipped_schema_is_what_handoff_schema_prints() {
    let shipped = std::fs::read_to_string(shipped_dir().join("schema.json")).unwrap();
    let generated = serde_json::to_string_pretty(&rules::json_schema()).unwrap() + "\n";
    assert!(
        shipped == generated,
        "rules/schema.json is stale: run `handoff schema > rules/schema.json`"
    );
}

#[test]
fn schema_accepts_the_shipped_rules_and_rejects_mistakes() {
    let validator = jsonschema::validator_for(&rules::json_schema()).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(shipped_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with("# yaml-language-server: $schema=schema.json\n"),
                "{}",
                path.display()
            );
            let doc = yaml_as_json(&text);
            let problems: Vec<String> =
                validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(problems.is_empty(), "{}: {problems:?}", path.display());
            checked += 1;
        }
    }
    assert!(checked > 0);

    let ok = yaml_as_json(&format!("{HEAD}{WORKED}"));
    assert!(validator.is_valid(&ok));
    for bad in [
        WORKED.replace("respond_within", "respnd_within"),
        WORKED.replace("percent_worked", "lead_quality"),
        WORKED.replace("    respond_within: 4h\n", ""),
        WORKED.replace("kind: percent_worked", "kind: percent"),
    ] {
        assert!(
            !validator.is_valid(&yaml_as_json(&format!("{HEAD}{bad}"))),
            "{bad}"
        );
    }
    assert!(!validator.is_valid(&yaml_as_json("version: 1\nteam: {}\n")));
}

#[test]
fn schema_knows_team_channels_and_mutes() {
    let validator = jsonschema::validator_for(&rules::json_schema()).unwrap();
    let team = |t: &str| {
        yaml_as_json(&format!(
            "version: 1\ntimezone: UTC\nteams:\n  sales: {t}\n"
        ))
    };
    for good in [
        "{ slack: '${SLACK_SALES_URL}' }",
        "{ msteams: [https://acme.webhook.office.example/x], webhook: https://hooks.acme.example/h }",
        "{ email: s@acme.example, mute: [{ weekdays: 'sat,sun' }, { times: '19:00-24:00', dates: [2026-12-24..2026-12-26, 2026-12-31] }] }",
    ] {
        assert!(validator.is_valid(&team(good)), "{good}");
    }
    for bad in [
        "{ mute: [{ weekdays: sat }] }",
        "{ slack: ftp://files.acme.example }",
        "{ email: s@acme.example, mute: [{}] }",
        "{ email: s@acme.example, mute: [] }",
        "{ email: s@acme.example, mute: [{ weekday: sat }] }",
        "{ email: s@acme.example, mute: [{ dates: 24.12.2026 }] }",
    ] {
        assert!(!validator.is_valid(&team(bad)), "{bad}");
    }
}

// ---------------------------------------------------------------------------
// The loader never panics.

mod never_panics {
    use proptest::prelude::*;

    const WORDS: &[&str] = &[
        "version",
        "timezone",
        "objectives",
        "teams",
        "calendars",
        "name",
        "kind",
        "owner",
        "schedule",
        "window",
        "by",
        "target",
        "warn_below",
        "calendar",
        "mature_after",
        "respond_within",
        "min_attempts",
        "lookback",
        "cost_per_attempt",
        "min_sample",
        "checks",
        "alert",
        "for",
        "notify",
        "repeat",
        "hours",
        "holidays",
        "email",
        "webhook",
        "slack",
        "msteams",
        "mute",
        "weekdays",
        "times",
        "dates",
        "hourly_cost",
        "attempts_per_hour",
        "default",
        "mon-fri",
        "-",
        "- name",
    ];
    const VALUES: &[&str] = &[
        "1",
        "0",
        "-1",
        "1.5",
        "1e999",
        "~",
        "\"\"",
        "[]",
        "{}",
        "[a, b]",
        "{ a: 1 }",
        "lead_volume",
        "profitability",
        "contact_attempts",
        "percent_worked",
        "lead_quality",
        "channel",
        "sales",
        "\"0 */5 * * * *\"",
        "\"0 9 * * 1-5\"",
        "\"@daily\"",
        "\"* * * *\"",
        "rolling 28d",
        "rolling",
        "month",
        "4h",
        "1M",
        "30",
        "America/New_York",
        "UTC",
        "\"09:00-17:00\"",
        "\"25:00-01:00\"",
        "2026-02-30",
        "2026-12-24..2026-12-20",
        "sat,sun",
        "\"${X}\"",
        "\"https://${\"",
        "https://hooks.acme.example/h",
        "&a x",
        "*a",
        "*b",
        "<<: *a",
        "|",
        ">-",
        "'",
        "\"",
        "[",
        "{",
        ": :",
        "é",
        "\t",
        "0.9",
        "{ webinar: 150, default: x }",
        "{ hourly_cost: 45 }",
    ];

    fn line() -> impl Strategy<Value = String> {
        (
            0usize..10,
            prop::sample::select(WORDS),
            prop::sample::select(VALUES),
        )
            .prop_map(|(indent, key, value)| format!("{}{key}: {value}", " ".repeat(indent)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = handoff::rules::load_str("t.yaml", &text);
        }

        #[test]
        fn on_yaml_ish_text(lines in prop::collection::vec(line(), 0..40)) {
            let text = format!("version: 1\ntimezone: UTC\n{}\n", lines.join("\n"));
            let _ = handoff::rules::load_str("t.yaml", &text);
        }

        #[test]
        fn on_mangled_shipped_rules(cuts in prop::collection::vec((any::<prop::sample::Index>(), 0usize..40, prop::sample::select(VALUES)), 1..6)) {
            let mut text = include_str!("../../rules/acme.yaml").to_owned();
            for (at, len, insert) in cuts {
                let start = text.floor_char_boundary(at.index(text.len() + 1));
                let end = text.floor_char_boundary((start + len).min(text.len()));
                text.replace_range(start..end, insert);
            }
            if let Err(e) = handoff::rules::load_str("acme.yaml", &text) {
                // Rendering is part of not panicking.
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The binary.

use crate::helpers::handoff;

#[test]
fn handoff_check_exits_0_or_1_and_never_touches_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    let db_url = format!("sqlite://{}", db.display());

    let out = handoff()
        .args(["--database", &db_url, "--rules"])
        .arg(shipped_dir())
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "5 objectives in 1 file are valid\n11 tests in 3 test files are valid\n"
    );

    let bad = dir.path().join("rules");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("acme.yaml"),
        format!(
            "{HEAD}{}",
            WORKED.replace("respond_within", "respnd_within")
        ),
    )
    .unwrap();
    let out = handoff()
        .args(["--database", &db_url, "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let first = format!(
        "{}:10:5: error: unknown field `respnd_within` — did you mean `respond_within`?",
        bad.join("acme.yaml").display()
    );
    assert!(stderr.starts_with(&first), "{stderr}");
    assert!(
        stderr.ends_with("rules are not valid: 1 error in 1 file\n"),
        "{stderr}"
    );

    assert!(!db.exists(), "check must not create or open the database");
}

#[test]
fn handoff_schema_prints_the_schema() {
    let out = handoff()
        .args(["--database", "sqlite:///nonexistent/dir/x.db", "schema"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, rules::json_schema());
}

#[test]
fn help_of_check_and_schema_teaches() {
    let out = handoff().args(["check", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("FILE:LINE:COLUMN") && help.contains("pre-commit"),
        "{help}"
    );
    let out = handoff().args(["schema", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("yaml-language-server") && help.contains("rules/schema.json"),
        "{help}"
    );
}
