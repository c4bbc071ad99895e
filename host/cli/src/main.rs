//! `gs`: GraphStorm's command line, rebuilt in Rust. Models are sandboxed WebAssembly
//! plugins; everything heavy (graph, sampling, libtorch tensors, training, evaluation) runs
//! in the host.
//!
//! This crate owns only the process: argument parsing, logging, progress bars and exit
//! codes. The logic lives in the library crates so tests can reach it.

mod builtin;
mod component_sections;
mod embedded_sdk;
mod gconstruct;
mod generate;
mod graph_info;
mod launch;
mod logging;
mod model_cmd;
mod partition;
mod paths;
mod plugin_build;
mod plugin_cmd;
mod plugin_new;
mod plugin_python;
mod plugin_test;
mod progress;
mod registry_cmd;
mod serve_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gs_config::TaskType;

/// Exit code of a run that failed (a plugin failure, bad data, an I/O error).
const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage or configuration error.
const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "gs",
    version,
    about = "GraphStorm's pipeline, with models as sandboxed WebAssembly plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train or infer with a plugin model (GraphStorm's `graphstorm.run.launch`).
    /// Takes GraphStorm's flags; `gs launch --help` lists them.
    #[command(disable_help_flag = true)]
    Launch {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Node classification (GraphStorm's `gs_node_classification`).
    #[command(name = "node-classification", disable_help_flag = true)]
    NodeClassification {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Node regression (GraphStorm's `gs_node_regression`).
    #[command(name = "node-regression", disable_help_flag = true)]
    NodeRegression {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Edge classification (GraphStorm's `gs_edge_classification`).
    #[command(name = "edge-classification", disable_help_flag = true)]
    EdgeClassification {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Edge regression (GraphStorm's `gs_edge_regression`).
    #[command(name = "edge-regression", disable_help_flag = true)]
    EdgeRegression {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Link prediction (GraphStorm's `gs_link_prediction`).
    #[command(name = "link-prediction", disable_help_flag = true)]
    LinkPrediction {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Embeddings of every node from a trained model (GraphStorm's `gs_gen_node_embedding`).
    #[command(name = "gen-node-embedding", disable_help_flag = true)]
    GenNodeEmbedding {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Build a graph from CSV/Parquet tables and a GraphStorm gconstruct JSON config
    /// (GraphStorm's `graphstorm.gconstruct.construct_graph`).
    Gconstruct(gconstruct::GconstructArgs),
    /// Split a constructed graph into parts: random, or METIS balanced on training nodes.
    Partition(partition::PartitionArgs),
    /// Generate a dataset in gs's partition format.
    Generate {
        #[command(subcommand)]
        what: generate::Generate,
    },
    /// Inspect a partitioned graph.
    Graph {
        #[command(subcommand)]
        what: graph_info::GraphCommand,
    },
    /// Convert models: `gs model import --graphstorm DIR` (a model GraphStorm trained).
    Model {
        #[command(subcommand)]
        what: model_cmd::ModelCommand,
    },
    /// Write, build, test, inspect, share (push, pull, sign, verify) and cache plugins.
    Plugin {
        #[command(subcommand)]
        what: plugin_cmd::PluginCommand,
    },
    /// Serve a trained model for real-time inference: GraphStorm's `gs-realtime-v0.1`
    /// payload over SageMaker's hosting contract (`GET /ping`, `POST /invocations`).
    Serve(serve_cmd::ServeArgs),
    /// Pack a model directory into the `model.tar.gz` a SageMaker endpoint unpacks.
    Export(serve_cmd::ExportArgs),
    /// Answer one real-time payload offline and print the response.
    #[command(name = "infer-payload")]
    InferPayload(serve_cmd::InferPayloadArgs),
    /// Benchmarks, each run side by side with its comparison (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        what: gs_bench::BenchCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // libtorch's large intermediates make default glibc malloc page-fault bound; see gs-tensor.
    // GS_MALLOC=default leaves glibc's defaults (`gs bench plugin-boundary` runs itself so to compare).
    // gconstruct runs no libtorch, and the tuning (freed memory kept, big buffers from the heap)
    // would keep its transient buffers resident (BENCHMARKS.md, gconstruct peak RSS).
    let tune = !matches!(cli.command, Command::Gconstruct(_));
    if tune && std::env::var_os("GS_MALLOC").is_none_or(|v| v != "default") {
        gs_tensor::tune_allocator(gs_tensor::AllocatorTuning::Throughput);
    }
    logging::init();
    let result = match cli.command {
        Command::Launch { args } => launch::run(&args, None),
        Command::NodeClassification { args } => {
            launch::run(&args, Some(TaskType::NodeClassification))
        }
        Command::NodeRegression { args } => launch::run(&args, Some(TaskType::NodeRegression)),
        Command::EdgeClassification { args } => {
            launch::run(&args, Some(TaskType::EdgeClassification))
        }
        Command::EdgeRegression { args } => launch::run(&args, Some(TaskType::EdgeRegression)),
        Command::LinkPrediction { args } => launch::run(&args, Some(TaskType::LinkPrediction)),
        Command::GenNodeEmbedding { args } => launch::gen_node_embedding(&args),
        Command::Gconstruct(args) => gconstruct::run(&args),
        Command::Partition(args) => partition::run(&args),
        Command::Generate { what } => generate::run(what),
        Command::Graph { what } => graph_info::run(what),
        Command::Model { what } => model_cmd::run(what),
        Command::Plugin { what } => plugin_cmd::run(what),
        Command::Serve(args) => serve_cmd::serve(args),
        Command::InferPayload(args) => serve_cmd::infer_payload(args),
        Command::Export(args) => serve_cmd::export(args),
        Command::Bench { what } => gs_bench::run(what, builtin::BUILTIN_PLUGINS),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            let usage = error
                .chain()
                .any(|e| e.downcast_ref::<gs_config::ConfigError>().is_some());
            ExitCode::from(if usage { EXIT_USAGE } else { EXIT_FAILURE })
        }
    }
}
