//! Bounded free text — descriptions, reasons, client tokens — checked by one rule.
//!
//! No field takes a control character: a newline or an escape sequence in a reason would
//! forge lines in a listing, a log or a terminal.

/// Longest description of a profile, a code-signing config or a layer version, in
/// characters (Lambda's limit).
pub const MAX_DESCRIPTION: usize = 256;
/// A description: at most [`MAX_DESCRIPTION`] characters, on one line, or none.
pub const DESCRIPTION: TextRule = TextRule::new("description", MAX_DESCRIPTION).or_empty();

/// How long a free-text field may be, and whether it may be empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    /// The field, for messages ("description", "revocation reason").
    pub what: &'static str,
    /// The most characters (not bytes) it holds.
    pub max: usize,
    /// Whether an empty text is allowed.
    pub may_be_empty: bool,
}

/// Why a text broke its [`TextRule`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty where something is needed.
    #[error("the {what} is empty; give 1 to {max} characters")]
    Empty {
        /// The field.
        what: &'static str,
        /// The most it holds.
        max: usize,
    },
    /// Over the limit.
    #[error("the {what} has {len} characters; at most {max} are allowed")]
    TooLong {
        /// The field.
        what: &'static str,
        /// Its length in characters.
        len: usize,
        /// The most it holds.
        max: usize,
    },
    /// A control character.
    #[error("the {what} holds a control character (a newline, a tab…); use one line of plain text")]
    Control {
        /// The field.
        what: &'static str,
    },
}

impl TextRule {
    /// A text of 1 to `max` characters.
    pub const fn new(what: &'static str, max: usize) -> Self {
        Self { what, max, may_be_empty: false }
    }

    /// The same rule, allowing an empty text.
    pub const fn or_empty(self) -> Self {
        Self { may_be_empty: true, ..self }
    }

    /// Checks `s` against the rule.
    pub fn check(&self, s: &str) -> Result<(), TextError> {
        let (what, max) = (self.what, self.max);
        let len = s.chars().count();
        if len == 0 && !self.may_be_empty {
            return Err(TextError::Empty { what, max });
        }
        if len > max {
            return Err(TextError::TooLong { what, len, max });
        }
        if s.chars().any(char::is_control) {
            return Err(TextError::Control { what });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_bounds_length_and_refuses_control_characters() {
        let token = TextRule::new("client token", 3);
        assert_eq!(token.check("abc"), Ok(()));
        assert_eq!(token.check("äöü"), Ok(()), "characters, not bytes");
        assert_eq!(token.check(""), Err(TextError::Empty { what: "client token", max: 3 }));
        assert_eq!(token.check("abcd"), Err(TextError::TooLong { what: "client token", len: 4, max: 3 }));
        for bad in ["a\nb", "\u{1b}[2", "a\tb", "\u{7f}"] {
            assert_eq!(token.check(bad), Err(TextError::Control { what: "client token" }), "{bad:?}");
        }
        assert_eq!(token.or_empty().check(""), Ok(()));
    }
}
