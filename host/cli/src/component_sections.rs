//! The custom sections `gs plugin build` writes into a built component: the SDK version stamp
//! (for Python; the Rust SDK stamps it at compile time) and the plugin's metadata (language,
//! description, license), which `gs plugin inspect` shows and a registry push turns into
//! annotations.
//!
//! A component is an 8-byte preamble and a sequence of sections, each an id byte, a LEB128
//! size and the payload; a custom section (id 0) starts with its LEB128-prefixed name. Setting a
//! section removes every top-level custom section of that name and appends the new one, so
//! building twice (cargo may leave its output as it was) never stacks copies.

use anyhow::{Context, bail, ensure};

/// The custom section with the plugin's metadata: `key=value` lines (UTF-8).
pub(crate) const METADATA_SECTION: &str = gs_runtime::METADATA_SECTION;

/// `key=value` lines of `entries` whose value is not empty, newlines folded into spaces.
pub(crate) fn metadata_text(entries: &[(&str, &str)]) -> String {
    entries
        .iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(key, value)| {
            let value: Vec<&str> = value.split_whitespace().collect();
            format!("{key}={}\n", value.join(" "))
        })
        .collect()
}

/// `bytes` (a component or module) with the top-level custom section `name` set to `data`.
pub(crate) fn set_custom_section(bytes: &[u8], name: &str, data: &[u8]) -> anyhow::Result<Vec<u8>> {
    ensure!(
        bytes.len() >= 8 && bytes.starts_with(b"\0asm"),
        "not a WebAssembly binary"
    );
    let mut out = bytes[..8].to_vec();
    let mut at = 8;
    while at < bytes.len() {
        let start = at;
        let id = bytes[at];
        let (size, len) = read_leb128(&bytes[at + 1..]).context("a section size is malformed")?;
        let end = at + 1 + len + size;
        if end > bytes.len() {
            bail!("a section runs past the end of the binary");
        }
        let payload = &bytes[at + 1 + len..end];
        let is_it = id == 0 && custom_section_name(payload).is_some_and(|n| n == name.as_bytes());
        if !is_it {
            out.extend_from_slice(&bytes[start..end]);
        }
        at = end;
    }
    let mut payload = Vec::new();
    write_leb128(&mut payload, name.len());
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    out.push(0);
    write_leb128(&mut out, payload.len());
    out.extend_from_slice(&payload);
    Ok(out)
}

fn custom_section_name(payload: &[u8]) -> Option<&[u8]> {
    let (len, used) = read_leb128(payload)?;
    payload.get(used..used + len)
}

/// A LEB128 `u32`-sized value and the bytes it took.
fn read_leb128(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, &byte) in bytes.iter().enumerate().take(5) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn write_leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn a_set_section_has_id_zero_a_leb128_size_and_the_name() {
        let data = "x".repeat(200);
        let out =
            set_custom_section(EMPTY_COMPONENT, "gs-plugin-sdk-version", data.as_bytes()).unwrap();
        // 1 byte of name length + 21 of name + 200 of data = 222 = 0xde 0x01 in LEB128.
        assert_eq!(out[8..12], [0, 0xde, 0x01, 21]);
        assert_eq!(&out[12..33], b"gs-plugin-sdk-version");
        assert_eq!(out.len(), 33 + 200);
    }

    #[test]
    fn setting_a_section_again_replaces_it_and_keeps_the_others() {
        let once = set_custom_section(EMPTY_COMPONENT, "a", b"1").unwrap();
        let both = set_custom_section(&once, "b", b"2").unwrap();
        let again = set_custom_section(&both, "a", b"3").unwrap();
        let b_then_a: Vec<u8> = [&EMPTY_COMPONENT[..], b"\0\x03\x01b2", b"\0\x03\x01a3"].concat();
        assert_eq!(again, b_then_a);
        assert!(set_custom_section(b"not wasm", "a", b"").is_err());
        assert!(set_custom_section(&[EMPTY_COMPONENT, b"\0\x7f"].concat(), "a", b"").is_err());
    }

    #[test]
    fn metadata_is_key_value_lines_without_empty_values() {
        let text = metadata_text(&[
            ("language", "python"),
            ("description", "A model\n  over two lines"),
            ("license", ""),
        ]);
        assert_eq!(
            text,
            "language=python\ndescription=A model over two lines\n"
        );
    }
}
