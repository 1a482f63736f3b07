//! Phone numbers to E.164 with libphonenumber's rules (the `phonenumber`
//! crate carries Google's metadata), as the contract describes: digits are
//! read as an international number first; what is not valid that way, and
//! anything written with the region's national prefix (`8 912 …`,
//! `8 (912) …`), is read in the default region.

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber};

/// The region numbers without a country code are read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(Id);

/// Why a region or a phone is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhoneError {
    #[error("{0:?} is not a region code such as RU or DE")]
    UnknownRegion(String),
    #[error("{0:?} is not a valid phone number")]
    Invalid(String),
}

impl Region {
    /// A region from its ISO 3166 code (`RU`, `de`).
    pub fn parse(code: &str) -> Result<Self, PhoneError> {
        code.trim()
            .to_ascii_uppercase()
            .parse::<Id>()
            .map(Region)
            .map_err(|_| PhoneError::UnknownRegion(code.to_owned()))
    }

    fn national_prefix(self) -> Option<&'static str> {
        phonenumber::metadata::DATABASE
            .by_id(self.0.as_ref())
            .and_then(|m| m.national_prefix())
    }
}

impl Default for Region {
    /// `RU`, the contract's default.
    fn default() -> Self {
        Region(Id::RU)
    }
}

/// `raw` in E.164 (`+79123456789`), or why not.
pub fn normalize(raw: &str, region: Region) -> Result<String, PhoneError> {
    let invalid = || PhoneError::Invalid(raw.to_owned());
    let trimmed = raw.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 5 || digits.len() > 17 {
        return Err(invalid());
    }
    let written_international = trimmed.starts_with('+') || trimmed.starts_with("00");
    if !written_international
        && !has_national_prefix(trimmed, region)
        && let Some(number) = valid(phonenumber::parse(None, format!("+{digits}")).ok())
    {
        return Ok(e164(&number));
    }
    let in_region = if written_international {
        phonenumber::parse(None, format!("+{}", digits.trim_start_matches("00")))
    } else {
        phonenumber::parse(Some(region.0), &digits)
    };
    valid(in_region.ok()).map(|n| e164(&n)).ok_or_else(invalid)
}

/// `8 912 …` or `8 (912) …`: the first group of digits, set apart, is the
/// region's national prefix.
fn has_national_prefix(written: &str, region: Region) -> bool {
    let Some(prefix) = region.national_prefix() else {
        return false;
    };
    let first_group: String = written.chars().take_while(char::is_ascii_digit).collect();
    let separated = written.len() > first_group.len();
    separated && first_group == prefix
}

fn valid(number: Option<PhoneNumber>) -> Option<PhoneNumber> {
    number.filter(phonenumber::is_valid)
}

fn e164(number: &PhoneNumber) -> String {
    number.format().mode(Mode::E164).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_written_any_way_become_e164() {
        let ru = Region::default();
        for (written, expected) in [
            ("+7 (912) 345-67-89", "+79123456789"),
            ("79123456789", "+79123456789"),
            ("89123456789", "+79123456789"),
            ("8 912 345 67 89", "+79123456789"),
            ("8 (912) 345-67-89", "+79123456789"),
            ("9123456789", "+79123456789"),
            ("+79123456789", "+79123456789"),
            // A WhatsApp wa_id is international: Vietnam, not Russia.
            ("84912345678", "+84912345678"),
            ("+84912345678", "+84912345678"),
            ("491701234567", "+491701234567"),
            ("0049 170 1234567", "+491701234567"),
            ("12025550123", "+12025550123"),
        ] {
            assert_eq!(normalize(written, ru).as_deref(), Ok(expected), "{written}");
        }
    }

    #[test]
    fn the_default_region_reads_national_numbers() {
        let de = Region::parse("de").unwrap();
        assert_eq!(
            normalize("0170 1234567", de).as_deref(),
            Ok("+491701234567")
        );
        assert_eq!(
            normalize("+7 912 345 67 89", de).as_deref(),
            Ok("+79123456789")
        );
    }

    #[test]
    fn what_is_not_a_phone_is_refused() {
        let ru = Region::default();
        for bad in ["", "abc", "12", "+7 912", "@durov", "123456789012345678901"] {
            assert!(normalize(bad, ru).is_err(), "{bad}");
        }
        assert!(matches!(
            Region::parse("XX"),
            Err(PhoneError::UnknownRegion(_))
        ));
    }
}
