//! Reading a `torch.save`d dict of 1-D integer tensors (GraphStorm's `node_mapping.pt`:
//! `{ntype: LongTensor}`, index = shuffled per-type id, value = gconstruct's id) without
//! Python or libtorch: a zip archive with `<archive>/data.pkl` (the pickle, see [`super::pickle`])
//! and one entry `<archive>/data/<key>` of raw little-endian bytes per storage.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::{DglError, map_file};
use super::pickle::{Tensor, Value, unpickle};
use super::zip;

const RESAVE_HINT: &str = "the file should be torch.save({name: LongTensor, ...}) as GraphStorm writes it; partition the graph again";

/// The pickle of a torch zip archive, unpickled, with the archive's entries and the prefix
/// of its storage entries (`<archive>/`).
fn open_archive<'b>(
    path: &'b Path,
    bytes: &'b [u8],
    resave_hint: &'static str,
) -> Result<(Vec<zip::Entry<'b>>, String, Value), DglError> {
    if bytes.first() == Some(&0x80) {
        return Err(DglError::invalid(
            path,
            "is a legacy (pre-zip) torch file",
            "load it with torch and save it again with torch >= 1.6 (the default zip format)",
        ));
    }
    let entries = zip::entries(path, bytes)?;
    let pkl = entries
        .iter()
        .find(|e| e.name.ends_with("data.pkl") && e.name.matches('/').count() <= 1)
        .ok_or_else(|| DglError::invalid(path, "has no `data.pkl` entry", resave_hint))?;
    let prefix = pkl.name[..pkl.name.len() - "data.pkl".len()].to_string();
    if let Some(order) = entries
        .iter()
        .find(|e| e.name == format!("{prefix}byteorder"))
        && order.data != b"little"
    {
        return Err(DglError::invalid(
            path,
            format!(
                "stores tensors in `{}` byte order",
                String::from_utf8_lossy(order.data)
            ),
            "save the file again on a little-endian machine",
        ));
    }
    let value = unpickle(pkl.data).map_err(|e| {
        DglError::invalid(
            path,
            format!("cannot read `{}`: {e}", pkl.name),
            resave_hint,
        )
    })?;
    Ok((entries, prefix, value))
}

/// The bytes of the storage tensor `t` (named `what` in messages) lives in.
fn storage_bytes<'b>(
    path: &Path,
    entries: &[zip::Entry<'b>],
    prefix: &str,
    t: &Tensor,
    what: &str,
    hint: &'static str,
) -> Result<&'b [u8], DglError> {
    entries
        .iter()
        .find(|e| e.name == format!("{prefix}data/{}", t.storage.key))
        .map(|e| e.data)
        .ok_or_else(|| {
            DglError::invalid(
                path,
                format!(
                    "{what} refers to storage `{}`, which the archive lacks",
                    t.storage.key
                ),
                hint,
            )
        })
}

/// Reads the dict of integer tensors in the `.pt` file at `path`. Keys that are tuples
/// (GraphStorm's canonical edge types) are joined with `:`. When the graph has a single type,
/// `single_type`, one bare tensor is accepted too: DGL saves a homogeneous graph's
/// `node_mapping.pt` (`_N`) so, and the tensor is that type's.
pub(crate) fn read_int_tensors(
    path: &Path,
    single_type: Option<&str>,
) -> Result<BTreeMap<String, Vec<i64>>, DglError> {
    let map = map_file(path)?;
    let (entries, prefix, value) = open_archive(path, &map, RESAVE_HINT)?;
    let items = match (value, single_type) {
        (Value::Dict(items), _) => items,
        (Value::Tensor(t), Some(only)) => vec![(Value::Str(only.to_string()), Value::Tensor(t))],
        (Value::Tensor(_), None) => {
            return Err(DglError::invalid(
                path,
                "holds one tensor, but the graph has several types to map",
                RESAVE_HINT,
            ));
        }
        _ => return Err(DglError::invalid(path, "does not hold a dict", RESAVE_HINT)),
    };
    let mut out = BTreeMap::new();
    for (k, v) in items {
        let key = key_text(&k)
            .ok_or_else(|| DglError::invalid(path, format!("has a dict key {k:?}"), RESAVE_HINT))?;
        let Value::Tensor(t) = v else {
            return Err(DglError::invalid(
                path,
                format!("entry `{key}` is not a tensor"),
                RESAVE_HINT,
            ));
        };
        let data = storage_bytes(
            path,
            &entries,
            &prefix,
            &t,
            &format!("entry `{key}`"),
            RESAVE_HINT,
        )?;
        let values = tensor_ints(&t, data).map_err(|problem| {
            DglError::invalid(path, format!("entry `{key}` {problem}"), RESAVE_HINT)
        })?;
        out.insert(key, values);
    }
    Ok(out)
}

/// A float tensor of a `torch.save`d state dict, by its dotted name.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchTensor {
    /// The keys from the outermost dict in, joined with `.` (`gnn._layers.0.weight`).
    pub name: String,
    /// The dimensions, outermost first.
    pub shape: Vec<u64>,
    /// Row-major values.
    pub values: Vec<f32>,
}

const STATE_DICT_HINT: &str = "the file should be a model saved with torch.save, a dict of \
                               state dicts of float32 tensors (GraphStorm's model.bin)";

