//! `gs gconstruct` throughput and peak memory, side by side with a plain read of the same files.
//!
//! `cargo bench -p gs-gconstruct --bench gconstruct` (set `GS_BENCH_QUICK=1` for a small, fast
//! run: 100k nodes / 1M edges instead of 1M nodes / 10M edges). `GS_BENCH_FEAT_DIM=100` sets
//! the feature width (default 16), and `GS_BENCH_INPUTS=parquet` picks the inputs to run
//! (comma-separated, from `parquet`, `csv`, `parquet-text-ids`; default all three).
//! `GS_BENCH_WRITE_INPUT=<folder>` only writes the inputs and their configs there (for timing
//! the `gs gconstruct` binary on the same files) and exits.
//!
//! It writes, in a temporary folder, one synthetic GraphStorm gconstruct input three times: as
//! Parquet (snappy, as pyarrow writes it: a `list<float>` feature column), as CSV (16 feature
//! columns joined by `feature_col`), and as Parquet with text ids (`"n<id>"`). Each holds one
//! node type with non-contiguous ids (so an id map is built), a 16-float `no-op` feature and a
//! classification label with `split_pct`, and one edge type whose edges (`src`, `dst`) are
//! split over 4 files. For each input it then times, in this process:
//!
//! - the baseline: a typed read of every column of every input file with the same crates
//!   (parquet column readers into `Vec`s, text as `String`s; csv `ByteRecord`s parsed into
//!   `Vec<i64>`/`Vec<f64>`), and nothing else;
//! - `gs_gconstruct::construct` on the config, writing the graph to a fresh folder.
//!
//! Peak memory is measured in-process, two ways: a counting global allocator tracks live bytes
//! (the figure is the peak above what was live at the start), and the kernel's peak resident
//! set size of the whole process (`VmHWM` in `/proc/self/status`, reset before each run by
//! writing `5` to `/proc/self/clear_refs`), which also counts what the allocator does not see:
//! memory freed to malloc but not returned to the system, and allocations outside Rust's
//! allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use gs_gconstruct::{ConstructOptions, construct};
use parquet::basic::Compression;
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, ByteArrayType, DataType, FloatType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

