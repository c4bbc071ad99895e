//! The HTTP server: SageMaker's hosting contract on axum. `GET /ping` answers 200 once every
//! worker holds the model (503 before) and never waits in the request queue; `POST
//! /invocations` takes a payload, queues it for a pool of workers (one plugin instance and one
//! torch thread each) and answers GraphStorm's response with HTTP 200. Only the transport's
//! errors use HTTP statuses: 413 over the body limit, 503 while loading or when the queue is
//! full, 404 and 405 for other paths and methods. SIGTERM (or the caller's shutdown signal)
//! stops accepting and lets requests in flight finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode as Http, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::oneshot;

use crate::codes::{RequestError, StatusCode};
use crate::predictor::{Predictor, Timings};
use crate::response::Response;
use crate::served_model::ServedModel;

/// SageMaker's limit on a real-time request body.
pub const DEFAULT_BODY_LIMIT: usize = 6 * 1024 * 1024;
/// SageMaker's limit on an invocation.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub addr: SocketAddr,
    /// Workers, each with its own plugin instance.
    pub workers: usize,
    /// Requests that may wait for a worker; more get 503.
    pub queue: usize,
    pub body_limit: usize,
    pub deadline: Duration,
    /// One `gs::access` log line per request (a benchmark turns it off).
    pub access_log: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            workers,
            queue: 4 * workers,
            body_limit: DEFAULT_BODY_LIMIT,
            deadline: DEFAULT_DEADLINE,
            access_log: true,
        }
    }
}

struct Job {
    body: Bytes,
    enqueued: Instant,
    reply: oneshot::Sender<(Response, Timings)>,
}

struct AppState {
    ready: AtomicBool,
    jobs: OnceLock<SyncSender<Job>>,
    deadline: Duration,
    access_log: bool,
}

