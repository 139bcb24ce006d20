//! Reading a source file through a mapping: each record of the export becomes a
//! canonical row, or is skipped for a stated reason, or gives located problems.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::{Action, ColumnMap, Condition, FileMap, Lookup, Mapping, Source};
use crate::model::{self, ColumnType, OwnedValue, Table};
use crate::suggest;

/// The translations a mapping's lookups need: for each, key → value.
pub type Lookups = HashMap<Lookup, Arc<HashMap<String, String>>>;

/// A [`FileMap`] bound to the header of its source file.
#[derive(Debug)]
pub struct Plan {
    pub table: Table,
    pub distinct: bool,
    columns: Vec<Bound>,
    filter: Vec<(usize, Condition)>,
    numbers: super::Numbers,
    booleans: super::Booleans,
    /// Optional columns whose source column the file lacks, said why.
    pub unbound: Vec<String>,
}

#[derive(Debug)]
struct Bound {
    map: ColumnMap,
    /// The 0-based source field, for `Source::Column`.
    field: Option<usize>,
    when: Option<(usize, Condition)>,
    lookup: Option<Arc<HashMap<String, String>>>,
    formats: Vec<String>,
    timezone: Option<Tz>,
    /// The currency the column's first amount named (`USD`, `$`): amounts in
    /// another are refused rather than added together.
    currency: std::sync::OnceLock<String>,
}

/// The time zones of local times from outside the mapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Zones {
    /// Given for this import (`--timezone`): wins over the mapping's.
    pub given: Option<Tz>,
    /// Used when neither the column nor the mapping names one (the rules').
    pub fallback: Option<Tz>,
}

/// What a record became.
#[derive(Debug, PartialEq)]
pub enum RowOutcome {
    /// The canonical row: one value per table column.
    Row(Vec<OwnedValue>),
    /// Not imported, for this reason (counted and reported).
    Skip(String),
    /// Problems: the 1-based source field and what is wrong.
    Bad(Vec<(usize, String)>),
}

