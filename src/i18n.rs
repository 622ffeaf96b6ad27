//! The beneficiaries' languages: their texts are Project Fluent files a translator edits
//! (`locales/{fr,en,ar}/passerelle.ftl`, compiled into the binary), and dates are written in
//! words from glibc's locale data (chrono's `unstable-locales`). Staff pages stay French.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

/// The languages a person may choose; the first is the default.
pub const LANGUAGES: [&str; 3] = ["fr", "en", "ar"];

const SOURCES: [(&str, &str); 3] = [
    ("fr", include_str!("../locales/fr/passerelle.ftl")),
    ("en", include_str!("../locales/en/passerelle.ftl")),
    ("ar", include_str!("../locales/ar/passerelle.ftl")),
];

fn bundles() -> &'static HashMap<&'static str, FluentBundle<FluentResource>> {
    static BUNDLES: OnceLock<HashMap<&'static str, FluentBundle<FluentResource>>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(lang, source)| {
                let resource = FluentResource::try_new(source.to_string())
                    .unwrap_or_else(|(_, e)| panic!("locales/{lang}/passerelle.ftl: {e:?}"));
                let id: unic_langid::LanguageIdentifier =
                    lang.parse().expect("a language identifier");
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // No Unicode isolation marks: they would cost characters in a text message.
                bundle.set_use_isolating(false);
                bundle
                    .add_resource(resource)
                    .unwrap_or_else(|e| panic!("locales/{lang}/passerelle.ftl: {e:?}"));
                (*lang, bundle)
            })
            .collect()
    })
}

/// `lang` when it is one of [`LANGUAGES`], else French.
pub fn language(lang: &str) -> &'static str {
    LANGUAGES
        .iter()
        .find(|l| **l == lang)
        .copied()
        .unwrap_or(LANGUAGES[0])
}

/// `rtl` for Arabic, else `ltr`.
pub fn direction(lang: &str) -> &'static str {
    if language(lang) == "ar" {
        "rtl"
    } else {
        "ltr"
    }
}

/// The text `id` in `lang` (French when that language lacks it), with its arguments.
pub fn text(lang: &str, id: &str, args: &[(&str, &str)]) -> String {
    for lang in [language(lang), LANGUAGES[0]] {
        match translate(lang, id, args) {
            Ok(Some(text)) => return text,
            Ok(None) => {}
            Err(errors) => log::warn!("translation {id} ({lang}): {errors}"),
        }
    }
    id.to_string()
}

/// The text `id` in exactly `lang`: `None` when the file lacks it, an error when it does not
/// format with these arguments (an unknown `$argument`…).
pub fn translate(lang: &str, id: &str, args: &[(&str, &str)]) -> Result<Option<String>, String> {
    let bundle = &bundles()[language(lang)];
    let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
        return Ok(None);
    };
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.to_string());
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    if errors.is_empty() {
        Ok(Some(text.into_owned()))
    } else {
        Err(format!("{errors:?}"))
    }
}

/// The ids of the texts of `lang`, in the order of its file (a test compares the languages).
pub fn ids(lang: &str) -> Vec<String> {
    let source = SOURCES
        .iter()
        .find(|(l, _)| *l == language(lang))
        .map_or(SOURCES[0].1, |(_, s)| *s);
    // A message starts a line with its id and ` =`; comments, blank and continued lines do not.
    source
        .lines()
        .filter_map(|line| line.split_once(" ="))
        .map(|(id, _)| id)
        .filter(|id| {
            !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .map(str::to_string)
        .collect()
}

/// Every text of `lang` whose id starts with `prefix`, by id, with the same arguments: what a
/// template reads as `t["email-hello"]`.
pub fn texts(
    lang: &str,
    prefix: &str,
    args: &[(&str, &str)],
) -> serde_json::Map<String, serde_json::Value> {
    ids(LANGUAGES[0])
        .into_iter()
        .filter(|id| id.starts_with(prefix))
        .map(|id| {
            let text = text(lang, &id, args);
            (id, serde_json::Value::String(text))
        })
        .collect()
}

fn locale(lang: &str) -> chrono::Locale {
    match language(lang) {
        "en" => chrono::Locale::en_GB,
        "ar" => chrono::Locale::ar_SA,
        _ => chrono::Locale::fr_FR,
    }
}

/// "mardi 8 décembre", "Tuesday 8 December", "الثلاثاء 8 ديسمبر": the local day in words.
pub fn day_in_words(lang: &str, tz: &Tz, utc: NaiveDateTime) -> String {
    tz.from_utc_datetime(&utc)
        .format_localized("%A %-d %B", locale(lang))
        .to_string()
}

/// "8 December 2026", "8 décembre 2026": a date in words (a loan's due-back date…).
pub fn date_in_words(lang: &str, date: chrono::NaiveDate) -> String {
    if language(lang) == "fr" {
        return crate::time::date_in_words(date);
    }
    date.format_localized("%A %-d %B %Y", locale(lang))
        .to_string()
}

/// Day (with the year), and time, as an email says them: "mardi 8 décembre 2026 à 14 h 30",
/// "Tuesday 8 December 2026 at 14:30". French keeps its own typography ("1er", "14 h").
pub fn when_in_full(lang: &str, tz: &Tz, utc: NaiveDateTime) -> String {
    use crate::time::LocalTime;
    if language(lang) == "fr" {
        return tz.in_words(utc);
    }
    let local = tz.from_utc_datetime(&utc);
    let time = text(
        lang,
        "time",
        &[
            ("hour", &local.hour().to_string()),
            ("minute", &format!("{:02}", local.minute())),
        ],
    );
    text(
        lang,
        "when",
        &[
            ("day", &date_in_words(lang, local.date_naive())),
            ("time", &time),
        ],
    )
}

/// "mardi 8 décembre à 14 h 30": day and time, as a message says them.
pub fn when(lang: &str, tz: &Tz, utc: NaiveDateTime) -> String {
    let local = tz.from_utc_datetime(&utc);
    let time = text(
        lang,
        "time",
        &[
            ("hour", &local.hour().to_string()),
            ("minute", &format!("{:02}", local.minute())),
        ],
    );
    text(
        lang,
        "when",
        &[("day", &day_in_words(lang, tz, utc)), ("time", &time)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_in_words_in_each_language() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 8)
            .unwrap()
            .and_hms_opt(13, 30, 0)
            .unwrap();
        assert_eq!(when("fr", &tz, at), "mardi 8 décembre à 14 h 30");
        assert_eq!(when("en", &tz, at), "Tuesday 8 December at 14:30");
        assert_eq!(when("ar", &tz, at), "الثلاثاء 8 ديسمبر الساعة 14:30");
        assert_eq!(direction("ar"), "rtl");
        assert_eq!(direction("xx"), "ltr");
    }

    #[test]
    fn every_language_has_every_text() {
        let french = &bundles()["fr"];
        for (lang, source) in SOURCES {
            for line in SOURCES[0].1.lines() {
                if let Some((id, _)) = line.split_once(" = ") {
                    assert!(bundles()[lang].has_message(id), "{lang} lacks {id}");
                    assert!(french.has_message(id));
                }
            }
            assert!(!source.is_empty());
        }
    }
}