/// The system allocator, counting live bytes and their peak.
struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(by: usize) {
    LIVE.fetch_sub(by, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// What one measured call cost.
struct Cost {
    wall: f64,
    cpu: f64,
    /// Peak live bytes of the counting allocator above those live at the start.
    peak: usize,
    /// The process's peak resident set (VmHWM) during the call, and its RSS at the start.
    peak_rss: usize,
    start_rss: usize,
}

/// Runs `f` once and measures it.
fn measure<T>(f: impl FnOnce() -> T) -> (T, Cost) {
    let start = LIVE.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    reset_peak_rss();
    let start_rss = status_bytes("VmRSS:");
    let cpu = cpu_seconds();
    let t = Instant::now();
    let out = f();
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(start);
    let cost = Cost {
        wall,
        cpu,
        peak,
        peak_rss: status_bytes("VmHWM:"),
        start_rss,
    };
    (out, cost)
}

/// Resets the kernel's peak-RSS mark (`VmHWM`) to the current RSS (Linux 4.0+).
fn reset_peak_rss() {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        eprintln!(
            "cannot reset the peak RSS (/proc/self/clear_refs: {e}); VmHWM is the process's peak so far"
        );
    }
}

/// A `kB` line of `/proc/self/status` (`VmHWM:`, `VmRSS:`) in bytes; 0 when unavailable.
fn status_bytes(key: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// CPU seconds this process has used (all threads; `/proc/self/stat`, 100 ticks a second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Default feature width (`GS_BENCH_FEAT_DIM` overrides it).
const FEAT_DIM: usize = 16;
const EDGE_FILES: usize = 4;
const CLASSES: u64 = 10;

/// The synthetic graph: sizes, and how ids, features and labels are drawn.
struct Synthetic {
    nodes: usize,
    edges: usize,
    /// Floats per node feature.
    feat_dim: usize,
    /// Whether raw ids are written as text (`"n<id>"`) instead of integers.
    text_ids: bool,
}

impl Synthetic {
    /// Raw id of node `i`: a permutation of `0..n` (7919 is prime and divides no size used),
    /// spread out so that the ids are not `0..n` and need an id map.
    fn raw_id(&self, i: usize) -> i64 {
        (10 * ((i as u64 * 7919) % self.nodes as u64) + 3) as i64
    }

    fn feat(&self, i: usize, d: usize) -> f32 {
        (splitmix((i * self.feat_dim + d) as u64) % 10_000) as f32 / 1000.0
    }

    fn label(&self, i: usize) -> i64 {
        (splitmix(i as u64 ^ 0xABCD) % CLASSES) as i64
    }

    /// Endpoints (raw ids) of edge `e`.
    fn edge(&self, e: usize) -> (i64, i64) {
        let n = self.nodes as u64;
        let s = splitmix(2 * e as u64) % n;
        let d = splitmix(2 * e as u64 + 1) % n;
        (self.raw_id(s as usize), self.raw_id(d as usize))
    }

    fn edge_range(&self, part: usize) -> std::ops::Range<usize> {
        let per = self.edges.div_ceil(EDGE_FILES);
        part * per..((part + 1) * per).min(self.edges)
    }
}

fn parquet_writer(path: &Path, schema: &str) -> SerializedFileWriter<File> {
    let schema = Arc::new(parse_message_type(schema).expect("schema"));
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    SerializedFileWriter::new(File::create(path).expect("create"), schema, props).expect("writer")
}

fn write_i64(rg: &mut parquet::file::writer::SerializedRowGroupWriter<'_, File>, v: &[i64]) {
    let mut col = rg.next_column().expect("column").expect("column");
    col.typed::<Int64Type>()
        .write_batch(v, Some(&vec![1; v.len()]), None)
        .expect("write");
    col.close().expect("close");
}

/// Writes raw ids: as int64, or as text `"n<id>"`.
fn write_ids(
    rg: &mut parquet::file::writer::SerializedRowGroupWriter<'_, File>,
    v: &[i64],
    text: bool,
) {
    if !text {
        return write_i64(rg, v);
    }
    let b: Vec<ByteArray> = v
        .iter()
        .map(|x| ByteArray::from(format!("n{x}").as_str()))
        .collect();
    let mut col = rg.next_column().expect("column").expect("column");
    col.typed::<ByteArrayType>()
        .write_batch(&b, Some(&vec![1; v.len()]), None)
        .expect("write");
    col.close().expect("close");
}

/// Row group size, as pyarrow's default (1 Mi rows) would give for the edge files.
const ROW_GROUP: usize = 1 << 20;

fn write_parquet_input(g: &Synthetic, dir: &Path) {
    std::fs::create_dir_all(dir.join("nodes")).unwrap();
    std::fs::create_dir_all(dir.join("edges")).unwrap();
    let id_type = if g.text_ids { "binary" } else { "int64" };
    let annotation = if g.text_ids { "(UTF8)" } else { "" };
    let mut w = parquet_writer(
        &dir.join("nodes/part-00000.parquet"),
        &format!(
            "message schema {{ optional {id_type} id {annotation}; optional group feat (LIST) {{ repeated group list {{ optional float element; }} }} optional int64 label; }}"
        ),
    );
    for start in (0..g.nodes).step_by(ROW_GROUP) {
        let rows = start..(start + ROW_GROUP).min(g.nodes);
        let mut rg = w.next_row_group().unwrap();
        let ids: Vec<i64> = rows.clone().map(|i| g.raw_id(i)).collect();
        write_ids(&mut rg, &ids, g.text_ids);
        let flat: Vec<f32> = rows
            .clone()
            .flat_map(|i| (0..g.feat_dim).map(move |d| (i, d)))
            .map(|(i, d)| g.feat(i, d))
            .collect();
        let def = vec![3_i16; flat.len()];
        let rep: Vec<i16> = (0..flat.len())
            .map(|k| i16::from(k % g.feat_dim != 0))
            .collect();
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<FloatType>()
            .write_batch(&flat, Some(&def), Some(&rep))
            .unwrap();
        col.close().unwrap();
        write_i64(&mut rg, &rows.map(|i| g.label(i)).collect::<Vec<_>>());
        rg.close().unwrap();
    }
    w.close().unwrap();
    for part in 0..EDGE_FILES {
        let mut w = parquet_writer(
            &dir.join(format!("edges/part-{part:05}.parquet")),
            &format!(
                "message schema {{ optional {id_type} src {annotation}; optional {id_type} dst {annotation}; }}"
            ),
        );
        let range = g.edge_range(part);
        for start in range.clone().step_by(ROW_GROUP) {
            let (src, dst): (Vec<i64>, Vec<i64>) = (start..(start + ROW_GROUP).min(range.end))
                .map(|e| g.edge(e))
                .unzip();
            let mut rg = w.next_row_group().unwrap();
            write_ids(&mut rg, &src, g.text_ids);
            write_ids(&mut rg, &dst, g.text_ids);
            rg.close().unwrap();
        }
        w.close().unwrap();
    }
}

fn write_csv_input(g: &Synthetic, dir: &Path) {
    std::fs::create_dir_all(dir.join("nodes")).unwrap();
    std::fs::create_dir_all(dir.join("edges")).unwrap();
    let mut w = BufWriter::new(File::create(dir.join("nodes/part-00000.csv")).unwrap());
    let feat_cols: Vec<String> = (0..g.feat_dim).map(|d| format!("f{d}")).collect();
    writeln!(w, "id,{},label", feat_cols.join(",")).unwrap();
    for i in 0..g.nodes {
        write!(w, "{}", g.raw_id(i)).unwrap();
        for d in 0..g.feat_dim {
            write!(w, ",{}", g.feat(i, d)).unwrap();
        }
        writeln!(w, ",{}", g.label(i)).unwrap();
    }
    w.flush().unwrap();
    for part in 0..EDGE_FILES {
        let path = dir.join(format!("edges/part-{part:05}.csv"));
        let mut w = BufWriter::new(File::create(path).unwrap());
        writeln!(w, "src,dst").unwrap();
        for e in g.edge_range(part) {
            let (s, d) = g.edge(e);
            writeln!(w, "{s},{d}").unwrap();
        }
        w.flush().unwrap();
    }
}

/// The gconstruct config of the input in `dir` (absolute paths, so that the working directory
/// does not matter).
fn write_config(dir: &Path, format: &str, feat_dim: usize) -> PathBuf {
    let ext = if format == "csv" { "csv" } else { "parquet" };
    let feature_col = if format == "csv" {
        serde_json::Value::from((0..feat_dim).map(|d| format!("f{d}")).collect::<Vec<_>>())
    } else {
        serde_json::Value::from("feat")
    };
    let conf = serde_json::json!({
        "version": "gconstruct-v0.1",
        "nodes": [{
            "node_type": "node",
            "format": {"name": format},
            "files": [dir.join(format!("nodes/*.{ext}")).to_string_lossy()],
            "node_id_col": "id",
            "features": [{"feature_col": feature_col, "feature_name": "feat"}],
            "labels": [{"label_col": "label", "task_type": "classification",
                        "split_pct": [0.8, 0.1, 0.1]}]
        }],
        "edges": [{
            "relation": ["node", "links", "node"],
            "format": {"name": format},
            "files": [dir.join(format!("edges/*.{ext}")).to_string_lossy()],
            "source_id_col": "src",
            "dest_id_col": "dst"
        }]
    });
    let path = dir.join("gconstruct.json");
    std::fs::write(&path, serde_json::to_string_pretty(&conf).unwrap()).unwrap();
    path
}

/// Files under `dir`, recursively, with the given extension (`None`: all).
fn files_under(dir: &Path, ext: Option<&str>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if ext.is_none_or(|x| p.extension().is_some_and(|y| y == x)) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn total_bytes(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum()
}

/// Baseline: every leaf column of every Parquet file read into typed `Vec`s (values and
/// levels), kept until all files are read. Returns the number of values.
fn baseline_parquet(files: &[PathBuf]) -> usize {
    fn drain<T: DataType>(mut r: ColumnReaderImpl<T>, keep: &mut Vec<Vec<T::T>>) -> usize {
        let (mut values, mut defs, mut reps) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            let (records, _, _) = r
                .read_records(1 << 16, Some(&mut defs), Some(&mut reps), &mut values)
                .expect("read");
            if records == 0 {
                break;
            }
        }
        let n = values.len();
        keep.push(values);
        n
    }
    fn drain_text(mut r: ColumnReaderImpl<ByteArrayType>, keep: &mut Vec<Vec<String>>) -> usize {
        let (mut values, mut defs, mut reps) = (Vec::new(), Vec::new(), Vec::new());
        let mut text = Vec::new();
        loop {
            values.clear();
            let (records, _, _) = r
                .read_records(1 << 16, Some(&mut defs), Some(&mut reps), &mut values)
                .expect("read");
            if records == 0 {
                break;
            }
            text.extend(
                values
                    .iter()
                    .map(|b: &ByteArray| b.as_utf8().unwrap().to_string()),
            );
        }
        let n = text.len();
        keep.push(text);
        n
    }
    let mut ints: Vec<Vec<i64>> = Vec::new();
    let mut floats: Vec<Vec<f32>> = Vec::new();
    let mut texts: Vec<Vec<String>> = Vec::new();
    let mut n = 0;
    for f in files {
        let reader = SerializedFileReader::new(File::open(f).unwrap()).unwrap();
        for g in 0..reader.num_row_groups() {
            let rg = reader.get_row_group(g).unwrap();
            for c in 0..rg.num_columns() {
                n += match rg.get_column_reader(c).unwrap() {
                    ColumnReader::Int64ColumnReader(r) => drain(r, &mut ints),
                    ColumnReader::FloatColumnReader(r) => drain(r, &mut floats),
                    ColumnReader::ByteArrayColumnReader(r) => drain_text(r, &mut texts),
                    _ => panic!("unexpected column type"),
                };
            }
        }
    }
    std::hint::black_box((&ints, &floats, &texts));
    n
}

/// Baseline: every CSV cell parsed (integers as `i64`, others as `f64`) into per-column `Vec`s,
/// kept until all files are read. Returns the number of values.
fn baseline_csv(files: &[PathBuf]) -> usize {
    let mut kept: Vec<(Vec<i64>, Vec<f64>)> = Vec::new();
    let mut n = 0;
    for f in files {
        let mut r = csv::Reader::from_path(f).unwrap();
        let width = r.byte_headers().unwrap().len();
        let mut cols: Vec<(Vec<i64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); width];
        let mut rec = csv::ByteRecord::new();
        while r.read_byte_record(&mut rec).unwrap() {
            for (k, cell) in rec.iter().enumerate() {
                let s = std::str::from_utf8(cell).unwrap();
                match s.parse::<i64>() {
                    Ok(v) => cols[k].0.push(v),
                    Err(_) => cols[k].1.push(s.parse().unwrap()),
                }
                n += 1;
            }
        }
        kept.extend(cols);
    }
    std::hint::black_box(&kept);
    n
}

struct Row {
    input: &'static str,
    what: &'static str,
    cost: Cost,
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() {
    let quick = std::env::var_os("GS_BENCH_QUICK").is_some();
    let (nodes, edges) = if quick {
        (100_000, 1_000_000)
    } else {
        (1_000_000, 10_000_000)
    };
    let feat_dim = std::env::var("GS_BENCH_FEAT_DIM").map_or(FEAT_DIM, |v| {
        v.parse()
            .ok()
            .filter(|&d| d > 0)
            .unwrap_or_else(|| panic!("GS_BENCH_FEAT_DIM={v}: give a positive integer"))
    });
    let all_inputs = [
        ("parquet", "parquet", false),
        ("csv", "csv", false),
        ("parquet-text-ids", "parquet", true),
    ];
    let picked = std::env::var("GS_BENCH_INPUTS").unwrap_or_default();
    let picked: Vec<&str> = picked.split(',').filter(|x| !x.is_empty()).collect();
    if let Some(bad) = picked
        .iter()
        .find(|p| !all_inputs.iter().any(|i| i.0 == **p))
    {
        panic!("GS_BENCH_INPUTS: unknown input `{bad}`; pick from parquet, csv, parquet-text-ids");
    }
    let inputs: Vec<_> = all_inputs
        .into_iter()
        .filter(|i| picked.is_empty() || picked.contains(&i.0))
        .collect();
    let write_only = std::env::var_os("GS_BENCH_WRITE_INPUT").map(PathBuf::from);
    let rows_total = (nodes + edges) as f64;
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let root = write_only
        .clone()
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "synthetic input: {} nodes ({feat_dim}-float feature, {CLASSES}-class label), {} edges in {EDGE_FILES} files; {} logical CPUs",
        nodes,
        edges,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("load average before: {}", load().trim());
    let mut rows = Vec::new();
    let mut sizes = Vec::new();
    for (input, format, text_ids) in inputs {
        let g = Synthetic {
            nodes,
            edges,
            feat_dim,
            text_ids,
        };
        let dir = root.join(input);
        let t = Instant::now();
        if format == "csv" {
            write_csv_input(&g, &dir);
        } else {
            write_parquet_input(&g, &dir);
        }
        let conf = write_config(&dir, format, feat_dim);
        let inputs = files_under(&dir, Some(if format == "csv" { "csv" } else { "parquet" }));
        let input_bytes = total_bytes(&inputs);
        println!(
            "{input}: wrote {} files, {:.1} MiB, in {:.1} s",
            inputs.len(),
            mib(input_bytes as usize),
            t.elapsed().as_secs_f64()
        );
        if write_only.is_some() {
            println!("  config: {}", conf.display());
            continue;
        }

        let (values, cost) = measure(|| {
            if format == "csv" {
                baseline_csv(&inputs)
            } else {
                baseline_parquet(&inputs)
            }
        });
        std::hint::black_box(values);
        rows.push(Row {
            input,
            what: "baseline: typed read of every column",
            cost,
        });

        let out = tmp.path().join("out");
        let mut options = ConstructOptions::new(&conf, &out, "bench");
        options.seed = Some(1);
        let (report, cost) = measure(|| construct(&options));
        let report = report.expect("construct");
        assert_eq!(report.num_edges.values().sum::<u64>(), edges as u64);
        let output_bytes = total_bytes(&files_under(&out, None));
        rows.push(Row {
            input,
            what: "gs_gconstruct::construct",
            cost,
        });
        sizes.push((input, input_bytes, output_bytes));
        std::fs::remove_dir_all(&out).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
    if write_only.is_some() {
        return;
    }
    println!("load average after: {}", load().trim());

    println!(
        "\n| input | run | wall s | CPU s | rows/s | edges/s | peak MiB (allocator) | peak RSS MiB (VmHWM) | RSS at start MiB | peak / input | peak / output |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let (_, input, output) = sizes.iter().find(|s| s.0 == r.input).unwrap();
        let c = &r.cost;
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} M | {:.2} M | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} |",
            r.input,
            r.what,
            c.wall,
            c.cpu,
            rows_total / c.wall / 1e6,
            edges as f64 / c.wall / 1e6,
            mib(c.peak),
            mib(c.peak_rss),
            mib(c.start_rss),
            c.peak as f64 / *input as f64,
            c.peak as f64 / *output as f64,
        );
    }
    println!();
    for (name, input, output) in &sizes {
        let pick = |w: &str| {
            rows.iter()
                .find(|r| r.input == *name && r.what.starts_with(w))
        };
        let (b, c) = (&pick("baseline").unwrap().cost, &pick("gs_").unwrap().cost);
        println!(
            "{name}: input {:.1} MiB, output {:.1} MiB; construct / baseline: wall {:.2}x, peak memory {:.2}x",
            mib(*input as usize),
            mib(*output as usize),
            c.wall / b.wall,
            c.peak as f64 / b.peak as f64
        );
    }
}