impl Plan {
    /// Binds `file` to its source header. Local times are read in the
    /// column's zone, else `timezone.given`, else the mapping's, else
    /// `timezone.fallback`.
    ///
    /// # Errors
    ///
    /// A source column the header lacks (with the nearest header), or a
    /// lookup that was not loaded: the 1-based field to point at (1) and the
    /// message.
    pub fn bind(
        mapping: &Mapping,
        file: &FileMap,
        header: &[String],
        lookups: &Lookups,
        timezone: Zones,
    ) -> Result<Plan, Vec<(usize, String)>> {
        let mut errors = Vec::new();
        let mut unbound = Vec::new();
        let find = |name: &str, what: String| -> Result<usize, String> {
            let found = header.iter().position(|h| h == name).or_else(|| {
                // Exports differ in case between versions; an exact match wins.
                let mut ci = header
                    .iter()
                    .enumerate()
                    .filter(|(_, h)| h.eq_ignore_ascii_case(name));
                match (ci.next(), ci.next()) {
                    (Some((i, _)), None) => Some(i),
                    _ => None,
                }
            });
            found.ok_or_else(|| {
                let hint = suggest::hint(name, header.iter().map(String::as_str));
                format!("no column `{name}` in the header, which {what} reads{hint}")
            })
        };
        let mut filter = Vec::new();
        for c in &file.filter {
            match find(&c.column, format!("the condition at {}", c.at)) {
                Ok(fi) => filter.push((fi, c.clone())),
                Err(e) => errors.push((1, e)),
            }
        }
        let mut columns = Vec::new();
        let mut unloaded = Vec::new();
        for c in &file.columns {
            let what = format!("{}.{} ({})", file.table.name(), c.name, c.at);
            let column = file.table.columns()[c.column];
            let field = match &c.source {
                Source::Column(name) => match find(name, what.clone()) {
                    Ok(fi) => Some(fi),
                    // Exports differ in the columns they hold: an optional
                    // column the file lacks is left out, and said so.
                    Err(e) if !column.required && c.if_empty.is_none() => {
                        unbound.push(format!("`{}` not imported: {e}", c.name));
                        continue;
                    }
                    Err(e) => {
                        errors.push((1, e));
                        None
                    }
                },
                Source::Value(_) => None,
            };
            let when = match &c.when {
                Some(w) => match find(&w.column, format!("the condition at {}", w.at)) {
                    Ok(fi) => Some((fi, w.clone())),
                    Err(e) => {
                        errors.push((1, e));
                        None
                    }
                },
                None => None,
            };
            let lookup = match &c.lookup {
                Some((l, _)) => match lookups.get(l) {
                    Some(table) => Some(table.clone()),
                    None => {
                        unloaded.push((
                            1,
                            format!("the lookup in {} of {} was not loaded", l.file, what),
                        ));
                        None
                    }
                },
                None => None,
            };
            columns.push(Bound {
                field,
                when,
                lookup,
                formats: c.formats.clone().unwrap_or_else(|| mapping.dates.clone()),
                timezone: c
                    .timezone
                    .or(timezone.given)
                    .or(mapping.timezone)
                    .or(timezone.fallback),
                currency: std::sync::OnceLock::new(),
                map: c.clone(),
            });
        }
        errors.append(&mut unloaded);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Plan {
            table: file.table,
            distinct: file.distinct,
            columns,
            filter,
            numbers: mapping.numbers.clone(),
            booleans: mapping.booleans.clone(),
            unbound,
        })
    }

    /// The canonical columns the file writes (indexes into the table's columns).
    pub fn present(&self) -> Vec<usize> {
        self.columns.iter().map(|c| c.map.column).collect()
    }

    /// For each table column, the 1-based source field it comes from (0: none).
    pub fn fields(&self) -> Vec<usize> {
        let mut out = vec![0; self.table.columns().len()];
        for c in &self.columns {
            out[c.map.column] = c.field.map_or(0, |f| f + 1);
        }
        out
    }

    /// For each table column, what a reference to no row does.
    pub fn on_unknown(&self) -> Vec<Action> {
        let mut out = vec![Action::Error; self.table.columns().len()];
        for c in &self.columns {
            out[c.map.column] = c.map.if_unknown;
        }
        out
    }

    /// The columns whose filling is reported: those with a note.
    pub fn noted(&self) -> Vec<(usize, String)> {
        self.columns
            .iter()
            .filter(|c| !self.table.columns()[c.map.column].required)
            .filter_map(|c| c.map.note.clone().map(|n| (c.map.column, n)))
            .collect()
    }

    /// Reads one record.
    pub fn row(&self, record: &csv::ByteRecord) -> RowOutcome {
        let text = |fi: usize| -> Result<&str, (usize, String)> {
            std::str::from_utf8(record.get(fi).unwrap_or_default())
                .map_err(|_| (fi + 1, "not valid UTF-8 text".to_owned()))
        };
        for (fi, cond) in &self.filter {
            match text(*fi) {
                Ok(v) if cond.holds(v) => {}
                Ok(_) => {
                    return RowOutcome::Skip(format!(
                        "`{}` does not meet the condition at {}",
                        cond.column, cond.at
                    ));
                }
                Err(e) => return RowOutcome::Bad(vec![e]),
            }
        }
        let columns = self.table.columns();
        let mut values: Vec<OwnedValue> = columns.iter().map(|c| OwnedValue::null(c.ty)).collect();
        let mut bad = Vec::new();
        for c in &self.columns {
            match self.value(c, &text) {
                Ok(Some(v)) => values[c.map.column] = v,
                Ok(None) => {}
                Err(Step::Skip(why)) => return RowOutcome::Skip(why),
                Err(Step::Bad(fi, message)) => bad.push((fi, message)),
            }
        }
        if !bad.is_empty() {
            return RowOutcome::Bad(bad);
        }
        RowOutcome::Row(values)
    }

    fn value<'r>(
        &self,
        c: &Bound,
        text: &dyn Fn(usize) -> Result<&'r str, (usize, String)>,
    ) -> Result<Option<OwnedValue>, Step> {
        let m = &c.map;
        let column = self.table.columns()[m.column];
        let field = c.field.map_or(0, |f| f + 1);
        let source = match &m.source {
            Source::Column(h) => format!("`{h}`"),
            Source::Value(_) => format!("the value at {}", m.at),
        };
        let bad = |message: String| {
            Step::Bad(
                field.max(1),
                format!("{}.{} from {source}: {message}", self.table.name(), m.name),
            )
        };
        let mut v: String = match (&m.source, c.field) {
            (Source::Value(v), _) => v.clone(),
            (Source::Column(_), Some(fi)) => text(fi).map_err(|(f, e)| Step::Bad(f, e))?.to_owned(),
            (Source::Column(_), None) => String::new(),
        };
        if let Some((fi, cond)) = &c.when {
            let other = text(*fi).map_err(|(f, e)| Step::Bad(f, e))?;
            if !cond.holds(other) {
                v.clear();
            }
        }
        if let Some(sep) = &m.split {
            v = v
                .split(sep.as_str())
                .map(str::trim)
                .find(|s| !s.is_empty())
                .unwrap_or_default()
                .to_owned();
        }
        let mut v = v.trim().to_owned();
        if let (Some(table), Some((l, _))) = (&c.lookup, &m.lookup)
            && !v.is_empty()
        {
            match table.get(&v) {
                Some(found) => v = found.clone(),
                None => match m.unmatched {
                    Action::Keep => {}
                    Action::Empty => v.clear(),
                    Action::Skip => {
                        return Err(Step::Skip(format!(
                            "{}.{}: no row of {} with {} = the value",
                            self.table.name(),
                            m.name,
                            l.file,
                            l.key
                        )));
                    }
                    Action::Error => {
                        return Err(bad(format!("no row of {} has {} `{v}`", l.file, l.key)));
                    }
                },
            }
        }
        if let Some(map) = &m.map
            && (!v.is_empty() || map.iter().any(|(k, _)| k.is_empty()))
        {
            let key = v.to_lowercase();
            match map.iter().find(|(k, _)| *k == key) {
                Some((_, to)) => v = to.clone().unwrap_or_default(),
                None => match m.others {
                    Action::Keep => {}
                    Action::Empty => v.clear(),
                    Action::Skip => {
                        return Err(Step::Skip(format!(
                            "{}.{}: a value its map ({}) does not list",
                            self.table.name(),
                            m.name,
                            m.at
                        )));
                    }
                    Action::Error => {
                        let listed: Vec<&str> = map.iter().map(|(k, _)| k.as_str()).collect();
                        let hint = suggest::hint(&v, listed.iter().copied());
                        return Err(bad(format!(
                            "`{v}` is not in the map at {}{hint}; add it there, or set `others: keep`, `empty` or `skip`",
                            m.at
                        )));
                    }
                },
            }
        }
        if v.is_empty()
            && let Some(d) = &m.default
        {
            v = d.clone();
        }
        if v.is_empty() {
            if self.distinct && m.column == 0 {
                return Err(Step::Skip(format!("{}.id empty", self.table.name())));
            }
            return match m.if_empty {
                Some(Action::Skip) => Err(Step::Skip(format!(
                    "{}.{} empty",
                    self.table.name(),
                    m.name
                ))),
                Some(Action::Error) => Err(bad("empty".to_owned())),
                _ if column.required => {
                    Err(bad(format!("empty, and {} needs it", self.table.name())))
                }
                _ => Ok(None),
            };
        }
        let parsed = match column.ty {
            ColumnType::Timestamp => {
                read_time(&v, &c.formats, c.timezone).map(|t| OwnedValue::Timestamp(Some(t)))
            }
            ColumnType::Real => read_number(&v, &self.numbers).and_then(|(n, _)| {
                n.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(|x| OwnedValue::Real(Some(x)))
                    .ok_or_else(|| format!("`{v}` is not a number"))
            }),
            ColumnType::Amount => read_number(&v, &self.numbers).and_then(|(n, currency)| {
                if let Some(cur) = currency {
                    let first = c.currency.get_or_init(|| cur.clone());
                    if *first != cur {
                        return Err(format!(
                            "`{v}` is in {cur}, earlier amounts in {first}: amounts add up in one reporting currency, so convert them (or map a column in the company currency)"
                        ));
                    }
                }
                crate::import::parse_cents(&n)
                    .map(OwnedValue::Amount)
                    .map_err(|why| format!("`{v}`: {why}"))
            }),
            ColumnType::Bool => {
                let w = v.to_lowercase();
                if self.booleans.yes.contains(&w) || w == "true" {
                    Ok(OwnedValue::Bool(Some(true)))
                } else if self.booleans.no.contains(&w) || w == "false" {
                    Ok(OwnedValue::Bool(Some(false)))
                } else {
                    Err(format!(
                        "`{v}` is neither true ({}) nor false ({})",
                        self.booleans.yes.join(", "),
                        self.booleans.no.join(", ")
                    ))
                }
            }
            ColumnType::Id | ColumnType::Text | ColumnType::Enum(_) => {
                crate::import::parse_field(&column, v.as_bytes())
            }
        };
        parsed.map(Some).map_err(bad)
    }
}

