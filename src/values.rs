//! The domain's values, checked once: personal IDs, codes, document ids, SHA-256 digests,
//! dates, verification references and free text. The HTTP layer, the web page and the
//! store all parse with these types, so a value has one rule and one message wherever it
//! comes in. Each type parses with `FromStr` (and serde, through `try_from`) and derefs
//! to `str`. This module depends on nothing else of sohoa.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that breaks its type's rule; the message names the value (shortened) and the
/// rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// At most 80 characters of untrusted input, for error messages.
pub fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Declares a string newtype whose constructor is `check`.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `value`.
            pub fn parse(value: &str) -> Result<$name, Invalid> {
                let check: fn(&str) -> Result<String, Invalid> = $check;
                check(value).map($name)
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = Invalid;

            fn from_str(value: &str) -> Result<$name, Invalid> {
                $name::parse(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Invalid;

            fn try_from(value: String) -> Result<$name, Invalid> {
                $name::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_string!(
    /// A 12-digit personal ID number (số định danh cá nhân).
    CitizenId,
    |id| {
        if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(id.to_string());
        }
        Err(Invalid(format!(
            "invalid personal ID number {:?}: expected exactly 12 digits",
            shorten(id)
        )))
    }
);

checked_string!(
    /// A document or key id as the store makes them: 26 characters `a-z`, `2-7`.
    DocumentId,
    |id| {
        if is_id(id) {
            return Ok(id.to_string());
        }
        Err(Invalid(format!(
            "invalid id {:?}: expected {ID_LEN} characters a-z, 2-7",
            shorten(id)
        )))
    }
);

checked_string!(
    /// A SHA-256 digest in hex: either case accepted, kept in lowercase.
    Sha256,
    |hex| {
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(hex.to_ascii_lowercase());
        }
        Err(Invalid(format!(
            "invalid SHA-256 {:?}: expected 64 hexadecimal digits",
            shorten(hex)
        )))
    }
);

checked_string!(
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    |date| check_date("", date).map(|()| date.to_string())
);

checked_string!(
    /// A verification reference (the QR code's content): 1–128 of `A-Z a-z 0-9 : . _ / -`.
    Reference,
    |reference| {
        let ok = (1..=128).contains(&reference.len())
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":._/-".contains(&b));
        if ok {
            return Ok(reference.to_string());
        }
        Err(Invalid(format!(
            "invalid verification reference {:?}",
            shorten(reference)
        )))
    }
);

checked_string!(
    /// A document's title: free text of at most [`MAX_TITLE`] characters.
    Title,
    |title| check_text("title", title.trim(), MAX_TITLE).map(|()| title.trim().to_string())
);

/// Length of a [`DocumentId`].
pub const ID_LEN: usize = 26;
/// Longest title.
pub const MAX_TITLE: usize = 500;
/// Longest code.
pub const MAX_CODE: usize = 100;

/// Whether `s` has the shape of a [`DocumentId`].
pub fn is_id(s: &str) -> bool {
    s.len() == ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
}

/// Whether `s` is a SHA-256 in lowercase hex, as the store names blobs.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks a code (agency, dossier, procedure, kind): 1–100 of `A-Z a-z 0-9 . _ / -`,
/// not starting with `.` or `/` and without `..` (codes are never paths; nor look like
/// one). `what` names it in the message.
pub fn check_code(what: &str, code: &str) -> Result<(), Invalid> {
    let ok = (1..=MAX_CODE).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b))
        && !code.starts_with(['.', '/'])
        && !code.contains("..");
    if ok {
        return Ok(());
    }
    Err(Invalid(format!(
        "invalid {what} {:?}: use 1 to {MAX_CODE} letters, digits, '.', '_', '/' or '-'",
        shorten(code)
    )))
}

/// Checks free text: not blank, at most `max` characters, no control characters and no
/// bidirectional overrides. `what` names it in the message.
pub fn check_text(what: &str, text: &str, max: usize) -> Result<(), Invalid> {
    if text.trim().is_empty() {
        return Err(Invalid(format!("{what} is empty")));
    }
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(Invalid(format!(
            "invalid {what}: at most {max} characters and no control characters"
        )));
    }
    if text.chars().any(is_bidi_control) {
        return Err(Invalid(format!(
            "invalid {what}: no bidirectional override characters (U+202A–U+202E, U+2066–U+2069)"
        )));
    }
    Ok(())
}

/// Explicit bidirectional embeddings, overrides and isolates (and the marks), which let
/// a name display differently from what it is (`gpj.exe` shown as `exe.jpg`).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks a calendar date `YYYY-MM-DD`; `what` names it in the message.
pub fn check_date(what: &str, date: &str) -> Result<(), Invalid> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(date, &format) {
        Ok(_) if date.len() == 10 => Ok(()),
        _ => Err(Invalid(format!(
            "invalid {}date {:?}: expected YYYY-MM-DD",
            if what.is_empty() {
                String::new()
            } else {
                format!("{what} ")
            },
            shorten(date)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_has_one_rule() {
        assert!(CitizenId::parse("001234567890").is_ok());
        assert!(CitizenId::parse("00123456789").is_err());
        assert!(CitizenId::parse("00123456789x").is_err());
        assert_eq!(
            Sha256::parse(&"AB".repeat(32)).unwrap().as_str(),
            "ab".repeat(32)
        );
        assert!(Sha256::parse("ab").is_err());
        assert!(DocumentId::parse("abcdefghijklmnopqrstuvwxyz").is_ok());
        assert!(DocumentId::parse("abcdefghijklmnopqrstuvwxy1").is_err());
        assert!(Date::parse("2026-02-28").is_ok());
        assert!(Date::parse("2026-02-30").is_err());
        assert!(Date::parse("2026-2-28").is_err());
        assert!(Reference::parse("SOHOA1:2026-01-7:0123abcd").is_ok());
        assert!(Reference::parse("a b").is_err());
        assert_eq!(
            Title::parse("  Giấy khai sinh ").unwrap().as_str(),
            "Giấy khai sinh"
        );
        assert!(Title::parse(&"x".repeat(MAX_TITLE + 1)).is_err());
        assert!(Title::parse("exe.\u{202E}gpj").is_err());
        assert!(check_code("kind", "giay-khai-sinh").is_ok());
        for bad in ["", "../x", "/etc", "a b", ".hidden", &"x".repeat(101)] {
            assert!(check_code("kind", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_checks_through_the_same_rule() {
        let id: CitizenId = serde_json::from_str("\"001234567890\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"001234567890\"");
        let bad = serde_json::from_str::<CitizenId>("\"12\"").unwrap_err();
        assert!(bad.to_string().contains("12 digits"), "{bad}");
    }
}
