//! Part 4 of `gs bench plugin-boundary`: glibc malloc settings, each timed in a child process
//! (a process cannot undo `mallopt`), plus the process counters the benchmarks read (CPU time,
//! system time, page faults, load average).

use std::ffi::c_int;
use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use gs_batch::Mode;
use gs_graph::generate_demo;
use gs_tensor::{AllocatorTuning, tch, tune_allocator};
use gs_train::TaskModel;
use serde_json::{Value, json};

use crate::plugin_boundary::*;
use crate::report::*;

/// glibc's `mallopt` parameters (malloc.h).
pub(crate) const M_TRIM_THRESHOLD: c_int = -1;
pub(crate) const M_TOP_PAD: c_int = -2;
pub(crate) const M_MMAP_THRESHOLD: c_int = -3;
pub(crate) const M_MMAP_MAX: c_int = -4;
pub(crate) const M_ARENA_MAX: c_int = -8;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) mod glibc {
    use std::ffi::{c_char, c_int, c_void};

    /// glibc's `struct mallinfo2`.
    #[repr(C)]
    #[derive(Default)]
    pub(super) struct MallInfo2 {
        pub(super) arena: usize,
        pub(super) ordblks: usize,
        pub(super) smblks: usize,
        pub(super) hblks: usize,
        pub(super) hblkhd: usize,
        pub(super) usmblks: usize,
        pub(super) fsmblks: usize,
        pub(super) uordblks: usize,
        pub(super) fordblks: usize,
        pub(super) keepcost: usize,
    }

    /// `struct timespec` on 64-bit Linux.
    #[repr(C)]
    #[derive(Default)]
    pub(super) struct Timespec {
        pub(super) tv_sec: i64,
        pub(super) tv_nsec: i64,
    }

    unsafe extern "C" {
        pub(super) fn clock_gettime(clock: c_int, tp: *mut Timespec) -> c_int;
        pub(super) fn mallopt(param: c_int, value: c_int) -> c_int;
        pub(super) fn mallinfo2() -> MallInfo2;
        pub(super) fn malloc(size: usize) -> *mut c_void;
        pub(super) fn free(ptr: *mut c_void);
        pub(super) fn gnu_get_libc_version() -> *const c_char;
    }
}

pub(crate) fn glibc_version() -> String {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: glibc returns a pointer to a static NUL-terminated string.
        unsafe { std::ffi::CStr::from_ptr(glibc::gnu_get_libc_version()) }
            .to_string_lossy()
            .into_owned()
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        "(not glibc)".into()
    }
}

/// One `mallopt` call and whether glibc accepted it.
pub(crate) fn mallopt(name: &str, param: c_int, value: c_int) -> Value {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters.
    let ok = unsafe { glibc::mallopt(param, value) } == 1;
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let ok = {
        let _ = (param, value);
        false
    };
    json!({ "param": name, "value": value, "ok": ok })
}

/// Which allocation sizes glibc serves with `mmap` right now. This changes glibc's dynamic
/// mmap threshold when it is not pinned, so it runs after the timings.
pub(crate) fn mmap_probe() -> Value {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut out = serde_json::Map::new();
        for mib in [1usize, 8, 31, 48, 200] {
            // SAFETY: plain malloc/free of an untouched block; mallinfo2 only reads statistics.
            let mmapped = unsafe {
                let before = glibc::mallinfo2().hblks;
                let p = black_box(glibc::malloc(black_box(mib << 20)));
                let after = glibc::mallinfo2().hblks;
                glibc::free(black_box(p));
                after > before
            };
            out.insert(format!("{mib}MiB"), json!(mmapped));
        }
        Value::Object(out)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        Value::Null
    }
}

/// CPU time of the whole process (all threads) so far, in seconds; NaN where unknown.
pub(crate) fn process_cpu_seconds() -> f64 {
    clock_seconds(2) // CLOCK_PROCESS_CPUTIME_ID
}

