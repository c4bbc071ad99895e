//! `gs bench aggregation`: neighbour aggregation as plugins ask for it, side by side in one
//! process: `block.aggregate` (gs-tensor's [`InEdges::aggregate`], since `gs:plugin@0.1.2`)
//! against the `index_select` + `scatter_reduce` pair plugins used before it, forward and
//! backward, on blocks shaped like the RGCN job's of `gs bench task`.
//!
//! Both paths run on the same block and the same rows; their outputs and gradients are
//! compared (the run fails when they differ by more than 1e-5), then timed alternately,
//! repetition by repetition (which goes first flips each time); medians and ratios are printed.
//! Times are the process's CPU time (one torch thread by default), which other work on the
//! machine disturbs far less than wall time.

use clap::Args;
use gs_tensor::ops::{Reduce, index_select, scatter_reduce};
use gs_tensor::{Device, InEdges, Kind, Tensor};

use crate::alloc::process_cpu_seconds;
use crate::report::{fmt_ratios, fmt_stats, row, stats, table};

/// The two ways of computing the same aggregation.
#[derive(Debug, Clone, Copy)]
enum Form {
    /// `block.aggregate`.
    Fused,
    /// `index_select`, then `scatter_reduce`.
    Unfused,
}

/// Which form runs first in repetition `rep`: the two alternate.
fn order(rep: usize) -> [Form; 2] {
    if rep.is_multiple_of(2) {
        [Form::Fused, Form::Unfused]
    } else {
        [Form::Unfused, Form::Fused]
    }
}

#[derive(Args)]
pub struct AggregationArgs {
    /// Source nodes of the block (the MovieLens-scale graph has 2,625 nodes).
    #[arg(long, default_value_t = 2625)]
    num_src: i64,
    /// Destination nodes; a comma-separated list gives one row per size (a layer-1 and a
    /// layer-2 block of the RGCN job by default).
    #[arg(long, value_delimiter = ',', default_value = "2600,1300")]
    num_dst: Vec<i64>,
    /// In-edges per destination node (the fanout).
    #[arg(long, default_value_t = 10)]
    fanout: i64,
    /// Width of the rows aggregated (`hidden_size`).
    #[arg(long, default_value_t = 64)]
    width: i64,
    /// Timed repetitions of each path (medians are reported).
    #[arg(long, default_value_t = 200)]
    reps: usize,
    /// Torch intra-op threads.
    #[arg(long, default_value_t = 1)]
    threads: i32,
}

/// One block: `fanout` random sources per destination, destinations in order, as the
/// neighbour sampler emits them.
struct Block {
    src: Tensor,
    dst: Tensor,
    in_edges: InEdges,
    num_dst: i64,
}

impl Block {
    fn random(num_src: i64, num_dst: i64, fanout: i64) -> anyhow::Result<Self> {
        let options = (Kind::Int64, Device::Cpu);
        let dst = Tensor::arange(num_dst, options).repeat_interleave_self_int(fanout, 0, None);
        let src = Tensor::randint(num_src, [num_dst * fanout], options);
        let in_edges = InEdges::from_tensors(&src, &dst, num_src, num_dst)?;
        Ok(Self {
            src,
            dst,
            in_edges,
            num_dst,
        })
    }

    /// Forward, then backward against `weights`; the output and the rows' gradient.
    fn run(&self, form: Form, rows: &Tensor, weights: &Tensor) -> anyhow::Result<(Tensor, Tensor)> {
        let rows = rows.detach().set_requires_grad(true);
        let out = match form {
            Form::Fused => self.in_edges.aggregate(&rows, Reduce::Mean)?,
            Form::Unfused => {
                let messages = index_select(&rows, 0, &self.src)?;
                scatter_reduce(&messages, &self.dst, self.num_dst, Reduce::Mean)?
            }
        };
        (&out * weights).sum(Kind::Float).backward();
        Ok((out.detach(), rows.grad()))
    }
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

pub(crate) fn run(args: &AggregationArgs) -> anyhow::Result<()> {
    gs_tensor::tch::manual_seed(42);
    gs_tensor::tch::set_num_threads(args.threads);
    println!(
        "Mean aggregation, forward and backward: `block.aggregate` (fused) against \
         `index_select` + `scatter_reduce` (unfused); {} source rows of width {}, {} in-edges \
         per destination, {} torch thread(s), {} repetitions each, alternating; process CPU time.\n",
        args.num_src, args.width, args.fanout, args.threads, args.reps
    );
    table(&[
        "destinations",
        "edges",
        "fused",
        "unfused",
        "fused / unfused",
    ]);
    for &num_dst in &args.num_dst {
        let block = Block::random(args.num_src, num_dst, args.fanout)?;
        let rows = Tensor::randn([args.num_src, args.width], (Kind::Float, Device::Cpu));
        let weights = Tensor::randn([num_dst, args.width], (Kind::Float, Device::Cpu));
        let (fused_out, fused_grad) = block.run(Form::Fused, &rows, &weights)?;
        let (plain_out, plain_grad) = block.run(Form::Unfused, &rows, &weights)?;
        let diff = max_abs_diff(&fused_out, &plain_out).max(max_abs_diff(&fused_grad, &plain_grad));
        anyhow::ensure!(
            diff <= 1e-5,
            "the fused and unfused aggregations differ by {diff:e} on {num_dst} destinations"
        );
        let (mut fused, mut plain, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for rep in 0..args.reps {
            let (mut fused_s, mut unfused_s) = (0.0, 0.0);
            for form in order(rep) {
                let start = process_cpu_seconds();
                drop(block.run(form, &rows, &weights)?);
                let elapsed = process_cpu_seconds() - start;
                match form {
                    Form::Fused => fused_s = elapsed,
                    Form::Unfused => unfused_s = elapsed,
                }
            }
            fused.push(fused_s);
            plain.push(unfused_s);
            ratios.push(fused_s / unfused_s);
        }
        row(&[
            num_dst.to_string(),
            (num_dst * args.fanout).to_string(),
            fmt_stats(&stats(&fused)),
            fmt_stats(&stats(&plain)),
            fmt_ratios(&stats(&ratios)),
        ]);
    }
    println!("\nOutputs and gradients of the two paths agree within 1e-5 on every block.");
    Ok(())
}