/// Serves until `shutdown` resolves or SIGTERM arrives: binds first (so `/ping` answers 503
/// while loading), then `load`s the model on a worker thread and starts the pool. The bound
/// address goes to `on_bound` (port 0 picks a free one). A model that fails to load stops the
/// server with the error.
pub async fn serve(
    load: impl FnOnce() -> anyhow::Result<ServedModel> + Send + 'static,
    options: ServerOptions,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
    on_bound(addr);
    tracing::info!("gs serve listening on http://{addr} (GET /ping, POST /invocations)");
    let state = Arc::new(AppState {
        ready: AtomicBool::new(false),
        jobs: OnceLock::new(),
        deadline: options.deadline,
        access_log: options.access_log,
    });
    let app = Router::new()
        .route("/ping", get(ping))
        .route("/invocations", post(invocations))
        .layer(DefaultBodyLimit::max(options.body_limit))
        .with_state(state.clone());
    let (failed_tx, failed_rx) = oneshot::channel::<anyhow::Error>();
    let loader = state.clone();
    std::thread::spawn(move || {
        if let Err(e) = start_workers(load, &options, &loader) {
            let _ = failed_tx.send(e);
        }
    });
    let load_failed = Arc::new(Mutex::new(None));
    let failure = load_failed.clone();
    let stop = async move {
        tokio::select! {
            () = shutdown => {}
            () = sigterm() => tracing::info!("SIGTERM: finishing the requests in flight"),
            Ok(e) = failed_rx => { *failure.lock().expect("not poisoned") = Some(e); }
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await?;
    match load_failed.lock().expect("not poisoned").take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn sigterm() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut s) = signal(SignalKind::terminate()) {
            s.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await;
}

/// Loads the model, builds one predictor per worker, then opens the queue.
fn start_workers(
    load: impl FnOnce() -> anyhow::Result<ServedModel>,
    options: &ServerOptions,
    state: &AppState,
) -> anyhow::Result<()> {
    let started = Instant::now();
    // One torch thread per worker: the pool parallelises across requests.
    gs_tensor::tch::set_num_threads(1);
    let served = Arc::new(load()?);
    let (tx, rx) = sync_channel::<Job>(options.queue);
    let rx = Arc::new(Mutex::new(rx));
    let mut ready = Vec::new();
    for w in 0..options.workers.max(1) {
        let (served, rx) = (served.clone(), rx.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        ready.push(ready_rx);
        let deadline = options.deadline;
        std::thread::Builder::new()
            .name(format!("gs-serve-{w}"))
            .spawn(move || match Predictor::new(served) {
                Ok(predictor) => {
                    let _ = ready_tx.send(Ok(()));
                    work(predictor, &rx, deadline);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })?;
    }
    for r in ready {
        r.recv()??;
    }
    let _ = state.jobs.set(tx);
    state.ready.store(true, Ordering::SeqCst);
    tracing::info!(
        "model `{}` ({}) ready in {:.1} s with {} worker(s)",
        served.checkpoint_dir().display(),
        served.task().name(),
        started.elapsed().as_secs_f64(),
        options.workers.max(1)
    );
    Ok(())
}

/// A worker: answers jobs until the queue closes; a job whose caller gave up is skipped.
fn work(mut predictor: Predictor, jobs: &Mutex<Receiver<Job>>, deadline: Duration) {
    loop {
        let job = match jobs.lock().expect("not poisoned").recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        if job.enqueued.elapsed() > deadline || job.reply.is_closed() {
            continue;
        }
        let answer = predictor.respond(&job.body);
        let _ = job.reply.send(answer);
    }
}

async fn ping(State(state): State<Arc<AppState>>) -> Http {
    if state.ready.load(Ordering::SeqCst) {
        Http::OK
    } else {
        Http::SERVICE_UNAVAILABLE
    }
}

fn json_body(status: Http, body: Vec<u8>) -> axum::response::Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn invocations(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let start = Instant::now();
    let Some(jobs) = state.jobs.get() else {
        return unavailable(&state, "the model is still loading");
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        let error = RequestError::new(
            StatusCode::BadRequest,
            format!("the content type is `{content_type}`; send `application/json`"),
        );
        return answer(
            &state,
            Response::failure(&body, &error),
            Timings::default(),
            start,
        );
    }
    let (reply, answer_rx) = oneshot::channel();
    let job = Job {
        body: body.clone(),
        enqueued: Instant::now(),
        reply,
    };
    match jobs.try_send(job) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return unavailable(&state, "every worker is busy and the queue is full");
        }
        Err(TrySendError::Disconnected(_)) => {
            return unavailable(&state, "the server is shutting down");
        }
    }
    match tokio::time::timeout(state.deadline, answer_rx).await {
        Ok(Ok((response, timings))) => answer(&state, response, timings, start),
        Ok(Err(_)) => {
            let error = RequestError::new(
                StatusCode::Internal,
                "Internal Server Error: the worker stopped",
            );
            answer(
                &state,
                Response::failure(&body, &error),
                Timings::default(),
                start,
            )
        }
        Err(_) => {
            let error = RequestError::new(
                StatusCode::Internal,
                format!(
                    "Internal Server Error: the request exceeded the invocation deadline of {:.0} s",
                    state.deadline.as_secs_f64()
                ),
            );
            answer(
                &state,
                Response::failure(&body, &error),
                Timings::default(),
                start,
            )
        }
    }
}

fn unavailable(state: &AppState, why: &str) -> axum::response::Response {
    if state.access_log {
        tracing::warn!(target: "gs::access", "POST /invocations 503: {why}");
    }
    (Http::SERVICE_UNAVAILABLE, why.to_string()).into_response()
}

/// The HTTP answer to a request that reached the model, logged with its latency.
fn answer(
    state: &AppState,
    response: Response,
    timings: Timings,
    start: Instant,
) -> axum::response::Response {
    if !state.access_log {
        return json_body(Http::OK, response.to_json());
    }
    tracing::info!(
        target: "gs::access",
        request_uid = %response.request_uid,
        status_code = response.status_code,
        latency_us = start.elapsed().as_micros() as u64,
        parse_us = timings.parse.as_micros() as u64,
        transform_us = timings.transform.as_micros() as u64,
        forward_us = timings.forward.as_micros() as u64,
        serialize_us = timings.serialize.as_micros() as u64,
        "POST /invocations"
    );
    json_body(Http::OK, response.to_json())
}

/// [`serve`] on a runtime of its own (two threads carry HTTP; the model runs on the workers),
/// until SIGTERM.
pub fn serve_blocking(
    load: impl FnOnce() -> anyhow::Result<ServedModel> + Send + 'static,
    options: ServerOptions,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("gs-http")
        .enable_all()
        .build()?;
    runtime.block_on(serve(load, options, |_| {}, std::future::pending()))
}
