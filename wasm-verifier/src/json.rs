//! A small, strict JSON reader for the four answer objects of the HTTP API (docs/API.md).
//!
//! Why not serde_json: it and the float formatting its error messages pull in were about a third
//! of the WebAssembly module, and the package must stay small. This reader knows exactly the
//! shapes it decodes, and follows what qed-core's serde types accept, so the WASM verifier and
//! the native one agree on every answer:
//! - unknown fields are skipped, a field given twice is refused, required fields must be there;
//! - `Option` fields may be absent or `null`;
//! - versions and sizes are JSON integers from 0 to 2^64 - 1 (no sign, fraction or exponent),
//!   read exactly (unlike `JSON.parse`, which rounds above 2^53);
//! - hashes are 64 hex characters, proof lists at most 256 of them;
//! - strings follow RFC 8259 (escapes, surrogate pairs; no raw control characters, no lone
//!   surrogates); nesting deeper than [`MAX_DEPTH`] is refused; nothing may follow the value.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use qed_core::Hash;
use qed_core::hyper::{Proof, Stop};
use qed_core::receipt::Receipt;
use qed_core::snapshot::SnapshotJson;
use qed_core::verify::{IncrementalAnswer, MembershipAnswer};

use crate::input::{MAX_PROOF_HASHES, Reason};

/// Deepest nesting of arrays and objects accepted (in skipped values too).
pub const MAX_DEPTH: u32 = 64;

/// A cursor over JSON text.
struct Reader<'a> {
    text: &'a [u8],
    pos: usize,
    depth: u32,
}