enum Step {
    Skip(String),
    Bad(usize, String),
}

/// Reads a date and time: RFC 3339 with an offset, or one of `formats`; a time
/// without an offset is local to `tz`, a date alone is its midnight there.
pub fn read_time(v: &str, formats: &[String], tz: Option<Tz>) -> Result<DateTime<Utc>, String> {
    let utc = if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        t.to_utc()
    } else {
        let mut found = None;
        for f in formats {
            if let Ok(t) = DateTime::parse_from_str(v, f) {
                found = Some(t.to_utc());
                break;
            }
            let local = NaiveDateTime::parse_from_str(v, f).ok().or_else(|| {
                NaiveDate::parse_from_str(v, f)
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            });
            if let Some(local) = local {
                let Some(tz) = tz else {
                    return Err(format!(
                        "`{v}` is a local time, and no time zone is known: set `timezone` in the mapping, or give --timezone"
                    ));
                };
                found = Some(crate::rules::local_instant(tz, local));
                break;
            }
        }
        let Some(t) = found else {
            let listed = formats
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(format!(
                "`{v}` is not a date and time as RFC 3339 or {listed}"
            ));
        };
        t
    };
    if !(1..=9999).contains(&chrono::Datelike::year(&utc)) {
        return Err(format!("`{v}` is outside the years 1 to 9999"));
    }
    Ok(model::to_store_precision(utc))
}