/// `clock_gettime(clock)` in seconds; NaN where unknown.
pub(crate) fn clock_seconds(clock: c_int) -> f64 {
    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
    {
        let mut ts = glibc::Timespec::default();
        // SAFETY: `ts` is a valid, writable timespec.
        if unsafe { glibc::clock_gettime(clock, &mut ts) } == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
        f64::NAN
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64")))]
    {
        let _ = clock;
        f64::NAN
    }
}

/// The 1-minute load average, as a hint of other work on the machine.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".into())
}

/// Whether the 1-minute load average is above 1: other work is running on the machine.
pub(crate) fn load_average_is_high() -> bool {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .is_some_and(|l| l > 1.0)
}

/// System (kernel) CPU time of this process so far, in seconds (`/proc/self/stat`, field 15;
/// 10 ms resolution); NaN where unknown. Page faults are spent here.
pub(crate) fn system_seconds() -> f64 {
    let read = || -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = &stat[stat.rfind(')')? + 1..];
        let ticks: f64 = rest.split_whitespace().nth(12)?.parse().ok()?;
        Some(ticks / CLOCK_TICKS_PER_SECOND)
    };
    read().unwrap_or(f64::NAN)
}

/// `sysconf(_SC_CLK_TCK)`, which is 100 on every Linux target gs builds for.
pub(crate) const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// Minor page faults of this process so far (`/proc/self/stat`, field 10).
pub(crate) fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(7)?.parse().ok()
}

/// Allocator settings the `alloc` part can compare.
pub(crate) struct Variant {
    name: &'static str,
    what: &'static str,
    /// Environment of the child on top of `GS_MALLOC=default`.
    env: &'static [(&'static str, &'static str)],
}

pub(crate) const VARIANTS: &[Variant] = &[
    Variant {
        name: "default",
        what: "glibc defaults (`GS_MALLOC=default`)",
        env: &[],
    },
    Variant {
        name: "tuned",
        what: "`tune_allocator(Throughput)`, what `gs` does at start",
        env: &[],
    },
    Variant {
        name: "tuned-no-mmap",
        what: "tuned + `M_MMAP_MAX=0` (no block comes from mmap)",
        env: &[],
    },
    Variant {
        name: "tuned-arena1",
        what: "tuned + `M_ARENA_MAX=1` (one arena for all threads)",
        env: &[],
    },
    Variant {
        name: "env-prototype",
        what: "the prototype's env: MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=17179869184 MALLOC_TOP_PAD_=1073741824",
        env: &[
            ("MALLOC_MMAP_THRESHOLD_", "4294967296"),
            ("MALLOC_TRIM_THRESHOLD_", "17179869184"),
            ("MALLOC_TOP_PAD_", "1073741824"),
        ],
    },
];

pub(crate) fn variant(name: &str) -> anyhow::Result<&'static Variant> {
    VARIANTS.iter().find(|v| v.name == name).with_context(|| {
        format!(
            "unknown allocator variant `{name}`; known: {:?}",
            VARIANTS.iter().map(|v| v.name).collect::<Vec<_>>()
        )
    })
}

