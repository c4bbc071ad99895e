//! glibc malloc tuning for libtorch.
//!
//! A mini-batch forward allocates intermediates of tens of MB. With glibc's defaults each
//! one is `mmap`ed and unmapped again, and the run becomes page-fault bound (measured 6–8×
//! slower). Raising the mmap threshold and keeping freed memory in the heap reuses pages
//! instead. A Rust `#[global_allocator]` would not reach libtorch's C++ allocations; this does.

/// Which tuning to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocatorTuning {
    /// glibc's defaults (for comparison in benchmarks).
    Default,
    /// Large allocations come from the heap and freed memory is kept for reuse.
    Throughput,
}

/// Apply the tuning to the whole process. Call once, early, before large allocations.
/// Returns whether every setting was accepted.
pub fn tune_allocator(tuning: AllocatorTuning) -> bool {
    if tuning == AllocatorTuning::Default {
        return true;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // Some glibc builds refuse large mmap thresholds (2.36 here accepts 1 GiB);
        // try the largest first and fall back.
        const MIB: i32 = 1 << 20;
        let threshold_ok = [1024 * MIB, 512 * MIB, 64 * MIB, 32 * MIB]
            .into_iter()
            // SAFETY: mallopt only changes allocator parameters.
            .any(|value| unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, value) } == 1);
        // SAFETY: as above.
        let trim_ok = unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) } == 1;
        // SAFETY: as above.
        let pad_ok = unsafe { libc::mallopt(libc::M_TOP_PAD, 256 * MIB) } == 1;
        threshold_ok && trim_ok && pad_ok
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
