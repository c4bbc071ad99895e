//! The entries of an uncompressed ("stored") zip archive, which is what `torch.save` writes:
//! a `.pt` file is a zip whose entries are `<archive>/data.pkl`, `<archive>/data/<key>`, ...
//! Zip64 sizes and offsets are understood; compressed entries are refused.

use std::path::Path;

use super::error::DglError;

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;

/// One stored entry: its name and its bytes (borrowed from the archive).
pub(crate) struct Entry<'a> {
    pub(crate) name: String,
    pub(crate) data: &'a [u8],
}

struct Bytes<'a> {
    path: &'a Path,
    b: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn get(&self, at: u64, n: u64, what: &str) -> Result<&'a [u8], DglError> {
        at.checked_add(n)
            .filter(|&end| end <= self.b.len() as u64)
            .map(|end| &self.b[at as usize..end as usize])
            .ok_or_else(|| DglError::Truncated {
                path: self.path.to_path_buf(),
                what: format!("the zip {what}"),
                offset: at,
                len: self.b.len() as u64,
            })
    }
    fn u16(&self, at: u64, what: &str) -> Result<u16, DglError> {
        Ok(u16::from_le_bytes(
            self.get(at, 2, what)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&self, at: u64, what: &str) -> Result<u32, DglError> {
        Ok(u32::from_le_bytes(
            self.get(at, 4, what)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&self, at: u64, what: &str) -> Result<u64, DglError> {
        Ok(u64::from_le_bytes(
            self.get(at, 8, what)?.try_into().expect("8 bytes"),
        ))
    }
}

fn not_zip(path: &Path, problem: impl Into<String>) -> DglError {
    DglError::invalid(
        path,
        problem,
        "a torch.save file (PyTorch >= 1.6) is a zip archive; save it again with torch.save, or copy it again if it was cut short",
    )
}

/// Lists the entries of the zip archive `bytes` read from `path`.
pub(crate) fn entries<'a>(path: &'a Path, bytes: &'a [u8]) -> Result<Vec<Entry<'a>>, DglError> {
    let z = Bytes { path, b: bytes };
    let len = bytes.len() as u64;
    // The end-of-central-directory record is 22 bytes plus a comment of up to 65535.
    let lowest = len.saturating_sub(22 + 65_535);
    let eocd = (lowest..=len.saturating_sub(22))
        .rev()
        .find(|&at| z.u32(at, "end record").ok() == Some(EOCD_SIG))
        .ok_or_else(|| {
            not_zip(
                path,
                "has no zip end-of-central-directory record (not a zip archive, or truncated)",
            )
        })?;
    let mut count = u64::from(z.u16(eocd + 10, "end record")?);
    let mut cd_size = u64::from(z.u32(eocd + 12, "end record")?);
    let mut cd_offset = u64::from(z.u32(eocd + 16, "end record")?);
    if eocd >= 20 && z.u32(eocd - 20, "zip64 locator")? == EOCD64_LOCATOR_SIG {
        let at = z.u64(eocd - 20 + 8, "zip64 locator")?;
        if z.u32(at, "zip64 end record")? != EOCD64_SIG {
            return Err(not_zip(
                path,
                format!("the zip64 end record at byte {at} is damaged"),
            ));
        }
        count = z.u64(at + 32, "zip64 end record")?;
        cd_size = z.u64(at + 40, "zip64 end record")?;
        cd_offset = z.u64(at + 48, "zip64 end record")?;
    }
    z.get(cd_offset, cd_size, "central directory")?;
    let mut out = Vec::new();
    let mut at = cd_offset;
    for _ in 0..count {
        if z.u32(at, "central directory")? != CENTRAL_SIG {
            return Err(not_zip(
                path,
                format!("the zip central directory entry at byte {at} is damaged"),
            ));
        }
        let method = z.u16(at + 10, "central directory")?;
        let mut comp = u64::from(z.u32(at + 20, "central directory")?);
        let mut size = u64::from(z.u32(at + 24, "central directory")?);
        let name_len = u64::from(z.u16(at + 28, "central directory")?);
        let extra_len = u64::from(z.u16(at + 30, "central directory")?);
        let comment_len = u64::from(z.u16(at + 32, "central directory")?);
        let mut local = u64::from(z.u32(at + 42, "central directory")?);
        let name = String::from_utf8_lossy(z.get(at + 46, name_len, "entry name")?).into_owned();
        // Zip64 extra field: the 64-bit values of the fields saturated above, in order.
        let extra = z.get(at + 46 + name_len, extra_len, "extra field")?;
        let mut e = 0usize;
        while e + 4 <= extra.len() {
            let id = u16::from_le_bytes([extra[e], extra[e + 1]]);
            let n = usize::from(u16::from_le_bytes([extra[e + 2], extra[e + 3]]));
            let body = extra.get(e + 4..e + 4 + n).unwrap_or(&[]);
            if id == 1 {
                let mut vals = body
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")));
                for field in [&mut size, &mut comp, &mut local] {
                    if *field == u64::from(u32::MAX) {
                        *field = vals.next().unwrap_or(*field);
                    }
                }
            }
            e += 4 + n;
        }
        if method != 0 || comp != size {
            return Err(DglError::invalid(
                path,
                format!("zip entry `{name}` is compressed (method {method})"),
                "torch.save writes uncompressed entries; save the file again with torch.save instead of re-zipping it",
            ));
        }
        if z.u32(local, "local header")? != LOCAL_SIG {
            return Err(not_zip(
                path,
                format!("the local header of `{name}` at byte {local} is damaged"),
            ));
        }
        let lname = u64::from(z.u16(local + 26, "local header")?);
        let lextra = u64::from(z.u16(local + 28, "local header")?);
        let data = z.get(
            local + 30 + lname + lextra,
            size,
            &format!("entry `{name}`"),
        )?;
        out.push(Entry { name, data });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}
