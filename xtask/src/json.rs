//! A small, strict JSON reader: enough for cargo's `--message-format=json` lines and the
//! training summary the demo prints, without adding a dependency to the xtask.

use anyhow::{Result, bail};

/// A parsed JSON value. Objects keep their keys in document order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The value under `key` when `self` is an object (the last one if a key repeats).
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
}

/// Parses one JSON document; trailing non-whitespace is an error.
pub(crate) fn parse(text: &str) -> Result<Value> {
    let mut p = Parser {
        text,
        pos: 0,
        depth: 0,
    };
    let value = p.value()?;
    p.skip_ws();
    if p.pos != text.len() {
        bail!("unexpected trailing characters at byte {}", p.pos);
    }
    Ok(value)
}

/// Nesting deeper than this is rejected instead of risking the stack.
const MAX_DEPTH: usize = 256;

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<()> {
        if self.peek() != Some(byte) {
            bail!("expected `{}` at byte {}", byte as char, self.pos);
        }
        self.pos += 1;
        Ok(())
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value> {
        if !self.text[self.pos..].starts_with(word) {
            bail!("invalid literal at byte {}", self.pos);
        }
        self.pos += word.len();
        Ok(value)
    }

    fn value(&mut self) -> Result<Value> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => bail!("unexpected character at byte {}", self.pos),
            None => bail!("unexpected end of input"),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Value>) -> Result<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            bail!("JSON nested deeper than {MAX_DEPTH} levels");
        }
        let value = f(self);
        self.depth -= 1;
        value
    }

    fn object(&mut self) -> Result<Value> {
        self.expect(b'{')?;
        let mut fields = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(fields));
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            fields.push((key, self.value()?));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(fields));
                }
                _ => bail!("expected `,` or `}}` at byte {}", self.pos),
            }
        }
    }

    fn array(&mut self) -> Result<Value> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => bail!("expected `,` or `]` at byte {}", self.pos),
            }
        }
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.pos += 1;
        }
        let text = &self.text[start..self.pos];
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Value::Number(n)),
            _ => bail!("invalid number {text:?} at byte {start}"),
        }
    }

    fn string(&mut self) -> Result<String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote or backslash in one go; both are ASCII, so the
            // slice boundaries are char boundaries.
            let rest = &self.text[self.pos..];
            let Some(end) = rest.find(['"', '\\']) else {
                bail!("unterminated string")
            };
            let run = &rest[..end];
            if run.chars().any(|c| c < ' ') {
                bail!("control character in string near byte {}", self.pos);
            }
            out.push_str(run);
            self.pos += end;
            if self.peek() == Some(b'"') {
                self.pos += 1;
                return Ok(out);
            }
            self.pos += 1; // the backslash
            let escape = self
                .peek()
                .ok_or_else(|| anyhow::anyhow!("unterminated escape"))?;
            self.pos += 1;
            match escape {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => out.push(self.unicode_escape()?),
                _ => bail!("invalid escape at byte {}", self.pos - 1),
            }
        }
    }

    /// The code point after `\u`, joining a UTF-16 surrogate pair; lone surrogates become U+FFFD.
    fn unicode_escape(&mut self) -> Result<char> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) && self.text[self.pos..].starts_with("\\u") {
            let save = self.pos;
            self.pos += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(first).unwrap_or('\u{FFFD}'))
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self.text.get(self.pos..self.pos + 4).unwrap_or("");
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("invalid \\u escape at byte {}", self.pos);
        }
        self.pos += 4;
        Ok(u32::from_str_radix(digits, 16)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_training_summary() {
        let v = parse(
            r#"{"best_checkpoint": "epoch-3", "best_val_score": 0.8125, "test_score": 7.5e-1,
                "eval_metric": ["accuracy"], "done": true, "note": null}"#,
        )
        .unwrap();
        assert_eq!(
            v.get("best_checkpoint").and_then(Value::as_str),
            Some("epoch-3")
        );
        assert_eq!(
            v.get("best_val_score").and_then(Value::as_f64),
            Some(0.8125)
        );
        assert_eq!(v.get("test_score").and_then(Value::as_f64), Some(0.75));
        assert_eq!(v.get("done"), Some(&Value::Bool(true)));
        assert_eq!(v.get("note"), Some(&Value::Null));
        assert_eq!(
            v.get("eval_metric")
                .and_then(Value::as_array)
                .map(<[_]>::len),
            Some(1)
        );
        assert_eq!(v.get("missing"), None);
    }

    #[test]
    fn parses_a_cargo_artifact_message() {
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///r/host/cli#gs@0.1.0","target":{"kind":["bin"],"crate_types":["bin"],"name":"gs","src_path":"/r/host/cli/src/main.rs"},"profile":{"opt_level":"1"},"features":[],"filenames":["/r/target/debug/gs"],"executable":"/r/target/debug/gs","fresh":true}"#;
        let v = parse(line).unwrap();
        assert_eq!(
            v.get("reason").and_then(Value::as_str),
            Some("compiler-artifact")
        );
        let target = v.get("target").unwrap();
        assert_eq!(target.get("name").and_then(Value::as_str), Some("gs"));
        assert_eq!(
            v.get("executable").and_then(Value::as_str),
            Some("/r/target/debug/gs")
        );
    }

    #[test]
    fn decodes_escapes() {
        let v = parse(r#""a\"b\\c\/d\n\u00e9\ud83d\ude00 ünï""#).unwrap();
        assert_eq!(v, Value::String("a\"b\\c/d\né😀 ünï".into()));
        assert_eq!(
            parse(r#""\ud800x""#).unwrap(),
            Value::String("\u{FFFD}x".into())
        );
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "\"abc",
            "tru",
            "1 2",
            "\"\\x\"",
            "nan",
            "-",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn accepts_empty_containers_and_whitespace() {
        assert_eq!(parse(" { } ").unwrap(), Value::Object(vec![]));
        assert_eq!(parse("[ ]").unwrap(), Value::Array(vec![]));
        assert_eq!(
            parse("[-0.5, 10]").unwrap(),
            Value::Array(vec![Value::Number(-0.5), Value::Number(10.0)])
        );
    }
}
