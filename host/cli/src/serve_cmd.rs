//! `gs serve` (real-time inference with SageMaker's hosting contract) and `gs infer-payload`
//! (one payload offline, for debugging and tests).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use gs_serve::{
    DEFAULT_BODY_LIMIT, ModelDir, Predictor, ServeOptions, ServedModel, ServerOptions,
    UnseenNodeEmbedding, resolve_model_dir,
};

/// SageMaker's variable naming the port a container must listen on.
const SAGEMAKER_PORT_ENV: &str = "SAGEMAKER_BIND_TO_PORT";

/// How a model is loaded for serving.
#[derive(Args)]
pub(crate) struct ModelArgs {
    /// The model directory `--save-model-path` wrote (its best epoch is served) or one
    /// `epoch-N` folder in it; default SageMaker's `/opt/ml/model`.
    #[arg(long)]
    model_dir: Option<PathBuf>,
    /// What a node of a learnable type that training never saw gets when the payload sends
    /// no `gs_learnable_embedding`: `error`, `zero` or `mean-of-neighbours`.
    #[arg(long, default_value = "error", value_parser = parse_unseen)]
    unseen_node_embedding: UnseenNodeEmbedding,
}

fn parse_unseen(text: &str) -> Result<UnseenNodeEmbedding, String> {
    UnseenNodeEmbedding::parse(text)
        .ok_or_else(|| format!("`{text}` is not a policy; use error, zero or mean-of-neighbours"))
}

impl ModelArgs {
    fn dir(&self) -> anyhow::Result<ModelDir> {
        resolve_model_dir(self.model_dir.as_deref())
    }

    fn options(&self) -> ServeOptions {
        ServeOptions {
            unseen_node_embedding: self.unseen_node_embedding,
            component_cache: crate::paths::component_cache(),
        }
    }
}

/// `gs serve`.
#[derive(Args)]
pub(crate) struct ServeArgs {
    /// SageMaker starts a container with the argument `serve`: `gs serve serve` is `gs serve`.
    #[arg(hide = true, value_parser = ["serve"])]
    sagemaker_verb: Option<String>,
    #[command(flatten)]
    model: ModelArgs,
    /// The port; default `$SAGEMAKER_BIND_TO_PORT`, else 8080.
    #[arg(long)]
    port: Option<u16>,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    host: IpAddr,
    /// Workers, each with its own plugin instance and one torch thread; default the cores.
    #[arg(long)]
    workers: Option<usize>,
    /// Requests that may wait for a worker; more get HTTP 503. Default 4 per worker.
    #[arg(long)]
    queue: Option<usize>,
    /// The largest request body in bytes; larger ones get HTTP 413 (SageMaker's 6 MB).
    #[arg(long, default_value_t = DEFAULT_BODY_LIMIT)]
    max_body_bytes: usize,
    /// Seconds a request may take (SageMaker's 60).
    #[arg(long, default_value_t = 60.0)]
    deadline_s: f64,
    /// The plugin the model was trained with (a file, built-in name or registry reference):
    /// checked against the checkpoint's recorded digest. The checkpoint's copy is what runs.
    #[arg(long)]
    plugin: Option<String>,
    /// The trust policy for a model trained from a registry plugin (default: the user's).
    #[arg(long)]
    trust_policy: Option<PathBuf>,
}

pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let port = match args.port {
        Some(p) => p,
        None => match std::env::var(SAGEMAKER_PORT_ENV) {
            Ok(v) => v
                .parse()
                .with_context(|| format!("`{SAGEMAKER_PORT_ENV}` is `{v}`, not a port"))?,
            Err(_) => 8080,
        },
    };
    if !(args.deadline_s.is_finite() && args.deadline_s > 0.0) {
        anyhow::bail!(
            "--deadline-s is {}; give a positive number of seconds",
            args.deadline_s
        );
    }
    let defaults = ServerOptions::default();
    let workers = args.workers.unwrap_or(defaults.workers).max(1);
    let options = ServerOptions {
        addr: SocketAddr::new(args.host, port),
        workers,
        queue: args.queue.unwrap_or(4 * workers),
        body_limit: args.max_body_bytes,
        deadline: Duration::from_secs_f64(args.deadline_s),
        access_log: true,
    };
    let dir = args.model.dir()?;
    crate::registry_cmd::check_served_plugin(
        &dir.checkpoint,
        args.plugin.as_deref(),
        args.trust_policy.as_deref(),
    )?;
    let serve_options = args.model.options();
    gs_serve::serve_blocking(move || ServedModel::load(&dir, serve_options), options)
}

/// `gs infer-payload`.
#[derive(Args)]
pub(crate) struct InferPayloadArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The payload (`gs-realtime-v0.1` JSON); `-` reads stdin.
    payload: PathBuf,
}

/// Prints the response to one payload; fails (exit 1) unless its status is 200.
pub(crate) fn infer_payload(args: InferPayloadArgs) -> anyhow::Result<()> {
    let body = if args.payload.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        buf
    } else {
        std::fs::read(&args.payload)
            .with_context(|| format!("cannot read payload `{}`", args.payload.display()))?
    };
    gs_tensor::tch::set_num_threads(1);
    let served = ServedModel::load(&args.model.dir()?, args.model.options())?;
    let mut predictor = Predictor::new(std::sync::Arc::new(served))?;
    let (response, _) = predictor.respond(&body);
    println!("{}", String::from_utf8_lossy(&response.to_json()));
    if response.status_code != 200 {
        anyhow::bail!(
            "the payload got status {}: {}",
            response.status_code,
            response.error
        );
    }
    Ok(())
}

/// `gs export`.
#[derive(Args)]
pub(crate) struct ExportArgs {
    /// The model directory (its best epoch is exported) or one `epoch-N` folder in it.
    #[arg(long)]
    model_dir: PathBuf,
    /// The archive to write, e.g. `model.tar.gz`.
    #[arg(long)]
    output: PathBuf,
}

/// Packs what a SageMaker endpoint needs of a model into `model.tar.gz`.
pub(crate) fn export(args: ExportArgs) -> anyhow::Result<()> {
    let dir = resolve_model_dir(Some(&args.model_dir))?;
    let files = gs_serve::export(&dir, &args.output)?;
    println!(
        "wrote `{}`: {} (unpack it into /opt/ml/model, or give it to SageMaker as ModelDataUrl)",
        args.output.display(),
        files.join(", ")
    );
    Ok(())
}
