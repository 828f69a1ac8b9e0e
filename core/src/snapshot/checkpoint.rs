//! The QED checkpoint: a tlog-checkpoint note text with the `qed-hyper` and `qed-event` lines.

use super::{b64_decode_hash, b64_encode};
use crate::{Hash, VerifyError};
use alloc::string::String;

const HYPER_PREFIX: &str = "qed-hyper ";
const EVENT_PREFIX: &str = "qed-event ";

/// The text of a snapshot (protocol section 4): a c2sp.org/tlog-checkpoint with two QED
/// extension lines.
///
/// ```text
/// <origin>
/// <size>
/// <base64 history root>
/// qed-hyper <base64 hyper root>
/// qed-event <base64 digest of the event at version size-1>
/// ```
///
/// Every line ends with a newline; base64 is standard and padded; the `qed-event` line is
/// present exactly when the size is not 0.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The log's identity; equal to the signing key's name.
    pub origin: String,
    /// The number of events in the log (`n`).
    pub size: u64,
    /// The RFC 9162 history tree root at `size` (`SHA-256("")` when empty).
    pub history_root: Hash,
    /// The hyper (sparse Merkle) tree root after the same events.
    pub hyper_root: Hash,
    /// The digest of the event at version `size - 1`; `None` exactly when `size` is 0.
    pub event_digest: Option<Hash>,
}

impl Checkpoint {
    /// The note text: exactly the bytes of protocol section 4, final newline included.
    ///
    /// The fields are written as they are; [`Checkpoint::validate`] says whether the result
    /// will parse back.
    ///
    /// ```
    /// use qed_core::snapshot::Checkpoint;
    /// let cp = Checkpoint {
    ///     origin: "example.com/qed".into(),
    ///     size: 0,
    ///     history_root: [0u8; 32],
    ///     hyper_root: [0u8; 32],
    ///     event_digest: None,
    /// };
    /// let zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    /// assert_eq!(cp.to_text(), format!("example.com/qed\n0\n{zero}\nqed-hyper {zero}\n"));
    /// ```
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.origin.len() + 180);
        out.push_str(&self.origin);
        out.push('\n');
        out.push_str(&alloc::string::ToString::to_string(&self.size));
        out.push('\n');
        out.push_str(&b64_encode(&self.history_root));
        out.push('\n');
        out.push_str(HYPER_PREFIX);
        out.push_str(&b64_encode(&self.hyper_root));
        out.push('\n');
        if let Some(event) = &self.event_digest {
            out.push_str(EVENT_PREFIX);
            out.push_str(&b64_encode(event));
            out.push('\n');
        }
        out
    }

    /// Parses a checkpoint text, strictly.
    ///
    /// Accepted is exactly what [`Checkpoint::to_text`] writes for a valid checkpoint:
    /// - the text ends with a newline and has 4 lines (size 0) or 5 lines (size > 0);
    /// - the origin is non-empty and holds no control character (tlog-checkpoint lets it be
    ///   any non-empty line; [`super::open`] further requires it to equal the key name);
    /// - the size is ASCII decimal without sign or leading zeros (`0` alone for empty) and fits
    ///   in 64 bits;
    /// - the history root, `qed-hyper` and `qed-event` values are canonical padded base64 of
    ///   exactly 32 bytes, with a single space after the keyword;
    /// - `qed-hyper` is always the fourth line, `qed-event` the fifth exactly when size > 0.
    ///
    /// tlog-checkpoint allows other extension lines, but QED's protocol fixes the text, so
    /// **any other line is refused**: an unknown extension, a blank line or CRLF line ends.
    ///
    /// # Errors
    ///
    /// [`VerifyError::MalformedCheckpoint`] naming the broken rule.
    ///
    /// ```
    /// use qed_core::snapshot::Checkpoint;
    /// let zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    /// let text = format!("log\n1\n{zero}\nqed-hyper {zero}\nqed-event {zero}\n");
    /// let cp = Checkpoint::parse(&text)?;
    /// assert_eq!((cp.size, cp.version()), (1, Some(0)));
    /// assert!(Checkpoint::parse(&text.replace("\n1\n", "\n01\n")).is_err());
    /// # Ok::<(), qed_core::VerifyError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Checkpoint, VerifyError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(malformed("text does not end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = parse_origin(lines.next().unwrap_or_default())?;
        let size = parse_size(lines.next().ok_or(malformed("missing tree size line"))?)?;
        let history_root = b64_decode_hash(lines.next().ok_or(malformed("missing root line"))?)
            .ok_or(malformed("history root is not the base64 of 32 bytes"))?;
        let hyper_root = parse_hyper(lines.next())?;
        let event_digest = parse_event(size, lines.next())?;
        if lines.next().is_some() {
            return Err(malformed("unexpected line after the QED lines"));
        }
        Ok(Checkpoint {
            origin: origin.into(),
            size,
            history_root,
            hyper_root,
            event_digest,
        })
    }

    /// The latest version, `size - 1`; `None` for the empty log.
    pub fn version(&self) -> Option<u64> {
        self.size.checked_sub(1)
    }

    /// Checks that [`Checkpoint::to_text`] gives a text that [`Checkpoint::parse`] accepts
    /// (and that parses back to `self`): a non-empty origin without control characters, and an
    /// event digest present exactly when the size is not 0.
    ///
    /// # Errors
    ///
    /// [`VerifyError::MalformedCheckpoint`].
    pub fn validate(&self) -> Result<(), VerifyError> {
        parse_origin(&self.origin)?;
        match (self.size, self.event_digest) {
            (0, Some(_)) => Err(malformed("an empty log has no event digest")),
            (1.., None) => Err(malformed(
                "a non-empty log needs the digest of its last event",
            )),
            _ => Ok(()),
        }
    }
}

