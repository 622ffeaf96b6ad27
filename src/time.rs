//! Times are stored in UTC; they are read and shown in the configured time zone.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

/// Today's date in the time zone `tz`.
pub fn today(tz: &Tz) -> NaiveDate {
    tz.from_utc_datetime(&crate::db::now()).date_naive()
}

pub trait LocalTime {
    /// RFC 3339 with the zone's offset at that instant.
    fn rfc3339(&self, utc: NaiveDateTime) -> String;
    /// "jeudi 3 décembre 2026 à 14 h 30"
    fn in_words(&self, utc: NaiveDateTime) -> String;
    /// "03/12/2026 14:30"
    fn short(&self, utc: NaiveDateTime) -> String;
    /// The UTC instant of a local date and time (the earlier one when ambiguous, the first
    /// valid one after a spring-forward gap).
    fn to_utc(&self, date: NaiveDate, time: NaiveTime) -> NaiveDateTime;
}

const DAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

impl LocalTime for Tz {
    fn rfc3339(&self, utc: NaiveDateTime) -> String {
        self.from_utc_datetime(&utc).to_rfc3339()
    }

    fn in_words(&self, utc: NaiveDateTime) -> String {
        use chrono::Timelike;
        let local = self.from_utc_datetime(&utc);
        let time = if local.minute() == 0 {
            format!("{} h", local.hour())
        } else {
            format!("{} h {:02}", local.hour(), local.minute())
        };
        format!("{} à {}", date_in_words(local.date_naive()), time)
    }

    fn short(&self, utc: NaiveDateTime) -> String {
        self.from_utc_datetime(&utc)
            .format("%d/%m/%Y %H:%M")
            .to_string()
    }

    fn to_utc(&self, date: NaiveDate, time: NaiveTime) -> NaiveDateTime {
        let naive = date.and_time(time);
        match self.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.naive_utc(),
            LocalResult::Ambiguous(a, _) => a.naive_utc(),
            LocalResult::None => {
                // In the spring-forward gap: the same wall-clock time one hour later.
                let later = naive + chrono::Duration::hours(1);
                self.from_local_datetime(&later)
                    .earliest()
                    .map(|t| t.naive_utc())
                    .unwrap_or(later)
            }
        }
    }
}

/// "jeudi 3 décembre 2026"
pub fn date_in_words(date: NaiveDate) -> String {
    use chrono::Datelike;
    let day = date.day();
    let day_text = if day == 1 {
        "1er".to_string()
    } else {
        day.to_string()
    };
    format!(
        "{} {} {} {}",
        DAYS[date.weekday().num_days_from_monday() as usize],
        day_text,
        MONTHS[date.month0() as usize],
        date.year()
    )
}

/// Parses an RFC 3339 input time (an offset is required) into UTC.
/// Years outside 1900–2200 are refused: they are typing mistakes, and arithmetic on them
/// could overflow.
pub fn parse_rfc3339(text: &str) -> Option<NaiveDateTime> {
    DateTime::<FixedOffset>::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.naive_utc())
        .filter(|t| (1900..=2200).contains(&chrono::Datelike::year(t)))
}

/// A `YYYY-MM-DD` date within 1900–2200.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (1900..=2200).contains(&chrono::Datelike::year(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_french_words_in_local_time() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let utc = parse_rfc3339("2026-12-03T14:30:00+01:00").unwrap();
        assert_eq!(tz.in_words(utc), "jeudi 3 décembre 2026 à 14 h 30");
        assert_eq!(tz.rfc3339(utc), "2026-12-03T14:30:00+01:00");
        let summer = parse_rfc3339("2026-07-01T08:00:00Z").unwrap();
        assert_eq!(tz.in_words(summer), "mercredi 1er juillet 2026 à 10 h");
    }

    #[test]
    fn local_wall_clock_survives_daylight_saving() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let march = tz.to_utc(NaiveDate::from_ymd_opt(2026, 3, 30).unwrap(), nine);
        let november = tz.to_utc(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(), nine);
        assert_eq!(march.format("%H:%M").to_string(), "07:00");
        assert_eq!(november.format("%H:%M").to_string(), "08:00");
    }
}
