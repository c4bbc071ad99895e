//! Memory figures of this process from `/proc/self/status`: the resident set now (`VmRSS`)
//! and its high-water mark (`VmHWM`, the peak RSS the kernel has seen).

/// A `kB` field of `/proc/self/status`, in bytes; `None` where it cannot be read.
fn status_field_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_field_bytes(&status, field)
}

fn parse_field_bytes(status: &str, field: &str) -> Option<u64> {
    let line = status
        .lines()
        .find(|l| l.split(':').next() == Some(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Peak resident set of this process so far (`VmHWM`), in bytes.
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    status_field_bytes("VmHWM")
}

/// Resident set of this process now (`VmRSS`), in bytes.
pub(crate) fn rss_bytes() -> Option<u64> {
    status_field_bytes("VmRSS")
}

/// Bytes as MiB, for reports.
pub(crate) fn mib(bytes: Option<u64>) -> Option<f64> {
    bytes.map(|b| b as f64 / f64::from(1u32 << 20))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kib_fields_as_bytes() {
        let status = "Name:\tgs\nVmHWM:\t  300120 kB\nVmRSS:\t  250000 kB\n";
        assert_eq!(parse_field_bytes(status, "VmHWM"), Some(300_120 * 1024));
        assert_eq!(parse_field_bytes(status, "VmRSS"), Some(250_000 * 1024));
        assert_eq!(parse_field_bytes(status, "VmPeak"), None);
    }

    #[test]
    fn the_peak_is_at_least_the_current_resident_set() {
        let (rss, peak) = (rss_bytes().unwrap(), peak_rss_bytes().unwrap());
        assert!(rss > 0 && peak >= rss, "rss {rss}, peak {peak}");
    }
}
