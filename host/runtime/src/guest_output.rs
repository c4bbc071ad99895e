//! The guest's stdout and stderr: each line goes to the host's log, tagged with the plugin's
//! name and the stream, under a rate limit.
//!
//! A Python plugin's traceback, or a Rust plugin's `eprintln!`, is how its author learns what
//! went wrong, so neither stream is discarded. A plugin that prints in a hot loop must not
//! flood the host's log, though: each stream may log a burst of [`BURST_LINES`] lines, then
//! [`LINES_PER_SECOND`]. What the limit drops is counted and reported once the stream may
//! log again, and when the instance goes away. Lines longer than [`MAX_LINE`] bytes are cut.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Lines a stream may log at once.
const BURST_LINES: f64 = 200.0;
/// Lines a stream may log per second once its burst is spent.
const LINES_PER_SECOND: f64 = 20.0;
/// Longest line kept; the rest of it is cut.
const MAX_LINE: usize = 4 * 1024;
/// What each `check-write` lets the guest write at once.
const WRITE_PERMIT: usize = 64 * 1024;

/// Which of the guest's streams.
#[derive(Clone, Copy, Debug)]
enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The guest's stdout and stderr of one instance.
pub(crate) struct GuestOutputs {
    pub(crate) stdout: GuestStream,
    pub(crate) stderr: GuestStream,
}

impl GuestOutputs {
    pub(crate) fn new(plugin: &str) -> Self {
        Self {
            stdout: GuestStream::new(plugin, Stream::Stdout),
            stderr: GuestStream::new(plugin, Stream::Stderr),
        }
    }

    /// Tag the lines from now on with `plugin` (the name the plugin gave in `describe`).
    pub(crate) fn rename(&self, plugin: &str) {
        for stream in [&self.stdout, &self.stderr] {
            stream.lines().plugin = plugin.to_string();
        }
    }
}

/// One of the guest's streams; every WASI handle on it shares its lines and its rate limit.
#[derive(Clone)]
pub(crate) struct GuestStream {
    lines: Arc<Mutex<LineLog>>,
}

impl GuestStream {
    fn new(plugin: &str, stream: Stream) -> Self {
        Self {
            lines: Arc::new(Mutex::new(LineLog::new(plugin, stream))),
        }
    }

    fn lines(&self) -> MutexGuard<'_, LineLog> {
        // A poisoned lock only means a log call panicked; the line state is still sound.
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl IsTerminal for GuestStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for GuestStream {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestStream {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.lines().write(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

impl tokio::io::AsyncWrite for GuestStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.lines().write(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The bytes of a stream not yet logged, and its rate limit (a token bucket of lines).
struct LineLog {
    plugin: String,
    stream: Stream,
    /// The line under way: bytes after the last newline.
    partial: Vec<u8>,
    tokens: f64,
    refilled: Instant,
    /// Lines the limit dropped since the last one logged.
    dropped: u64,
}

impl LineLog {
    fn new(plugin: &str, stream: Stream) -> Self {
        Self {
            plugin: plugin.to_string(),
            stream,
            partial: Vec::new(),
            tokens: BURST_LINES,
            refilled: Instant::now(),
            dropped: 0,
        }
    }

    fn write(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.take(&bytes[..end]);
            let line = std::mem::take(&mut self.partial);
            self.emit(&line);
            bytes = &bytes[end + 1..];
        }
        self.take(bytes);
    }

    /// Add `bytes` to the line under way, keeping at most [`MAX_LINE`] of them.
    fn take(&mut self, bytes: &[u8]) {
        let room = (MAX_LINE + 1).saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn emit(&mut self, line: &[u8]) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * LINES_PER_SECOND).min(BURST_LINES);
        self.refilled = now;
        if self.tokens < 1.0 {
            self.dropped += 1;
            return;
        }
        self.tokens -= 1.0;
        self.report_dropped();
        let mut text = String::from_utf8_lossy(&line[..line.len().min(MAX_LINE)]).into_owned();
        if line.len() > MAX_LINE {
            text.push_str(" […]");
        }
        let text = text.trim_end_matches('\r');
        let (plugin, stream) = (&self.plugin, self.stream.name());
        match self.stream {
            Stream::Stdout => tracing::info!(target: "plugin", "[{plugin}] {stream}: {text}"),
            Stream::Stderr => tracing::warn!(target: "plugin", "[{plugin}] {stream}: {text}"),
        }
    }

    fn report_dropped(&mut self) {
        if self.dropped == 0 {
            return;
        }
        let (plugin, stream, dropped) = (&self.plugin, self.stream.name(), self.dropped);
        tracing::warn!(
            target: "plugin",
            "[{plugin}] {stream}: {dropped} lines not logged: a plugin may log {BURST_LINES} \
             lines at once, then {LINES_PER_SECOND} per second"
        );
        self.dropped = 0;
    }
}

impl Drop for LineLog {
    /// The instance is gone: log the unfinished line and what the limit dropped.
    fn drop(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.emit(&line);
        }
        self.report_dropped();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_writes_are_joined_and_long_lines_cut() {
        let mut lines = LineLog::new("p", Stream::Stdout);
        lines.write(b"hel");
        lines.write(b"lo\nwor");
        assert_eq!(lines.partial, b"wor");
        assert_eq!(lines.tokens, BURST_LINES - 1.0);
        lines.write(&vec![b'x'; 3 * MAX_LINE]);
        assert_eq!(
            lines.partial.len(),
            MAX_LINE + 1,
            "kept one byte past the cut"
        );
        lines.write(b"\n");
        assert!(lines.partial.is_empty());
    }

    #[test]
    fn a_flood_is_cut_to_the_burst_and_counted() {
        let mut lines = LineLog::new("p", Stream::Stderr);
        lines.write("line\n".repeat(1_000).as_bytes());
        // The clock moves a little during the loop, so allow a line or two of refill.
        assert!(
            (798..=800).contains(&lines.dropped),
            "dropped {}",
            lines.dropped
        );
        lines.report_dropped();
        assert_eq!(lines.dropped, 0);
    }
}