/// Parses a whole JSON text with `read`, refusing anything after the value.
fn parse<T>(text: &str, read: impl FnOnce(&mut Reader) -> Result<T, Reason>) -> Result<T, Reason> {
    let mut r = Reader {
        text: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let value = read(&mut r)?;
    match r.peek() {
        None => Ok(value),
        Some(_) => Err(r.error("trailing characters after the JSON value")),
    }
}

impl Reader<'_> {
    fn error(&self, what: &str) -> Reason {
        format!("malformed JSON at byte {}: {what}", self.pos)
    }

    /// The next byte that is not white space, without consuming it.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&c) = self.text.get(self.pos) {
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(c);
            }
            self.pos += 1;
        }
        None
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.text.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let end = self.pos.saturating_add(word.len());
        if self.text.get(self.pos..end) == Some(word) {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// Consumes `null` if it comes next.
    fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.literal(b"null")
    }

    fn bool(&mut self) -> Result<bool, Reason> {
        self.peek();
        if self.literal(b"true") {
            Ok(true)
        } else if self.literal(b"false") {
            Ok(false)
        } else {
            Err(self.error("expected true or false"))
        }
    }

    /// A JSON integer from 0 to 2^64 - 1.
    fn u64(&mut self) -> Result<u64, Reason> {
        let bad = "expected an integer from 0 to 2^64 - 1";
        let start = match self.peek() {
            Some(b'0'..=b'9') => self.pos,
            _ => return Err(self.error(bad)),
        };
        let mut value: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.text.get(self.pos).copied() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .ok_or_else(|| self.error(bad))?;
            self.pos += 1;
        }
        let leading_zero = self.text.get(start) == Some(&b'0') && self.pos - start > 1;
        let fraction = matches!(self.text.get(self.pos), Some(b'.' | b'e' | b'E'));
        if leading_zero || fraction {
            return Err(self.error(bad));
        }
        Ok(value)
    }

    fn string(&mut self) -> Result<String, Reason> {
        if !self.eat(b'"') {
            return Err(self.error("expected a string"));
        }
        let mut out = Vec::new();
        loop {
            // Copy the run up to the next quote, backslash or control character in one go.
            let rest = self.text.get(self.pos..).unwrap_or_default();
            let run = rest
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .unwrap_or(rest.len());
            out.extend_from_slice(rest.get(..run).unwrap_or_default());
            self.pos += run;
            match self.bump() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => return Err(self.error("control character in a string")),
            }
        }
        // The input was a &str and escapes are pushed as UTF-8, so this cannot fail; it stays an
        // error rather than a panic all the same.
        String::from_utf8(out).map_err(|_| self.error("string is not UTF-8"))
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Reason> {
        let c = match self.bump() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => self.unicode_escape()?,
            _ => return Err(self.error("invalid escape in a string")),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    /// The character of a `\uXXXX` escape (the `\u` already read), joining a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, Reason> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !(self.literal(b"\\u")) {
                    return Err(self.error("lone surrogate in a string"));
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone surrogate in a string"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone surrogate in a string")),
            c => c,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, Reason> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .bump()
                .and_then(|c| char::from(c).to_digit(16))
                .ok_or_else(|| self.error("invalid \\u escape"))?;
            v = (v << 4) | d;
        }
        Ok(v)
    }

    fn enter(&mut self) -> Result<(), Reason> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        Ok(())
    }

    /// Reads an object, calling `field` with each key; `field` must consume the value.
    fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, &str) -> Result<(), Reason>,
    ) -> Result<(), Reason> {
        if !self.eat(b'{') {
            return Err(self.error("expected an object"));
        }
        self.enter()?;
        if !self.eat(b'}') {
            loop {
                let key = self.string()?;
                if !self.eat(b':') {
                    return Err(self.error("expected ':' after a key"));
                }
                field(self, &key)?;
                if self.eat(b'}') {
                    break;
                }
                if !self.eat(b',') {
                    return Err(self.error("expected ',' or '}'"));
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Reads an array, calling `item` for each element; `item` must consume it.
    fn array(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(), Reason>,
    ) -> Result<(), Reason> {
        if !self.eat(b'[') {
            return Err(self.error("expected an array"));
        }
        self.enter()?;
        if !self.eat(b']') {
            loop {
                item(self)?;
                if self.eat(b']') {
                    break;
                }
                if !self.eat(b',') {
                    return Err(self.error("expected ',' or ']'"));
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Skips any JSON value (an unknown field's).
    fn skip(&mut self) -> Result<(), Reason> {
        match self.peek() {
            Some(b'{') => self.object(|r, _| r.skip()),
            Some(b'[') => self.array(Self::skip),
            Some(b'"') => self.string().map(drop),
            Some(b't' | b'f') => self.bool().map(drop),
            Some(b'n') if self.null() => Ok(()),
            Some(b'-' | b'0'..=b'9') => self.skip_number(),
            _ => Err(self.error("expected a JSON value")),
        }
    }

    fn skip_number(&mut self) -> Result<(), Reason> {
        self.eat(b'-');
        let int_start = self.pos;
        self.digits();
        let int = self.text.get(int_start..self.pos).unwrap_or_default();
        if int.is_empty() || (int.len() > 1 && int.first() == Some(&b'0')) {
            return Err(self.error("invalid number"));
        }
        if self.text.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.text.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.text.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.text.get(self.pos), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn hash(&mut self) -> Result<Hash, Reason> {
        // Fast path: 64 characters between quotes, none of them an escape (hex never is).
        if self.peek() == Some(b'"') {
            let start = self.pos.saturating_add(1);
            let end = start.saturating_add(64);
            if self.text.get(end) == Some(&b'"') {
                let hex = self.text.get(start..end).unwrap_or_default();
                if let Some(h) = core::str::from_utf8(hex)
                    .ok()
                    .and_then(qed_core::hash::from_hex)
                {
                    self.pos = end.saturating_add(1);
                    return Ok(h);
                }
            }
        }
        let s = self.string()?;
        qed_core::hash::from_hex(&s).ok_or_else(|| self.error("expected 64 hex characters"))
    }

    fn hashes(&mut self) -> Result<Vec<Hash>, Reason> {
        let mut out = Vec::new();
        self.array(|r| {
            if out.len() >= MAX_PROOF_HASHES as usize {
                return Err(r.error("proof has more than 256 hashes"));
            }
            out.push(r.hash()?);
            Ok(())
        })?;
        Ok(out)
    }

    /// `null`, or a list of hashes.
    fn hashes_or_null(&mut self) -> Result<Option<Vec<Hash>>, Reason> {
        if self.null() {
            Ok(None)
        } else {
            self.hashes().map(Some)
        }
    }

    /// `null`, or an integer.
    fn u64_or_null(&mut self) -> Result<Option<u64>, Reason> {
        if self.null() {
            Ok(None)
        } else {
            self.u64().map(Some)
        }
    }
}

/// Stores a field's value, refusing a second occurrence of the same key.
fn set<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), Reason> {
    if slot.is_some() {
        return Err(format!("malformed JSON: duplicate field `{key}`"));
    }
    *slot = Some(value);
    Ok(())
}

fn required<T>(slot: Option<T>, key: &str) -> Result<T, Reason> {
    slot.ok_or_else(|| format!("malformed JSON: missing field `{key}`"))
}

/// An optional field: absent and `null` both mean `None`; present twice is refused.
fn set_opt<T>(slot: &mut Option<Option<T>>, key: &str, value: Option<T>) -> Result<(), Reason> {
    set(slot, key, value)
}

fn snapshot_in(r: &mut Reader) -> Result<SnapshotJson, Reason> {
    let (mut version, mut size, mut history, mut hyper, mut event, mut checkpoint) =
        (None, None, None, None, None, None);
    r.object(|r, key| match key {
        "version" => set_opt(&mut version, key, r.u64_or_null()?),
        "size" => set(&mut size, key, r.u64()?),
        "history_digest" => set(&mut history, key, r.string()?),
        "hyper_digest" => set(&mut hyper, key, r.string()?),
        "event_digest" => {
            let v = if r.null() { None } else { Some(r.string()?) };
            set_opt(&mut event, key, v)
        }
        "checkpoint" => set(&mut checkpoint, key, r.string()?),
        _ => r.skip(),
    })?;
    Ok(SnapshotJson {
        version: version.flatten(),
        size: required(size, "size")?,
        history_digest: required(history, "history_digest")?,
        hyper_digest: required(hyper, "hyper_digest")?,
        event_digest: event.flatten(),
        checkpoint: required(checkpoint, "checkpoint")?,
    })
}

/// A snapshot's JSON form.
pub fn snapshot(text: &str) -> Result<SnapshotJson, Reason> {
    parse(text, snapshot_in)
}

/// A receipt (the answer to `POST /events`).
pub fn receipt(text: &str) -> Result<Receipt, Reason> {
    parse(text, |r| {
        let (mut version, mut digest, mut duplicate, mut snapshot, mut proof) =
            (None, None, None, None, None);
        r.object(|r, key| match key {
            "version" => set(&mut version, key, r.u64()?),
            "digest" => set(&mut digest, key, r.hash()?),
            "duplicate" => set(&mut duplicate, key, r.bool()?),
            "snapshot" => set(&mut snapshot, key, snapshot_in(r)?),
            "proof" => set(&mut proof, key, r.hashes()?),
            _ => r.skip(),
        })?;
        Ok(Receipt {
            version: required(version, "version")?,
            digest: required(digest, "digest")?,
            duplicate: required(duplicate, "duplicate")?,
            snapshot: required(snapshot, "snapshot")?,
            proof: required(proof, "proof")?,
        })
    })
}

fn stop_in(r: &mut Reader) -> Result<Stop, Reason> {
    if r.peek() == Some(b'"') {
        return match r.string()?.as_str() {
            "empty" => Ok(Stop::Empty),
            _ => Err(r.error("stop must be \"empty\" or {\"leaf\": ...}")),
        };
    }
    let mut leaf = None;
    r.object(|r, key| match key {
        "leaf" => {
            let (mut k, mut v) = (None, None);
            r.object(|r, key| match key {
                "key" => set(&mut k, key, r.hash()?),
                "version" => set(&mut v, key, r.u64()?),
                _ => r.skip(),
            })?;
            let stop = Stop::Leaf {
                key: required(k, "key")?,
                version: required(v, "version")?,
            };
            set(&mut leaf, key, stop)
        }
        _ => Err(r.error("stop must be \"empty\" or {\"leaf\": ...}")),
    })?;
    required(leaf, "leaf")
}

fn hyper_proof_in(r: &mut Reader) -> Result<Proof, Reason> {
    let (mut siblings, mut stop) = (None, None);
    r.object(|r, key| match key {
        "siblings" => set(&mut siblings, key, r.hashes()?),
        "stop" => set(&mut stop, key, stop_in(r)?),
        _ => r.skip(),
    })?;
    Ok(Proof {
        siblings: required(siblings, "siblings")?,
        stop: required(stop, "stop")?,
    })
}

/// A membership answer (`POST /proofs/membership`, `POST /proofs/digest-membership`).
pub fn membership(text: &str) -> Result<MembershipAnswer, Reason> {
    parse(text, |r| {
        let (mut digest, mut query, mut member, mut version, mut snapshot) =
            (None, None, None, None, None);
        let (mut hyper, mut inclusion, mut consistency) = (None, None, None);
        r.object(|r, key| match key {
            "digest" => set(&mut digest, key, r.hash()?),
            "query_version" => set(&mut query, key, r.u64()?),
            "member" => set(&mut member, key, r.bool()?),
            "version" => set_opt(&mut version, key, r.u64_or_null()?),
            "snapshot" => set(&mut snapshot, key, snapshot_in(r)?),
            "hyper_proof" => set(&mut hyper, key, hyper_proof_in(r)?),
            "inclusion_proof" => set_opt(&mut inclusion, key, r.hashes_or_null()?),
            "consistency_proof" => set_opt(&mut consistency, key, r.hashes_or_null()?),
            _ => r.skip(),
        })?;
        Ok(MembershipAnswer {
            digest: required(digest, "digest")?,
            query_version: required(query, "query_version")?,
            member: required(member, "member")?,
            version: version.flatten(),
            snapshot: required(snapshot, "snapshot")?,
            hyper_proof: required(hyper, "hyper_proof")?,
            inclusion_proof: inclusion.flatten(),
            consistency_proof: consistency.flatten(),
        })
    })
}

/// An incremental answer (`POST /proofs/incremental`).
pub fn incremental(text: &str) -> Result<IncrementalAnswer, Reason> {
    parse(text, |r| {
        let (mut start, mut end, mut proof) = (None, None, None);
        r.object(|r, key| match key {
            "start" => set(&mut start, key, r.u64()?),
            "end" => set(&mut end, key, r.u64()?),
            "proof" => set(&mut proof, key, r.hashes()?),
            _ => r.skip(),
        })?;
        Ok(IncrementalAnswer {
            start: required(start, "start")?,
            end: required(end, "end")?,
            proof: required(proof, "proof")?,
        })
    })
}

#[cfg(test)]
mod tests {
    //! The reader against qed-core's serde types: the same answers, the same verdicts on
    //! malformed text. (These run natively; the wasm-bindgen-test suites run them in WebAssembly
    //! through the exports.)
    use super::*;
    use qed_core::hash::digest;
    use qed_core::log::MemoryLog;
    use qed_core::snapshot::Signer;

    fn log() -> MemoryLog {
        let mut log = MemoryLog::new(Signer::new("example.com/json", &[1; 32]).unwrap());
        for i in 0..10u32 {
            log.commit(&[digest(&i.to_be_bytes())]).unwrap();
        }
        log
    }

    #[test]
    fn reads_what_the_server_writes() {
        let log = log();
        for v in 0..10u64 {
            let d = digest(&(v as u32).to_be_bytes());
            let r = log.receipt(v, d, v % 2 == 0).unwrap();
            assert_eq!(receipt(&qed_core::json::to_string(&r)).unwrap(), r);
            for q in [None, Some(v), Some(9)] {
                let m = log.membership(&d, q).unwrap();
                assert_eq!(membership(&qed_core::json::to_string(&m)).unwrap(), m);
            }
            let i = log.incremental(v / 2, v).unwrap();
            assert_eq!(incremental(&qed_core::json::to_string(&i)).unwrap(), i);
            let s = log.snapshot_at(v + 1).unwrap();
            assert_eq!(&snapshot(&qed_core::json::to_string(s)).unwrap(), s);
        }
        let absent = log.membership(&digest(b"absent"), Some(3)).unwrap();
        assert_eq!(
            membership(&qed_core::json::to_string(&absent)).unwrap(),
            absent
        );
    }

    #[test]
    fn agrees_with_serde_on_edge_cases() {
        let log = log();
        let text =
            qed_core::json::to_string(&log.receipt(3, digest(&3u32.to_be_bytes()), false).unwrap());
        let cases = [
            text.clone(),
            format!(" \t\r\n{text} \n"),
            text.replacen(
                '{',
                "{\"unknown\":[1,2.5e-3,{\"x\":null},true,\"\\u00e9\\ud83d\\ude00\"],",
                1,
            ),
            text.replacen("\"version\":3", "\"version\":18446744073709551615", 1),
            text.replacen("\"version\":3", "\"version\":18446744073709551616", 1),
            text.replacen("\"version\":3", "\"version\":3.0", 1),
            text.replacen("\"version\":3", "\"version\":03", 1),
            text.replacen("\"version\":3", "\"version\":-3", 1),
            text.replacen("\"version\":3", "\"version\":3e0", 1),
            text.replacen("\"version\":3", "\"version\":\"3\"", 1),
            text.replacen("\"version\":3", "\"version\":null", 1),
            text.replacen("\"version\":3,", "", 1),
            text.replacen('{', "{\"version\":3,", 1),
            text.replacen("\"duplicate\":false", "\"duplicate\":0", 1),
            text.replacen("\"proof\":[", "\"proof\":[1,", 1),
            format!("{text},"),
            format!("{text}{{}}"),
            text[..text.len() - 1].to_string(),
            "{\"a\":\"\\ud800\"}".into(),
            "{\"a\":\"\u{1}\"}".into(),
            "[]".into(),
            "".into(),
        ];
        for case in &cases {
            let ours = receipt(case).ok();
            let serde = qed_core::json::from_str::<Receipt>(case).ok();
            assert_eq!(ours, serde, "{case}");
        }
        // Upper-case hex is a hash too, as in qed-core.
        let upper = text.replacen(
            &qed_core::hash::to_hex(&digest(&3u32.to_be_bytes())),
            &qed_core::hash::to_hex(&digest(&3u32.to_be_bytes())).to_uppercase(),
            1,
        );
        assert!(receipt(&upper).is_ok());
    }

    #[test]
    fn refuses_deep_nesting_and_long_proofs() {
        let deep = format!("{{\"x\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        assert!(
            incremental(&deep)
                .unwrap_err()
                .contains("nested too deeply")
        );
        let hashes = vec![format!("\"{}\"", "0".repeat(64)); 257].join(",");
        let long = format!("{{\"start\":0,\"end\":1,\"proof\":[{hashes}]}}");
        assert!(incremental(&long).unwrap_err().contains("more than 256"));
    }
}
