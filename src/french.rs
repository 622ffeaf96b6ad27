//! Numbers, percentages, durations, dates and phone numbers as a French reader writes them, for
//! every page (Tera filters) and chart: `4 719`, `1,25`, `15,5 %`, `1 h 15`, `31 mai 2027`,
//! `06 12 34 56 78`. The JSON API and the files for machines keep codes and ISO formats.
//!
//! The thousands separator is the narrow no-break space (U+202F) and a no-break space
//! (U+00A0) joins a figure to its unit, as CLDR's French locale and the Imprimerie nationale
//! do, so that `4 719 h` never breaks across lines. Dates in words come from chrono's locale
//! data (glibc's), phone numbers from libphonenumber (`crate::phone`). No crate formats a
//! decimal number in French without pulling a whole ICU data set, hence the few lines below.

use std::collections::HashMap;

use tera::{Tera, Value};

/// Between groups of three digits.
const THOUSANDS: char = '\u{202F}';
/// Between a figure and its unit.
const NBSP: char = '\u{00A0}';

/// An integer with its thousands grouped: `4 719`, `-12 500`.
pub fn integer(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(THOUSANDS);
        }
        out.push(c);
    }
    out
}

/// A number with at most `decimals` decimals, without trailing zeros, a comma before them:
/// `1,25`, `4 719`, `0,5`.
pub fn number(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let fixed = format!("{:.*}", decimals, v.abs());
    let (whole, fraction) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let fraction = fraction.trim_end_matches('0');
    let whole: i64 = whole.parse().unwrap_or(0);
    let negative = v < 0.0 && (whole != 0 || !fraction.is_empty());
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&integer(whole));
    if !fraction.is_empty() {
        out.push(',');
        out.push_str(fraction);
    }
    out
}

/// A share (0.155) as a percentage with one decimal: `15,5 %`.
pub fn percent(share: f64) -> String {
    format!("{}{NBSP}%", number(share * 100.0, 1))
}

/// A duration in minutes: `45 min`, `1 h`, `1 h 15`, `12 h 05`.
pub fn duration(minutes: i64) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => format!("{m}{NBSP}min"),
        (h, 0) => format!("{}{NBSP}h", integer(h)),
        (h, m) => format!("{}{NBSP}h{NBSP}{m:02}", integer(h)),
    }
}

fn as_f64(value: &Value, filter: &str) -> tera::Result<Option<f64>> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => s
            .parse::<f64>()
            .map(Some)
            .map_err(|_| tera::Error::msg(format!("{filter}: {s:?} is no number"))),
        other => Err(tera::Error::msg(format!("{filter}: {other} is no number"))),
    }
}

/// `{{ n | nombre }}`, `{{ hours | nombre(decimales=1) }}`, `{{ mean | nombre(vide="—") }}`
/// (what an absent value shows; nothing by default).
fn nombre(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let decimals = args.get("decimales").and_then(Value::as_u64).unwrap_or(2) as usize;
    let empty = args.get("vide").and_then(Value::as_str).unwrap_or_default();
    Ok(Value::String(match as_f64(value, "nombre")? {
        Some(v) => number(v, decimals),
        None => empty.to_string(),
    }))
}

/// `{{ rate | pourcent }}`: a share between 0 and 1; nothing to show is a dash.
fn pourcent(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(
        as_f64(value, "pourcent")?.map_or_else(|| "—".into(), percent),
    ))
}

/// `{{ minutes | duree }}`.
fn duree(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(
        as_f64(value, "duree")?.map_or_else(String::new, |m| duration(m.round() as i64)),
    ))
}

/// `{{ "2027-05-31" | date_fr }}` (or a date and time): `31 mai 2027`.
fn date_fr(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let Some(text) = value.as_str().filter(|t| !t.is_empty()) else {
        return Ok(Value::String(String::new()));
    };
    // Anything else than an ISO date is shown as it is, rather than failing the page.
    Ok(Value::String(
        chrono::NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
            .map_or_else(|_| text.to_string(), date_in_words),
    ))
}

/// `31 mai 2027`, `1er mai 2027`.
pub fn date_in_words(date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let month_year = date.format_localized("%B %Y", chrono::Locale::fr_FR);
    match date.day() {
        1 => format!("1er {month_year}"),
        day => format!("{day} {month_year}"),
    }
}

/// `{{ phone | telephone }}`: `06 12 34 56 78`, an international number as it is dialled.
fn telephone(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(
        value
            .as_str()
            .filter(|t| !t.is_empty())
            .map(crate::phone::display)
            .unwrap_or_default(),
    ))
}

/// Adds the filters to the pages' Tera.
pub fn register(tera: &mut Tera) {
    tera.register_filter("nombre", nombre);
    tera.register_filter("pourcent", pourcent);
    tera.register_filter("duree", duree);
    tera.register_filter("date_fr", date_fr);
    tera.register_filter("telephone", telephone);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_in_french() {
        let n = |s: &str| s.replace(THOUSANDS, " ").replace(NBSP, " ");
        assert_eq!(n(&integer(4719)), "4 719");
        assert_eq!(n(&integer(1_234_567)), "1 234 567");
        assert_eq!(n(&integer(-12_500)), "-12 500");
        assert_eq!(integer(999), "999");
        assert_eq!(n(&number(1.25, 2)), "1,25");
        assert_eq!(n(&number(4719.0, 2)), "4 719");
        assert_eq!(n(&number(4719.5, 1)), "4 719,5");
        assert_eq!(n(&number(0.5, 2)), "0,5");
        assert_eq!(n(&number(-0.001, 2)), "0");
        assert_eq!(n(&number(2.999, 2)), "3");
        assert_eq!(n(&percent(0.155)), "15,5 %");
        assert_eq!(n(&percent(1.0)), "100 %");
        assert_eq!(n(&duration(75)), "1 h 15");
        assert_eq!(n(&duration(45)), "45 min");
        assert_eq!(n(&duration(120)), "2 h");
        assert_eq!(n(&duration(725)), "12 h 05");
    }

    #[test]
    fn the_filters_render_in_a_template() {
        let mut tera = Tera::default();
        register(&mut tera);
        tera.add_raw_template(
            "t",
            r#"{{ a | nombre }}|{{ b | nombre(decimales=1) }}|{{ r | pourcent }}|{{ none | pourcent }}|{{ m | duree }}|{{ d | date_fr }}|{{ first | date_fr }}|{{ p | telephone }}|{{ none | nombre }}|{{ none | nombre(vide="—") }}"#,
        )
        .unwrap();
        let context = tera::Context::from_value(serde_json::json!({
            "a": 4719, "b": 12.26, "r": 0.155, "none": null, "m": 75, "d": "2027-05-31",
            "first": "2027-05-01T10:00:00", "p": "+33612345678",
        }))
        .unwrap();
        let out = tera
            .render("t", &context)
            .unwrap()
            .replace(THOUSANDS, " ")
            .replace(NBSP, " ");
        assert_eq!(
            out,
            "4 719|12,3|15,5 %|—|1 h 15|31 mai 2027|1er mai 2027|06 12 34 56 78||—"
        );
    }
}
