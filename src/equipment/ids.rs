//! Device identifiers: an IMEI is 15 digits with a Luhn check digit; an ICCID is 19 or 20
//! digits starting with 89, Luhn-checked.

/// The Luhn checksum over all digits (the last one being the check digit).
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let double = d * 2;
                if double > 9 {
                    double - 9
                } else {
                    double
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The Luhn check digit to append to `payload` (digits only).
pub fn luhn_check_digit(payload: &str) -> u32 {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b.wrapping_sub(b'0'));
            if i % 2 == 0 {
                let double = d * 2;
                if double > 9 {
                    double - 9
                } else {
                    double
                }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// Spaces and dashes typed for readability are dropped.
pub fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

pub fn check_imei(imei: &str) -> Result<(), &'static str> {
    if imei.len() != 15 || !imei.bytes().all(|b| b.is_ascii_digit()) {
        return Err("L'IMEI compte 15 chiffres (tapez *#06# sur le téléphone pour l'afficher).");
    }
    if !luhn_valid(imei) {
        return Err("Cet IMEI n'est pas valide : un chiffre est sans doute mal recopié.");
    }
    Ok(())
}

pub fn check_iccid(iccid: &str) -> Result<(), &'static str> {
    if !(19..=20).contains(&iccid.len())
        || !iccid.bytes().all(|b| b.is_ascii_digit())
        || !iccid.starts_with("89")
    {
        return Err("L'ICCID compte 19 ou 20 chiffres et commence par 89 (il est imprimé sur la carte SIM).");
    }
    if !luhn_valid(iccid) {
        return Err("Cet ICCID n'est pas valide : un chiffre est sans doute mal recopié.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imei_and_iccid_checks() {
        assert!(check_imei("490154203237518").is_ok());
        assert!(check_imei("490154203237519").is_err(), "bad check digit");
        assert!(check_imei("49015420323751").is_err(), "14 digits");
        assert!(check_iccid("8933150319002381420").is_ok(), "19 digits");
        assert!(check_iccid("89331503190023814266").is_ok(), "20 digits");
        assert!(
            check_iccid("8933150319002381421").is_err(),
            "bad check digit"
        );
        assert!(
            check_iccid("1233150319002381426").is_err(),
            "does not start with 89"
        );
        assert_eq!(compact("49 0154-2032 37518"), "490154203237518");
    }

    #[test]
    fn check_digits_complete_valid_numbers() {
        assert_eq!(luhn_check_digit("35209900176148"), 1);
        assert!(luhn_valid(&format!(
            "7992739871{}",
            luhn_check_digit("7992739871")
        )));
    }

    #[test]
    fn luhn_examples() {
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
    }
}
