//! Text normalisation for search: "Hélène" and "helene" fold to the same key.

use unicode_normalization::UnicodeNormalization;

/// Lower case, without accents or ligatures, whitespace collapsed.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        match c {
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            c if c.is_whitespace() => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            c => out.extend(c.to_lowercase()),
        }
    }
    out.trim_end().to_string()
}

/// A phone number kept as digits, with a leading `+` when international.
pub fn normalise_phone(text: &str) -> String {
    let trimmed = text.trim();
    let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
    if trimmed.starts_with('+') {
        format!("+{digits}")
    } else {
        digits
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Trimmed, and `None` when empty.
pub fn clean(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_accents_and_ligatures() {
        assert_eq!(fold("Hélène"), "helene");
        assert_eq!(fold("  ÉLOÏSE   Cœur "), "eloise coeur");
        assert_eq!(fold("François"), "francois");
    }

    #[test]
    fn phones_keep_digits_and_plus() {
        assert_eq!(normalise_phone("06 12-34.56 78"), "0612345678");
        assert_eq!(normalise_phone("+33 6 12 34 56 78"), "+33612345678");
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_escape("50%_a\\"), "50\\%\\_a\\\\");
    }
}