/// A child: apply the variant, time the big-batch forward, print one JSON line.
pub(crate) fn alloc_child(name: &str, sizes: &Sizes, batch_size: u32) -> anyhow::Result<()> {
    if std::env::var("GS_MALLOC").as_deref() != Ok("default") {
        bail!(
            "an allocator child needs GS_MALLOC=default, so that `gs` leaves malloc untuned for it"
        );
    }
    if name == "probe" {
        // Each call of tune_allocator on its own, in an untuned process, from glibc's defaults.
        const MIB: c_int = 1 << 20;
        let calls: Vec<Value> = [1024, 512, 64, 32]
            .into_iter()
            .map(|m| {
                mallopt(
                    &format!("M_MMAP_THRESHOLD={m}MiB"),
                    M_MMAP_THRESHOLD,
                    m * MIB,
                )
            })
            .chain([
                mallopt("M_TRIM_THRESHOLD=i32::MAX", M_TRIM_THRESHOLD, c_int::MAX),
                mallopt("M_TOP_PAD=256MiB", M_TOP_PAD, 256 * MIB),
            ])
            .collect();
        println!(
            "{CHILD_LINE}{}",
            json!({ "variant": "probe", "mallopt": calls, "mmap_probe": mmap_probe() })
        );
        return Ok(());
    }
    variant(name)?;
    let mut calls = vec![];
    let mut tuned = Value::Null;
    if name.starts_with("tuned") {
        tuned = json!(tune_allocator(AllocatorTuning::Throughput));
    }
    match name {
        "tuned-no-mmap" => calls.push(mallopt("M_MMAP_MAX=0", M_MMAP_MAX, 0)),
        "tuned-arena1" => calls.push(mallopt("M_ARENA_MAX=1", M_ARENA_MAX, 1)),
        _ => {}
    }
    gs_tensor::seed_and_threads(42, None);
    let graph = Arc::new(generate_demo(&demo_params(sizes.papers)));
    let task = big_task(&graph, batch_size)?;
    let batch = task.first_training_batch()?;
    let labels = batch
        .labels
        .as_ref()
        .context("training batches carry labels")?
        .shallow_clone();
    let mut model = task.native_model()?;
    let forward = |model: &mut TaskModel| -> anyhow::Result<f64> {
        let _g = tch::no_grad_guard();
        let t = Instant::now();
        drop(black_box(model.outputs(&batch.data, Mode::Eval)?));
        Ok(t.elapsed().as_secs_f64())
    };
    let step = |model: &mut TaskModel| -> anyhow::Result<f64> {
        let t = Instant::now();
        let out = model.outputs(&batch.data, Mode::Train)?;
        model.loss(&out, &labels)?.backward();
        Ok(t.elapsed().as_secs_f64())
    };
    forward(&mut model)?;
    step(&mut model)?;
    let (f0, c0, s0) = (minor_faults(), process_cpu_seconds(), system_seconds());
    let fwd: Vec<f64> = (0..sizes.child_fwd)
        .map(|_| forward(&mut model))
        .collect::<anyhow::Result<_>>()?;
    let (f1, c1, s1) = (minor_faults(), process_cpu_seconds(), system_seconds());
    let bwd: Vec<f64> = (0..sizes.child_bwd)
        .map(|_| step(&mut model))
        .collect::<anyhow::Result<_>>()?;
    let (f2, c2, s2) = (minor_faults(), process_cpu_seconds(), system_seconds());
    let per = |a: Option<u64>, b: Option<u64>, n: usize| match (a, b) {
        (Some(a), Some(b)) => json!((b - a) as f64 / n.max(1) as f64),
        _ => Value::Null,
    };
    let per_s = |a: f64, b: f64, n: usize| json!((b - a) / n.max(1) as f64);
    let line = json!({
        "variant": name,
        "tune_allocator": tuned,
        "mallopt": calls,
        "fwd_s": fwd,
        "fwdbwd_s": bwd,
        "faults_per_fwd": per(f0, f1, sizes.child_fwd),
        "faults_per_fwdbwd": per(f1, f2, sizes.child_bwd),
        "cpu_s_per_fwd": per_s(c0, c1, sizes.child_fwd),
        "cpu_s_per_fwdbwd": per_s(c1, c2, sizes.child_bwd),
        "sys_s_per_fwd": per_s(s0, s1, sizes.child_fwd),
        "sys_s_per_fwdbwd": per_s(s1, s2, sizes.child_bwd),
        "batch": describe_batch(&batch),
        "largest_mib": largest_mib(&batch),
        "mmap_probe": mmap_probe(),
    });
    println!("{CHILD_LINE}{line}");
    Ok(())
}

