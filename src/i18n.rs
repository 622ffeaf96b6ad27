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
    let bundles = bundles();
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.to_string());
    }
    for lang in [language(lang), LANGUAGES[0]] {
        let bundle = &bundles[lang];
        if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
            if errors.is_empty() {
                return text.into_owned();
            }
            log::warn!("translation {id} ({lang}): {errors:?}");
        }
    }
    id.to_string()
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
