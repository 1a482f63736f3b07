//! Phone numbers as Wazzup writes them (`79011112233`, `+7 901 …`,
//! `89011112233`) → E.164, so a customer who writes to a Wazzup WhatsApp
//! number and to a direct WhatsApp channel is recognisably the same phone.
//!
//! The rules follow the contract's reading (digits are an international
//! number first; a national `8…` prefix is read in the default region,
//! Russia): `8` + 10 digits is Russian unless it starts with a country code
//! of the 8-zone that such numbers really use (81 Japan, 82 Korea, 84
//! Vietnam, 86 China), so `84912345678` stays Vietnamese.

/// The E.164 form of `raw`, or `None` when it is not a phone number.
pub fn to_e164(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let plus = trimmed.starts_with('+');
    let allowed = |c: char| c.is_ascii_digit() || " ()-.+".contains(c);
    if trimmed.is_empty() || !trimmed.chars().all(allowed) {
        return None;
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let international = if plus {
        digits
    } else if digits.len() == 11 && digits.starts_with('8') && !eight_zone(&digits) {
        format!("7{}", &digits[1..])
    } else if digits.len() == 10 && digits.starts_with('9') {
        // A Russian mobile written without any prefix.
        format!("7{digits}")
    } else {
        digits
    };
    (8..=15)
        .contains(&international.len())
        .then(|| format!("+{international}"))
}

fn eight_zone(digits: &str) -> bool {
    ["81", "82", "84", "86"]
        .iter()
        .any(|code| digits.starts_with(code))
}

#[cfg(test)]
mod tests {
    use super::to_e164;

    #[test]
    fn the_contracts_table() {
        for (raw, e164) in [
            ("+7 (912) 345-67-89", "+79123456789"),
            ("79123456789", "+79123456789"),
            ("89123456789", "+79123456789"),
            ("8 912 345 67 89", "+79123456789"),
            ("9123456789", "+79123456789"),
            ("88121234567", "+78121234567"),
            ("84912345678", "+84912345678"),
            ("16505551234", "+16505551234"),
        ] {
            assert_eq!(to_e164(raw).as_deref(), Some(e164), "{raw}");
        }
    }

    #[test]
    fn what_is_not_a_phone_is_none() {
        for raw in ["", "jane.doe", "123", "+1234567890123456", "79a"] {
            assert_eq!(to_e164(raw), None, "{raw}");
        }
    }
}
