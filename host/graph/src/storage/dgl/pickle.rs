//! A minimal pickle VM for what `torch.save` of a dict of tensors writes (protocol 2, and the
//! protocol 4/5 opcodes newer Pythons emit for the same objects). It builds plain values:
//! calls of `torch._utils._rebuild_tensor_v2` become [`Value::Tensor`], persistent ids
//! `('storage', torch.<Type>Storage, key, location, numel)` become [`Value::Storage`],
//! `collections.OrderedDict()` becomes an empty dict, and any other call stays an opaque
//! [`Value::Call`]. Nothing is executed.

use std::collections::HashMap;

/// A storage referenced by a tensor: its element type and the zip entry holding its bytes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Storage {
    /// Element type name from the storage class (`Long`, `Float`, `Byte`, ...).
    pub(crate) kind: String,
    /// The entry name under `<archive>/data/`.
    pub(crate) key: String,
}

/// A tensor as `_rebuild_tensor_v2(storage, offset, size, stride, ...)` describes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tensor {
    pub(crate) storage: Storage,
    /// Offset into the storage, in elements.
    pub(crate) offset: u64,
    pub(crate) shape: Vec<u64>,
    pub(crate) stride: Vec<u64>,
}

/// An unpickled value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String),
    Storage(Storage),
    Tensor(Tensor),
    /// A call of something other than the known constructors: callable, arguments.
    Call(Box<Value>, Vec<Value>),
}

/// Runs the pickle `data` and returns the value it builds, or a description of the problem.
pub(crate) fn unpickle(data: &[u8]) -> Result<Value, String> {
    let mut vm = Vm {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    };
    vm.run()
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
}

impl Vm<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end =
            end.ok_or_else(|| format!("the pickle ends inside an opcode at byte {}", self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn uint(&mut self, n: usize) -> Result<u64, String> {
        Ok(self
            .take(n)?
            .iter()
            .rev()
            .fold(0u64, |a, &b| (a << 8) | u64::from(b)))
    }
    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("unterminated text line")?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }
    fn pop(&mut self) -> Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| "pop from an empty stack".to_string())
    }
    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let m = self.marks.pop().ok_or("no MARK on the stack")?;
        if m > self.stack.len() {
            return Err("MARK above the stack".to_string());
        }
        Ok(self.stack.split_off(m))
    }
    fn top(&mut self) -> Result<&mut Value, String> {
        self.stack
            .last_mut()
            .ok_or_else(|| "empty stack".to_string())
    }
    fn string(&mut self, n: usize) -> Result<Value, String> {
        let b = self.take(n)?;
        Ok(Value::Str(
            String::from_utf8(b.to_vec()).map_err(|_| "a string is not UTF-8")?,
        ))
    }
    fn bytes(&mut self, n: usize) -> Result<Value, String> {
        Ok(Value::Bytes(self.take(n)?.to_vec()))
    }

    fn run(&mut self) -> Result<Value, String> {
        loop {
            let at = self.pos;
            let op = *self.take(1)?.first().expect("one byte");
            match op {
                0x80 => {
                    let proto = self.uint(1)?;
                    if proto > 5 {
                        return Err(format!("pickle protocol {proto} is not supported"));
                    }
                }
                0x95 => {
                    self.uint(8)?; // FRAME length
                }
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = self.uint(1)?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.uint(2)?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'J' => {
                    let v = self.uint(4)? as u32 as i32;
                    self.stack.push(Value::Int(i64::from(v)));
                }
                0x8a => {
                    let n = self.uint(1)? as usize;
                    if n > 8 {
                        return Err(format!("a {n}-byte integer is too large"));
                    }
                    let b = self.take(n)?;
                    let mut v: i64 = 0;
                    for (i, &x) in b.iter().enumerate() {
                        v |= i64::from(x) << (8 * i);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.stack.push(Value::Int(v));
                }
                b'G' => {
                    let b: [u8; 8] = self.take(8)?.try_into().expect("8 bytes");
                    self.stack.push(Value::Float(f64::from_be_bytes(b)));
                }
                b'X' | b'T' => {
                    let n = self.uint(4)? as usize;
                    let v = if op == b'X' {
                        self.string(n)?
                    } else {
                        self.bytes(n)?
                    };
                    self.stack.push(v);
                }
                0x8c => {
                    let n = self.uint(1)? as usize;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                0x8d => {
                    let n = self.uint(8)? as usize;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                b'U' | b'C' => {
                    let n = self.uint(1)? as usize;
                    let v = self.bytes(n)?;
                    self.stack.push(v);
                }
                b'B' => {
                    let n = self.uint(4)? as usize;
                    let v = self.bytes(n)?;
                    self.stack.push(v);
                }
                0x8e => {
                    let n = self.uint(8)? as usize;
                    let v = self.bytes(n)?;
                    self.stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(format!("{module}.{name}")));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.stack.push(Value::Global(format!("{m}.{n}")));
                        }
                        _ => return Err("STACK_GLOBAL without two strings".to_string()),
                    }
                }
                b'q' | b'r' | 0x94 => {
                    let idx = match op {
                        b'q' => self.uint(1)?,
                        b'r' => self.uint(4)?,
                        _ => self.memo.len() as u64,
                    };
                    let v = self.top()?.clone();
                    self.memo.insert(idx, v);
                }
                b'h' | b'j' => {
                    let idx = self.uint(if op == b'h' { 1 } else { 4 })?;
                    let v = self
                        .memo
                        .get(&idx)
                        .cloned()
                        .ok_or(format!("memo entry {idx} is missing"))?;
                    self.stack.push(v);
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return Err("TUPLE with too few items".to_string());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items));
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(items));
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let pairs = pairs(items)?;
                    self.stack.push(Value::Dict(pairs));
                }
                b'a' => {
                    let v = self.pop()?;
                    match self.top()? {
                        Value::List(l) => l.push(v),
                        _ => return Err("APPEND to a non-list".to_string()),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.top()? {
                        Value::List(l) => l.extend(items),
                        _ => return Err("APPENDS to a non-list".to_string()),
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top()? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return Err("SETITEM on a non-dict".to_string()),
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let new = pairs(items)?;
                    match self.top()? {
                        Value::Dict(d) => d.extend(new),
                        _ => return Err("SETITEMS on a non-dict".to_string()),
                    }
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.stack.push(persistent(pid)?);
                }
                b'R' | 0x81 => {
                    let args = match self.pop()? {
                        Value::Tuple(a) => a,
                        _ => return Err("REDUCE/NEWOBJ arguments are not a tuple".to_string()),
                    };
                    let callable = self.pop()?;
                    self.stack.push(call(callable, args)?);
                }
                b'b' => {
                    // BUILD sets an object's attributes, never a dict's items: a state dict's
                    // `_metadata` (module versions) is such an attribute, and is dropped.
                    self.pop()?;
                    self.top()?;
                }
                _ => {
                    return Err(format!(
                        "opcode {op:#04x} at byte {at} is not one torch.save uses for a dict of tensors"
                    ));
                }
            }
        }
    }
}

fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err("an odd number of dict items".to_string());
    }
    let mut it = items.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

/// `('storage', torch.LongStorage, '0', 'cpu', numel)` -> a storage.
fn persistent(pid: Value) -> Result<Value, String> {
    if let Value::Tuple(t) = &pid
        && let [Value::Str(tag), Value::Global(class), key, ..] = t.as_slice()
        && tag == "storage"
    {
        let key = match key {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            _ => return Err(format!("storage key {key:?} is not a string")),
        };
        let kind = class
            .strip_prefix("torch.")
            .and_then(|c| c.strip_suffix("Storage"))
            .unwrap_or(class)
            .to_string();
        return Ok(Value::Storage(Storage { kind, key }));
    }
    Err(format!(
        "persistent id {pid:?} is not a torch storage reference"
    ))
}

fn call(callable: Value, args: Vec<Value>) -> Result<Value, String> {
    let name = match &callable {
        Value::Global(n) => n.as_str(),
        _ => "",
    };
    match name {
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            let ints = |v: &Value| -> Option<Vec<u64>> {
                match v {
                    Value::Tuple(t) | Value::List(t) => t
                        .iter()
                        .map(|x| match x {
                            Value::Int(i) => u64::try_from(*i).ok(),
                            _ => None,
                        })
                        .collect(),
                    _ => None,
                }
            };
            match args.as_slice() {
                [
                    Value::Storage(storage),
                    Value::Int(offset),
                    size,
                    stride,
                    ..,
                ] => {
                    let shape = ints(size).ok_or("tensor size is not a tuple of ints")?;
                    let stride = ints(stride).ok_or("tensor stride is not a tuple of ints")?;
                    Ok(Value::Tensor(Tensor {
                        storage: storage.clone(),
                        offset: u64::try_from(*offset).map_err(|_| "negative storage offset")?,
                        shape,
                        stride,
                    }))
                }
                _ => Err(format!("{name} called with unexpected arguments")),
            }
        }
        "collections.OrderedDict" | "builtins.dict" if args.is_empty() => {
            Ok(Value::Dict(Vec::new()))
        }
        _ => Ok(Value::Call(Box::new(callable), args)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_dicts_and_rejects_unknown_opcodes() {
        // {'a': 1, 'b': [2, -3]} in protocol 2.
        let p = b"\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00b]q\x01(K\x02J\xfd\xff\xff\xffeu.";
        let v = unpickle(p).unwrap();
        assert_eq!(
            v,
            Value::Dict(vec![
                (Value::Str("a".into()), Value::Int(1)),
                (
                    Value::Str("b".into()),
                    Value::List(vec![Value::Int(2), Value::Int(-3)])
                ),
            ])
        );
        assert!(unpickle(b"\x80\x02}\xff.").unwrap_err().contains("0xff"));
        assert!(
            unpickle(b"\x80\x02X\x05\x00\x00\x00ab")
                .unwrap_err()
                .contains("ends")
        );
    }
}
