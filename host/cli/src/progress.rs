//! Progress bars for long-running work (epochs, batches, evaluation), and one summary line
//! per epoch that also lands in logs when no terminal is attached.

use gs_train::{EpochReport, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Bars {
    bar: Option<ProgressBar>,
    metric: String,
    loss_sum: f64,
    batches: usize,
}

impl Bars {
    pub(crate) fn new(metric: &str) -> Self {
        Self {
            bar: None,
            metric: metric.to_string(),
            loss_sum: 0.0,
            batches: 0,
        }
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
        self.start(num_batches, format!("epoch {}/{num_epochs}", epoch + 1));
    }

    fn batch_done(&mut self, loss: f64) {
        self.loss_sum += loss;
        self.batches += 1;
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
        eprintln!(
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
    }

    fn message(&mut self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
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
