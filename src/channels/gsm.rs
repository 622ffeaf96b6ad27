//! The GSM 03.38 alphabet of text messages: a text that fits it travels 160 characters to a
//! segment; one that does not is sent in UCS-2, 70 to a segment. French letters outside it
//! (`ê`, `ç`, `â`…) are replaced by their base letter so that a French SMS stays one segment.

use unicode_normalization::UnicodeNormalization;

/// The basic GSM 7-bit alphabet (one septet each).
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table (two septets each: an escape, then the character).
const EXTENSION: &str = "^{}\\[~]|€\u{0C}";

fn basic(c: char) -> bool {
    BASIC.contains(c)
}

fn extension(c: char) -> bool {
    EXTENSION.contains(c)
}

/// Whether every character of `text` has a GSM 7-bit encoding.
pub fn is_gsm(text: &str) -> bool {
    text.chars().all(|c| basic(c) || extension(c))
}

/// `text` in the GSM alphabet: letters with a diacritic it lacks lose it (`ê` → `e`,
/// `ç` → `c`), typographic quotes and dashes become plain ones, ligatures are spelt out, and
/// what remains outside becomes `?`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if basic(c) || extension(c) {
            out.push(c);
            continue;
        }
        match c {
            '’' | '‘' | '‚' | '′' => out.push('\''),
            '«' | '»' | '“' | '”' | '„' => out.push('"'),
            '–' | '—' | '‐' | '−' => out.push('-'),
            '\u{a0}' | '\u{202f}' | '\t' => out.push(' '),
            '…' => out.push_str("..."),
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            _ => {
                let base: String = c.nfd().filter(|d| basic(*d)).collect();
                if base.is_empty() {
                    out.push('?');
                } else {
                    out.push_str(&base);
                }
            }
        }
    }
    out
}

/// Septets `text` takes in GSM 7-bit (an extension character takes two).
pub fn septets(text: &str) -> usize {
    text.chars().map(|c| if extension(c) { 2 } else { 1 }).sum()
}

/// How many segments a text message takes: 160 septets in one GSM segment (153 each when
/// concatenated), 70 UCS-2 characters in one (67 each when concatenated).
pub fn segments(text: &str) -> usize {
    if is_gsm(text) {
        match septets(text) {
            n if n <= 160 => 1,
            n => n.div_ceil(153),
        }
    } else {
        match text.encode_utf16().count() {
            n if n <= 70 => 1,
            n => n.div_ceil(67),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_letters_outside_gsm_lose_their_accent_only() {
        assert_eq!(fold("Fête à Besançon"), "Fete à Besancon");
        assert_eq!(fold("Élodie, é è à ù ç"), "Élodie, é è à ù c");
        assert_eq!(fold("l’œuvre « îlot » — où"), "l'oeuvre \" ilot \" - où");
        assert!(is_gsm(&fold("ÂÊÎÔÛ âêîôû ëïÿ ç")));
    }

    #[test]
    fn segments_follow_the_encoding() {
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"€".repeat(81)), 2);
        assert_eq!(segments(&"م".repeat(70)), 1);
        assert_eq!(segments(&"م".repeat(71)), 2);
    }
}
