//! Phone numbers, parsed with Google's numbering plans (the `phonenumber` crate) and stored in
//! E.164 (`+33612345678`). A French national number (`06…`, `0692…`) is read in the numbering
//! plan it belongs to: metropolitan France, or an overseas département (La Réunion and Mayotte
//! `+262`, Guadeloupe `+590`, Martinique `+596`, Guyane `+594`, Saint-Pierre-et-Miquelon `+508`),
//! which all share the leading `0`.

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber, Type};

/// The plans a number without a country code is tried in, in order.
const FRENCH_PLANS: [Id; 9] = [
    Id::FR,
    Id::RE,
    Id::YT,
    Id::GP,
    Id::MQ,
    Id::GF,
    Id::PM,
    Id::BL,
    Id::MF,
];

/// A usable phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+33612345678`.
    pub e164: String,
    /// Whether it can receive a text message (a mobile number).
    pub mobile: bool,
}

fn valid(number: PhoneNumber) -> Option<PhoneNumber> {
    number.is_valid().then_some(number)
}

/// Reads a phone number as people type it (`06 12 34 56 78`, `+33 6…`, `0033 6…`,
/// `0692 12 34 56`); `None` when no numbering plan knows it.
pub fn parse(text: &str) -> Option<Phone> {
    let text = text.trim();
    if text.is_empty() || text.len() > 40 {
        return None;
    }
    let international = text.starts_with('+') || text.starts_with("00");
    let number = if international {
        let text = match text.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => text.to_string(),
        };
        phonenumber::parse(None, text).ok().and_then(valid)?
    } else {
        FRENCH_PLANS
            .iter()
            .find_map(|plan| phonenumber::parse(Some(*plan), text).ok().and_then(valid))?
    };
    let e164 = number.format().mode(Mode::E164).to_string();
    let mobile = matches!(
        number.number_type(&phonenumber::metadata::DATABASE),
        Type::Mobile | Type::FixedLineOrMobile
    );
    Some(Phone { e164, mobile })
}

/// Whether a stored number (E.164) can receive text messages.
pub fn is_mobile(e164: &str) -> bool {
    parse(e164).is_some_and(|p| p.mobile)
}

/// A stored number as people dial it: `07 81 22 33 44` in France, `+262 692 12 34 56` for
/// La Réunion (the international form whenever the country code is not +33).
pub fn display(stored: &str) -> String {
    match phonenumber::parse(None, stored) {
        Ok(number) if stored.starts_with("+33") => number.format().mode(Mode::National).to_string(),
        Ok(number) => number.format().mode(Mode::International).to_string(),
        Err(_) => stored.to_string(),
    }
}

/// What a stored number is found by: its digits in E.164 and as dialled nationally
/// (`33612345678 0612345678`), so that a search for `06 12` finds it.
pub fn searchable(stored: &str) -> String {
    let digits = |s: &str| s.chars().filter(|c| c.is_ascii_digit()).collect::<String>();
    let international = digits(stored);
    let national = stored
        .starts_with('+')
        .then(|| phonenumber::parse(None, stored).ok())
        .flatten()
        .map(|n| digits(&n.format().mode(Mode::National).to_string()))
        .unwrap_or_default();
    format!("{international} {national}").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_numbers_get_their_real_country_code() {
        let cases = [
            ("06 12 34 56 78", "+33612345678", true),
            ("+33 6 12 34 56 78", "+33612345678", true),
            ("0033612345678", "+33612345678", true),
            ("07.81.23.45.67", "+33781234567", true),
            ("01 44 55 66 77", "+33144556677", false),
            ("0692 12 34 56", "+262692123456", true),
            ("0262 21 34 56", "+262262213456", false),
            ("0690 12 34 56", "+590690123456", true),
            ("0696 12 34 56", "+596696123456", true),
            ("0694 20 12 34", "+594694201234", true),
            ("0639 01 23 45", "+262639012345", true),
            ("+44 7911 123456", "+447911123456", true),
        ];
        for (typed, e164, mobile) in cases {
            let phone = parse(typed).unwrap_or_else(|| panic!("{typed} should parse"));
            assert_eq!(phone.e164, e164, "{typed}");
            assert_eq!(phone.mobile, mobile, "{typed}");
        }
    }

    #[test]
    fn unusable_numbers_are_refused() {
        for typed in ["12", "06 12", "abc", "+33 6 12 34 56 78 90 12", "0012", ""] {
            assert_eq!(parse(typed), None, "{typed}");
        }
    }
}