/// Normalises a number as exports write it (`$1,234.50`, `1.234,50 €`, `USD
/// 1 234`) to a plain decimal (`1234.50`), with the currency it named, if any.
/// A thousands separator counts only between groups of three digits, so that
/// `12,50` is an error rather than 1250 when the decimal separator is a point.
pub fn read_number(v: &str, numbers: &super::Numbers) -> Result<(String, Option<String>), String> {
    let mut currency = None;
    // Currency symbols and the spaces beside them are not part of the value.
    let mut without_symbols = String::with_capacity(v.len());
    for ch in v.chars() {
        if matches!(ch, '$' | '€' | '£' | '¥' | '₹' | '₩' | '₽' | '¢') {
            currency.get_or_insert_with(|| ch.to_string());
        } else {
            without_symbols.push(ch);
        }
    }
    let mut s: &str = without_symbols.trim_matches(|c: char| c.is_whitespace());
    // An ISO currency code before or after the number.
    for code_first in [true, false] {
        let (code, rest) = if code_first {
            (s.get(..3), s.get(3..))
        } else {
            (
                s.get(s.len().saturating_sub(3)..),
                s.get(..s.len().saturating_sub(3)),
            )
        };
        if let (Some(code), Some(rest)) = (code, rest)
            && code.len() == 3
            && code.bytes().all(|b| b.is_ascii_uppercase())
        {
            currency = Some(code.to_owned());
            s = rest.trim();
        }
    }
    let unreadable = || {
        let thousands = numbers
            .thousands
            .map_or_else(|| "none".to_owned(), |t| format!("`{t}`"));
        format!(
            "`{v}` is not a number (decimal separator `{}`, thousands {thousands}; set `numbers:` in the mapping if the file writes them otherwise)",
            numbers.decimal
        )
    };
    let mut digits = String::with_capacity(s.len());
    // Where thousands separators stand, in digits of the whole part.
    let mut groups: Vec<usize> = Vec::new();
    let mut decimal = false;
    for ch in s.chars() {
        if ch == numbers.decimal && !decimal {
            decimal = true;
            digits.push('.');
        } else if !decimal
            && (Some(ch) == numbers.thousands || matches!(ch, ' ' | '\u{a0}' | '\u{202f}'))
        {
            groups.push(digits.trim_start_matches('-').len());
        } else if ch.is_ascii_digit() || (ch == '-' && digits.is_empty()) {
            digits.push(ch);
        } else {
            return Err(unreadable());
        }
    }
    let unsigned = digits.trim_start_matches('-');
    let whole = unsigned.split('.').next().unwrap_or_default().len();
    // Separators stand every three digits counting back from the decimal point.
    let well_grouped = groups.is_empty()
        || (groups[0] >= 1
            && groups[0] <= 3
            && groups.windows(2).all(|w| w[1] - w[0] == 3)
            && groups.last().is_some_and(|&g| whole == g + 3));
    if unsigned.is_empty() || unsigned == "." || !well_grouped {
        return Err(unreadable());
    }
    Ok((digits, currency))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Numbers;

    #[test]
    fn numbers_as_exports_write_them() {
        let us = Numbers {
            decimal: '.',
            thousands: Some(','),
        };
        let eu = Numbers {
            decimal: ',',
            thousands: Some('.'),
        };
        let n = |v: &str, f: &Numbers| read_number(v, f).map(|(n, c)| (n, c.unwrap_or_default()));
        assert_eq!(
            n("$12,500.50", &us).unwrap(),
            ("12500.50".into(), "$".into())
        );
        assert_eq!(n("USD 1,000", &us).unwrap(), ("1000".into(), "USD".into()));
        assert_eq!(
            n("1,234,567", &us).unwrap(),
            ("1234567".into(), String::new())
        );
        assert_eq!(
            n("1.234.567,8 €", &eu).unwrap(),
            ("1234567.8".into(), "€".into())
        );
        assert_eq!(
            n("12 500,00 EUR", &eu).unwrap(),
            ("12500.00".into(), "EUR".into())
        );
        assert_eq!(n("-7.5", &us).unwrap(), ("-7.5".into(), String::new()));
        assert!(n("twelve", &us).unwrap_err().contains("not a number"));
        // A European amount read with a decimal point: an error, not 1250.
        assert!(n("12,50", &us).unwrap_err().contains("not a number"));
        assert!(n("1,00,000", &us).is_err());
        assert!(n("1234,567.5", &us).is_err());
        assert!(n("12,3456", &us).is_err());
    }

    #[test]
    fn local_times_take_the_zone() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let f = vec!["%m/%d/%Y %I:%M %p".to_owned(), "%m/%d/%Y".to_owned()];
        // 14:05 EST is 19:05 UTC; in July (EDT) 18:05 UTC.
        assert_eq!(
            read_time("03/02/2026 2:05 PM", &f, Some(ny))
                .unwrap()
                .to_rfc3339(),
            "2026-03-02T19:05:00+00:00"
        );
        assert_eq!(
            read_time("07/02/2026 2:05 PM", &f, Some(ny))
                .unwrap()
                .to_rfc3339(),
            "2026-07-02T18:05:00+00:00"
        );
        assert_eq!(
            read_time("07/02/2026", &f, Some(ny)).unwrap().to_rfc3339(),
            "2026-07-02T04:00:00+00:00"
        );
        // An offset wins over the zone.
        assert_eq!(
            read_time("2026-03-02T14:05:00+01:00", &f, Some(ny))
                .unwrap()
                .to_rfc3339(),
            "2026-03-02T13:05:00+00:00"
        );
        assert!(
            read_time("03/02/2026 2:05 PM", &f, None)
                .unwrap_err()
                .contains("no time zone")
        );
        assert!(
            read_time("2026-03-02", &f, Some(ny))
                .unwrap_err()
                .contains("not a date")
        );
    }
}