/// Reads every tensor of the `torch.save`d file at `path`: a dict whose values are float32
/// tensors or further dicts (GraphStorm's `model.bin`: `{"gnn": state_dict, "decoder": ...}`),
/// in file order. A tensor of another element type is an error naming it.
pub fn read_torch_tensors(path: &Path) -> Result<Vec<TorchTensor>, DglError> {
    let map = map_file(path)?;
    let (entries, prefix, value) = open_archive(path, &map, STATE_DICT_HINT)?;
    let mut out = Vec::new();
    let mut pending = vec![(String::new(), value)];
    while let Some((name, value)) = pending.pop() {
        match value {
            Value::Dict(items) => {
                for (k, v) in items.into_iter().rev() {
                    let key = key_text(&k).ok_or_else(|| {
                        DglError::invalid(
                            path,
                            format!("has a dict key {k:?} under `{name}`"),
                            STATE_DICT_HINT,
                        )
                    })?;
                    let full = if name.is_empty() {
                        key
                    } else {
                        format!("{name}.{key}")
                    };
                    pending.push((full, v));
                }
            }
            Value::Tensor(t) => {
                let what = format!("tensor `{name}`");
                let data = storage_bytes(path, &entries, &prefix, &t, &what, STATE_DICT_HINT)?;
                let values = tensor_floats(&t, data).map_err(|problem| {
                    DglError::invalid(path, format!("tensor `{name}` {problem}"), STATE_DICT_HINT)
                })?;
                out.push(TorchTensor {
                    name,
                    shape: t.shape.clone(),
                    values,
                });
            }
            other => {
                return Err(DglError::invalid(
                    path,
                    format!("holds {other:?} at `{name}`, not a tensor or a dict"),
                    STATE_DICT_HINT,
                ));
            }
        }
    }
    Ok(out)
}

/// The elements, row-major, of a float32 tensor over `storage` bytes.
fn tensor_floats(t: &Tensor, storage: &[u8]) -> Result<Vec<f32>, String> {
    // Float parameters, and int64 counters such as BatchNorm's `num_batches_tracked` (as f32,
    // exact below 2^24).
    let width: u64 = match t.storage.kind.as_str() {
        "Float" => 4,
        "Long" => 8,
        other => {
            return Err(format!(
                "has element type {other}, expected Float (float32) or Long (int64)"
            ));
        }
    };
    let n: u64 = t.shape.iter().product();
    // Row-major strides of the shape: GraphStorm saves contiguous parameters.
    let mut contiguous = vec![1u64; t.shape.len()];
    for i in (0..t.shape.len().saturating_sub(1)).rev() {
        contiguous[i] = contiguous[i + 1] * t.shape[i + 1];
    }
    if n > 1 && t.stride != contiguous {
        return Err(format!(
            "has shape {:?} and stride {:?}; expected a contiguous tensor",
            t.shape, t.stride
        ));
    }
    let start = t.offset.checked_mul(width);
    let end = start.and_then(|s| n.checked_mul(width).map(|b| s + b));
    let bytes = match (start, end) {
        (Some(s), Some(e)) if e <= storage.len() as u64 => &storage[s as usize..e as usize],
        _ => {
            return Err(format!(
                "needs {n} elements beyond the end of its storage (truncated?)"
            ));
        }
    };
    Ok(if width == 4 {
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        bytes
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect()
    })
}

fn key_text(k: &Value) -> Option<String> {
    match k {
        Value::Str(s) => Some(s.clone()),
        Value::Tuple(parts) => parts
            .iter()
            .map(|p| match p {
                Value::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(":")),
        _ => None,
    }
}

/// The elements of a 1-D integer tensor over `storage` bytes.
fn tensor_ints(t: &Tensor, storage: &[u8]) -> Result<Vec<i64>, String> {
    let (width, signed) = match t.storage.kind.as_str() {
        "Long" => (8, true),
        "Int" => (4, true),
        "Short" => (2, true),
        "Char" => (1, true),
        "Byte" | "Bool" => (1, false),
        other => {
            return Err(format!(
                "has element type {other}, expected an integer type"
            ));
        }
    };
    let n = match (t.shape.as_slice(), t.stride.as_slice()) {
        ([n], [1]) | ([n @ 0 | n @ 1], _) => *n,
        _ => {
            return Err(format!(
                "has shape {:?} and stride {:?}; expected a contiguous 1-D tensor",
                t.shape, t.stride
            ));
        }
    };
    let start = t.offset.checked_mul(width).map(|s| s as usize);
    let end = n
        .checked_mul(width)
        .and_then(|b| start.map(|s| s as u64 + b));
    let bytes = match (start, end) {
        (Some(s), Some(e)) if e <= storage.len() as u64 => &storage[s..e as usize],
        _ => {
            return Err(format!(
                "needs {n} elements beyond the end of its storage (truncated?)"
            ));
        }
    };
    Ok(bytes
        .chunks_exact(width as usize)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            let v = i64::from_le_bytes(b);
            let bits = 64 - 8 * width as u32;
            if signed && bits > 0 {
                (v << bits) >> bits
            } else {
                v
            }
        })
        .collect())
}