fn malformed(reason: &'static str) -> VerifyError {
    VerifyError::MalformedCheckpoint(reason)
}

fn parse_origin(line: &str) -> Result<&str, VerifyError> {
    if line.is_empty() {
        return Err(malformed("origin is empty"));
    }
    if line.chars().any(char::is_control) {
        return Err(malformed("origin holds a control character"));
    }
    Ok(line)
}

/// ASCII decimal, no sign, no leading zeros except `0` itself, at most `u64::MAX`.
fn parse_size(line: &str) -> Result<u64, VerifyError> {
    let digits_only = !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit());
    let canonical = line == "0" || !line.starts_with('0');
    if !(digits_only && canonical) {
        return Err(malformed(
            "tree size is not a decimal without leading zeros",
        ));
    }
    line.parse()
        .map_err(|_| malformed("tree size does not fit in 64 bits"))
}

fn parse_hyper(line: Option<&str>) -> Result<Hash, VerifyError> {
    let value = line
        .and_then(|l| l.strip_prefix(HYPER_PREFIX))
        .ok_or(malformed("fourth line is not \"qed-hyper <root>\""))?;
    b64_decode_hash(value).ok_or(malformed("hyper root is not the base64 of 32 bytes"))
}

fn parse_event(size: u64, line: Option<&str>) -> Result<Option<Hash>, VerifyError> {
    match (size, line) {
        (0, Some(l)) if l.starts_with(EVENT_PREFIX) => {
            Err(malformed("qed-event line in an empty checkpoint"))
        }
        (0, Some(_)) => Err(malformed("unexpected line after the QED lines")),
        (0, None) => Ok(None),
        (_, None) => Err(malformed("missing qed-event line")),
        (_, Some(l)) => {
            let value = l
                .strip_prefix(EVENT_PREFIX)
                .ok_or(malformed("fifth line is not \"qed-event <digest>\""))?;
            b64_decode_hash(value)
                .map(Some)
                .ok_or(malformed("event digest is not the base64 of 32 bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(size: u64) -> Checkpoint {
        Checkpoint {
            origin: "example.com/log".into(),
            size,
            history_root: [1; 32],
            hyper_root: [2; 32],
            event_digest: (size > 0).then_some([3; 32]),
        }
    }

    #[test]
    fn round_trips() {
        for size in [0, 1, 2, 10, u64::MAX] {
            let cp = sample(size);
            assert_eq!(cp.validate(), Ok(()));
            assert_eq!(Checkpoint::parse(&cp.to_text()), Ok(cp));
        }
    }

    #[test]
    fn size_rules() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_size("18446744073709551616"),
            Err(malformed("tree size does not fit in 64 bits"))
        );
        for bad in ["", "00", "01", "+1", "-1", " 1", "1 ", "1_0", "0x1", "١"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn version() {
        assert_eq!(sample(0).version(), None);
        assert_eq!(sample(1).version(), Some(0));
        assert_eq!(sample(u64::MAX).version(), Some(u64::MAX - 1));
    }

    #[test]
    fn validate_rejects() {
        let mut cp = sample(0);
        cp.event_digest = Some([0; 32]);
        assert!(cp.validate().is_err());
        let mut cp = sample(3);
        cp.event_digest = None;
        assert!(cp.validate().is_err());
        let mut cp = sample(3);
        cp.origin = "a\nb".into();
        assert!(cp.validate().is_err());
        cp.origin = String::new();
        assert!(cp.validate().is_err());
    }
}
