//! Progress bars for long-running work (epochs, batches, evaluation), one summary line per
//! epoch, and a training-loss line every `log_report_frequency` iterations; the lines go to
//! the log (stderr, and `--logging-file`), so they land in logs when no terminal is attached.

use gs_pipeline::all_metrics_line;
use gs_train::{EpochReport, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Bars {
    bar: Option<ProgressBar>,
    metric: String,
    loss_sum: f64,
    batches: usize,
    epoch: usize,
    /// Training iterations so far, over all epochs.
    iterations: u64,
    /// Log the training loss every this many iterations (0: never).
    report_every: u64,
}

impl Bars {
    pub(crate) fn new(metric: &str) -> Self {
        Self {
            bar: None,
            metric: metric.to_string(),
            loss_sum: 0.0,
            batches: 0,
            epoch: 0,
            iterations: 0,
            report_every: 0,
        }
    }

    /// Logs the training loss every `n` iterations (GraphStorm's `log_report_frequency`).
    pub(crate) fn with_report_frequency(mut self, n: u64) -> Self {
        self.report_every = n;
        self
    }

    fn start(&mut self, len: usize, prefix: String) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(prefix);
        self.bar = Some(bar);
    }
}

impl Progress for Bars {
    fn epoch_start(&mut self, epoch: usize, num_epochs: usize, num_batches: usize) {
        self.loss_sum = 0.0;
        self.batches = 0;
        self.epoch = epoch;
        self.start(num_batches, format!("epoch {}/{num_epochs}", epoch + 1));
    }

    fn batch_done(&mut self, loss: f64) {
        self.loss_sum += loss;
        self.batches += 1;
        self.iterations += 1;
        if self.report_every > 0 && self.iterations.is_multiple_of(self.report_every) {
            let line = || {
                tracing::info!(
                    "epoch {}, iteration {}: train loss {loss:.4}",
                    self.epoch,
                    self.iterations
                )
            };
            match &self.bar {
                Some(bar) => bar.suspend(line),
                None => line(),
            }
        }
        if let Some(bar) = &self.bar {
            bar.set_message(format!("loss {:.4}", self.loss_sum / self.batches as f64));
            bar.inc(1);
        }
    }

    fn eval_start(&mut self, what: &str, num_batches: usize) {
        self.start(num_batches, what.to_string());
    }

    fn eval_batch_done(&mut self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn epoch_end(&mut self, report: &EpochReport) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let score = |s: Option<f64>| s.map_or_else(|| "n/a".to_string(), |s| format!("{s:.4}"));
        tracing::info!(
            "epoch {:>3}: train loss {:.4}, val {} {}, test {} {}, {:.1}s{}",
            report.epoch,
            report.train_loss,
            self.metric,
            score(report.val_score),
            self.metric,
            score(report.test_score),
            report.seconds,
            report
                .checkpoint
                .as_ref()
                .map_or_else(String::new, |c| format!(", saved {c}")),
        );
        for (split, metrics) in [("val", &report.val_metrics), ("test", &report.test_metrics)] {
            if let Some(line) = all_metrics_line(metrics) {
                tracing::info!("epoch {:>3}: {split} {line}", report.epoch);
            }
        }
    }

    fn message(&mut self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| tracing::info!("{text}")),
            None => tracing::info!("{text}"),
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