/// Run one child and parse its JSON line.
pub(crate) fn spawn_child(
    args: &PluginBoundary,
    sizes: &Sizes,
    name: &str,
) -> anyhow::Result<Value> {
    // /proc/self/exe runs this very binary even if a rebuild has replaced the file meanwhile.
    let proc_exe = std::path::PathBuf::from("/proc/self/exe");
    let exe = if proc_exe.exists() {
        proc_exe
    } else {
        std::env::current_exe().context("cannot find this executable to re-run it")?
    };
    let mut cmd = Command::new(exe);
    let (papers, batch) = (sizes.papers.to_string(), args.alloc_batch_size.to_string());
    cmd.args([
        "bench",
        "plugin-boundary",
        "--alloc-child",
        name,
        "--papers",
        &papers,
        "--alloc-batch-size",
        &batch,
    ]);
    if args.quick {
        cmd.arg("--quick");
    }
    cmd.env("GS_MALLOC", "default");
    for key in [
        "MALLOC_MMAP_THRESHOLD_",
        "MALLOC_TRIM_THRESHOLD_",
        "MALLOC_TOP_PAD_",
        "MALLOC_MMAP_MAX_",
        "MALLOC_ARENA_MAX",
        "GLIBC_TUNABLES",
    ] {
        cmd.env_remove(key);
    }
    if name != "probe" {
        for (k, v) in variant(name)?.env {
            cmd.env(k, v);
        }
    }
    let output = cmd.output().context("cannot start an allocator child")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().find_map(|l| l.strip_prefix(CHILD_LINE)) {
        Some(line) if output.status.success() => Ok(serde_json::from_str(line)?),
        _ => bail!(
            "allocator child `{name}` failed ({}):\n{}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

pub(crate) fn floats(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// One allocator setting's figures, per round, and the JSON of its last child.
#[derive(Default)]
pub(crate) struct AllocResults {
    /// Median no_grad forward and fwd+bwd of each child, in seconds.
    fwd: Vec<f64>,
    fwdbwd: Vec<f64>,
    /// Minor page faults per forward and per fwd+bwd.
    faults_fwd: Vec<f64>,
    faults_fwdbwd: Vec<f64>,
    /// Seconds per operation: process CPU / fwd, system CPU / fwd, process CPU / fwd+bwd,
    /// system CPU / fwd+bwd.
    cpu: [Vec<f64>; 4],
    last: Value,
}

pub(crate) fn bench_alloc(args: &PluginBoundary, sizes: &Sizes) -> anyhow::Result<()> {
    let names: Vec<&str> = args.alloc_variants.iter().map(String::as_str).collect();
    for n in &names {
        variant(n)?;
    }
    ensure!(
        names.contains(&"tuned"),
        "--alloc-variants must include `tuned`, the baseline"
    );
    println!(
        "## 4. glibc malloc: big-batch forward (native path) in child processes, {} rounds, order rotating",
        sizes.reps
    );
    println!();
    let probe = spawn_child(args, sizes, "probe")?;
    let mut results: Vec<AllocResults> = names.iter().map(|_| AllocResults::default()).collect();
    for r in 0..sizes.reps {
        for k in 0..names.len() {
            let i = (k + r) % names.len();
            let v = spawn_child(args, sizes, names[i])?;
            let (f, b) = (
                stats(&floats(&v, "fwd_s")).median,
                stats(&floats(&v, "fwdbwd_s")).median,
            );
            progress(&format!(
                "alloc round {}/{}: {} fwd {} fwd+bwd {}",
                r + 1,
                sizes.reps,
                names[i],
                fmt_time(f),
                fmt_time(b)
            ));
            for (j, key) in [
                "cpu_s_per_fwd",
                "sys_s_per_fwd",
                "cpu_s_per_fwdbwd",
                "sys_s_per_fwdbwd",
            ]
            .into_iter()
            .enumerate()
            {
                results[i].cpu[j].push(v[key].as_f64().unwrap_or(f64::NAN));
            }
            let slot = &mut results[i];
            slot.fwd.push(f);
            slot.fwdbwd.push(b);
            slot.faults_fwd
                .push(v["faults_per_fwd"].as_f64().unwrap_or(f64::NAN));
            slot.faults_fwdbwd
                .push(v["faults_per_fwdbwd"].as_f64().unwrap_or(f64::NAN));
            slot.last = v;
        }
    }
    let base = names
        .iter()
        .position(|n| *n == "tuned")
        .expect("checked above");
    let (base_f, base_b) = (results[base].fwd.clone(), results[base].fwdbwd.clone());
    if let Some(batch) = results[base].last["batch"].as_str() {
        println!(
            "Batch: {batch}, fanout 10,10 (the largest intermediate of one edge type is {} MiB). Each child times {} no_grad forwards and {} fwd+bwd after one warm-up of each; a cell is the median over rounds of each child's median.",
            results[base].last["largest_mib"], sizes.child_fwd, sizes.child_bwd
        );
        println!();
    }
    table(&[
        "setting",
        "fwd no_grad",
        "ratio to tuned (min–max)",
        "fwd+bwd",
        "ratio to tuned (min–max)",
        "minor faults / fwd, / fwd+bwd",
        "process CPU (sys) / fwd",
        "process CPU (sys) / fwd+bwd",
        "served by mmap (1, 8, 31, 48, 200 MiB)",
    ]);
    for (i, n) in names.iter().enumerate() {
        let AllocResults {
            fwd: f,
            fwdbwd: b,
            faults_fwd: ff,
            faults_fwdbwd: fb,
            cpu,
            last,
        } = &results[i];
        let rf: Vec<f64> = f.iter().zip(&base_f).map(|(a, b)| a / b).collect();
        let rb: Vec<f64> = b.iter().zip(&base_b).map(|(a, b)| a / b).collect();
        let probe_cells: Vec<&str> = ["1MiB", "8MiB", "31MiB", "48MiB", "200MiB"]
            .iter()
            .map(|k| match last["mmap_probe"][k].as_bool() {
                Some(true) => "mmap",
                Some(false) => "heap",
                None => "?",
            })
            .collect();
        row(&[
            format!("`{n}`: {}", variant(n)?.what),
            fmt_time(stats(f).median),
            fmt_ratios(&stats(&rf)),
            fmt_time(stats(b).median),
            fmt_ratios(&stats(&rb)),
            format!("{:.0}, {:.0}", stats(ff).median, stats(fb).median),
            format!(
                "{} ({})",
                fmt_time(stats(&cpu[0]).median),
                fmt_time(stats(&cpu[1]).median)
            ),
            format!(
                "{} ({})",
                fmt_time(stats(&cpu[2]).median),
                fmt_time(stats(&cpu[3]).median)
            ),
            probe_cells.join(", "),
        ]);
    }
    println!();
    let mut accepted = vec![];
    for c in probe["mallopt"].as_array().into_iter().flatten() {
        accepted.push(format!(
            "{} {}",
            c["param"].as_str().unwrap_or("?"),
            if c["ok"].as_bool() == Some(true) {
                "accepted"
            } else {
                "REFUSED"
            }
        ));
    }
    println!(
        "mallopt calls of tune_allocator, each alone from glibc's defaults: {}.",
        accepted.join("; ")
    );
    for (i, n) in names.iter().enumerate() {
        let last = &results[i].last;
        let mut notes = vec![];
        if let Some(t) = last["tune_allocator"].as_bool() {
            notes.push(format!("tune_allocator returned {t}"));
        }
        for c in last["mallopt"].as_array().into_iter().flatten() {
            notes.push(format!(
                "{} {}",
                c["param"].as_str().unwrap_or("?"),
                if c["ok"].as_bool() == Some(true) {
                    "accepted"
                } else {
                    "REFUSED"
                }
            ));
        }
        if !notes.is_empty() {
            println!("`{n}`: {}.", notes.join("; "));
        }
    }
    println!();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    #[test]
    fn every_default_variant_is_known() {
        for name in [
            "default",
            "tuned",
            "tuned-no-mmap",
            "tuned-arena1",
            "env-prototype",
        ] {
            assert!(variant(name).is_ok(), "{name}");
        }
        assert!(variant("nonsense").is_err());
    }

    #[test]
    fn process_cpu_time_counts_the_work_of_every_thread() {
        // Two workers each burn 0.2 s of their own CPU time while the calling thread waits:
        // the process clock must see both, whatever else runs on the machine.
        let spin = || {
            let start = clock_seconds(3); // CLOCK_THREAD_CPUTIME_ID
            let mut x = 0u64;
            while clock_seconds(3) - start < 0.2 {
                x = black_box(x.wrapping_add(1));
            }
        };
        let before = process_cpu_seconds();
        std::thread::scope(|s| {
            s.spawn(spin);
            s.spawn(spin);
        });
        let used = process_cpu_seconds() - before;
        assert!(
            used >= 0.39,
            "process CPU time grew by {used} s, not by 0.4 s"
        );
    }
}
