//! gs-serve: real-time inference. It owns GraphStorm's `gs-realtime-v0.1` payload (a small
//! subgraph with raw feature values and its targets) and response, the model a server holds
//! (a checkpoint rebuilt through `serving.json`, the fitted feature transforms of
//! `data_transform_new.json`, the learnable embeddings by raw id), the prediction of one
//! payload for all five tasks, and the HTTP server with SageMaker's hosting contract
//! (`GET /ping`, `POST /invocations`, port 8080, `/opt/ml/model`).
//!
//! A request's subgraph becomes a graph of its own on which the model runs full-neighbour
//! inference, as GraphStorm's real-time endpoint does: the client samples, the server
//! predicts. Every answer a request gets is a [`Response`] with GraphStorm's status codes in
//! its body; the HTTP status says only whether the request reached the model.

mod codes;
mod export;
mod features;
mod model_dir;
mod payload;
mod predictor;
mod raw_value;
mod response;
mod served_model;
mod server;
mod subgraph;
mod transforms;
mod wire;

pub use codes::{RequestError, StatusCode};
pub use export::export;
pub use model_dir::{ModelDir, SAGEMAKER_ROOT_ENV, resolve_model_dir};
pub use payload::{Features, PAYLOAD_VERSION, Payload, Targets, parse_payload};
pub use predictor::{Predictor, Timings};
pub use raw_value::RawValue;
pub use response::{Response, request_uid};
pub use served_model::{ServeOptions, ServedModel, UnseenNodeEmbedding};
pub use server::{DEFAULT_BODY_LIMIT, DEFAULT_DEADLINE, ServerOptions, serve, serve_blocking};
pub use subgraph::LEARNABLE_FEATURE;
