//! One worker's model: the plugin instantiated from the served model, its weights loaded, and
//! the prediction of one payload for each of the five tasks.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gs_batch::Mode;
use gs_config::TaskType;
use gs_gconstruct::TransformTarget;
use gs_graph::{EdgeType, NodeId};
use gs_tensor::{Kind, Tensor, tch};
use gs_train::serving::{candidate_scores, load_serving_weights, serving_model, subgraph_batch};
use gs_train::{PreparedBatch, TargetEdges, TaskModel};
use serde_json::{Value, json};

use crate::codes::{RequestError, StatusCode};
use crate::features::feature_rows;
use crate::payload::{Payload, Targets, parse_payload};
use crate::response::Response;
use crate::served_model::ServedModel;
use crate::subgraph::{self, Subgraph, edge_values, etype_text, target_node};

/// Where one request's time went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Reading the JSON body into a payload.
    pub parse: Duration,
    /// The subgraph: nodes, edges, transforms, learnable embeddings, blocks.
    pub transform: Duration,
    /// The model's forward and decoder.
    pub forward: Duration,
    /// Writing the response.
    pub serialize: Duration,
}

/// A worker's model.
pub struct Predictor {
    served: Arc<ServedModel>,
    model: TaskModel,
}

impl Predictor {
    /// A fresh plugin instance of `served`, initialised as in training, with its weights.
    pub fn new(served: Arc<ServedModel>) -> anyhow::Result<Self> {
        let model = build_model(&served)?;
        Ok(Self { served, model })
    }

    /// The native GraphSAGE oracle in place of the plugin of a `sage` model, with the same
    /// weights (`gs bench serve` compares the two).
    pub fn native(served: Arc<ServedModel>) -> anyhow::Result<Self> {
        let mut model = gs_train::serving::serving_native_model(
            &served.record,
            &served.resolved.train,
            served.device,
        )?;
        load_serving_weights(&mut model, &served.checkpoint.0.weights)?;
        Ok(Self { served, model })
    }

    /// Guest→host calls the plugin has made so far (`None` for the native oracle).
    pub fn host_calls(&self) -> Option<u64> {
        match self.model.encoder() {
            gs_train::Encoder::Plugin(p) => Some(p.host_calls()),
            gs_train::Encoder::Native { .. } => None,
        }
    }

    pub fn served(&self) -> &ServedModel {
        &self.served
    }

    /// The response to a request body, and where its time went.
    pub fn respond(&mut self, body: &[u8]) -> (Response, Timings) {
        let mut timings = Timings::default();
        let start = Instant::now();
        let parsed = parse_payload(body, Some(self.served.task()));
        timings.parse = start.elapsed();
        let result = parsed.and_then(|p| self.predict_timed(&p, &mut timings));
        let start = Instant::now();
        let response = match result {
            Ok((results, message)) => Response::success(body, results, message),
            Err(e) => Response::failure(body, &e),
        };
        timings.serialize = start.elapsed();
        (response, timings)
    }

    /// The results of `payload`, one per target, and the response's message.
    pub fn predict(&mut self, payload: &Payload) -> Result<(Vec<Value>, String), RequestError> {
        self.predict_timed(payload, &mut Timings::default())
    }

    fn predict_timed(
        &mut self,
        payload: &Payload,
        timings: &mut Timings,
    ) -> Result<(Vec<Value>, String), RequestError> {
        let task = self.served.task();
        if payload.task != task {
            return Err(crate::payload::task_mismatch(payload.task, task));
        }
        let start = Instant::now();
        let sub = subgraph::build(&self.served, payload)?;
        timings.transform = start.elapsed();
        let start = Instant::now();
        let _guard = tch::no_grad_guard();
        let results = match (&payload.targets, task) {
            (Targets::Nodes(targets), _) => self.node_results(&sub, targets),
            (Targets::Edges(targets), TaskType::LinkPrediction) => self.link_results(&sub, targets),
            (Targets::Edges(targets), _) => self.edge_results(&sub, payload, targets),
        };
        timings.forward = start.elapsed();
        let results = results.map_err(|e| {
            if e.status == StatusCode::Internal && self.host_calls().is_some() {
                // A trapped plugin's instance is not reused.
                self.rebuild();
            }
            e
        })?;
        let mut message = "Request processed successfully.".to_string();
        if !self.served.learnable.0.is_empty() {
            message.push_str(&format!(
                " {} unseen node(s) without `gs_learnable_embedding` got embeddings by policy \
                 `{}` (--unseen-node-embedding).",
                sub.unseen,
                self.served.options.unseen_node_embedding.name()
            ));
        }
        Ok((results, message))
    }

    fn rebuild(&mut self) {
        match build_model(&self.served) {
            Ok(model) => self.model = model,
            Err(e) => tracing::error!("cannot rebuild the model after a failed request: {e:#}"),
        }
    }

    fn node_results(
        &mut self,
        sub: &Subgraph,
        targets: &[(String, String)],
    ) -> Result<Vec<Value>, RequestError> {
        let config = &self.served.resolved.train;
        let ntype = &config.target_ntype;
        let mut outputs = OutputNodes::default();
        let mut rows = Vec::with_capacity(targets.len());
        for (i, (t, id)) in targets.iter().enumerate() {
            let at = format!("targets[{i}]");
            if self.served.record.node_type(t).is_none() || t != ntype {
                return Err(RequestError::new(
                    StatusCode::UnknownType,
                    format!("`{at}.node_type` is `{t}`; the model predicts `{ntype}` nodes"),
                ));
            }
            rows.push(outputs.add(t, target_node(sub, t, id, &at)?));
        }
        let batch = subgraph_batch(
            &sub.graph,
            self.served.node_features.clone(),
            config,
            &outputs.nodes,
            ntype,
        )
        .map_err(model_error)?;
        let out = self
            .model
            .outputs(&batch, Mode::Predict)
            .map_err(model_error)?;
        let values = rows_of(&out)?;
        Ok(targets
            .iter()
            .zip(rows)
            .map(|((t, id), r)| json!({"node_type": t, "node_id": id, "prediction": values[r as usize]}))
            .collect())
    }

    fn edge_results(
        &mut self,
        sub: &Subgraph,
        payload: &Payload,
        targets: &[([String; 3], String, String)],
    ) -> Result<Vec<Value>, RequestError> {
        let config = &self.served.resolved.train;
        let etype = model_target_etype(&self.served)?;
        let want = [etype.src.clone(), etype.rel.clone(), etype.dst.clone()];
        let mut outputs = OutputNodes::default();
        let (mut src, mut dst) = (Vec::new(), Vec::new());
        for (i, (t, s, d)) in targets.iter().enumerate() {
            let at = format!("targets[{i}]");
            if *t != want {
                return Err(RequestError::new(
                    StatusCode::UnknownType,
                    format!(
                        "`{at}.edge_type` is `{}`; the model predicts `{}` edges",
                        etype_text(t),
                        etype
                    ),
                ));
            }
            src.push(outputs.add(
                &t[0],
                target_node(sub, &t[0], s, &format!("{at}.src_node_id"))?,
            ));
            dst.push(outputs.add(
                &t[2],
                target_node(sub, &t[2], d, &format!("{at}.dest_node_id"))?,
            ));
        }
        let data = subgraph_batch(
            &sub.graph,
            self.served.node_features.clone(),
            config,
            &outputs.nodes,
            &etype.dst,
        )
        .map_err(model_error)?;
        let batch = PreparedBatch {
            data,
            seeds: vec![],
            labels: None,
            edges: Some(TargetEdges {
                src_type: etype.src.clone(),
                rel: etype.rel.clone(),
                dst_type: etype.dst.clone(),
                src: Tensor::from_slice(&src),
                dst: Tensor::from_slice(&dst),
                features: decoder_features(&self.served, payload, targets)?,
            }),
            pairs: None,
        };
        let out = self
            .model
            .batch_outputs(&batch, Mode::Predict)
            .map_err(model_error)?;
        let values = rows_of(&out)?;
        Ok(edge_results(targets, values))
    }

    fn link_results(
        &mut self,
        sub: &Subgraph,
        targets: &[([String; 3], String, String)],
    ) -> Result<Vec<Value>, RequestError> {
        let config = &self.served.resolved.train;
        let mut outputs = OutputNodes::default();
        // Per edge type: the targets' positions and their local endpoints.
        let mut by_etype: BTreeMap<[String; 3], (Vec<usize>, Vec<i64>, Vec<i64>)> = BTreeMap::new();
        for (i, (t, s, d)) in targets.iter().enumerate() {
            let at = format!("targets[{i}]");
            if !self.served.record.edge_types.iter().any(|e| e.etype == *t) {
                return Err(RequestError::new(
                    StatusCode::UnknownType,
                    format!(
                        "`{at}.edge_type` is `{}`, which the model does not know",
                        etype_text(t)
                    ),
                ));
            }
            let ls = outputs.add(
                &t[0],
                target_node(sub, &t[0], s, &format!("{at}.src_node_id"))?,
            );
            let ld = outputs.add(
                &t[2],
                target_node(sub, &t[2], d, &format!("{at}.dest_node_id"))?,
            );
            let entry = by_etype.entry(t.clone()).or_default();
            entry.0.push(i);
            entry.1.push(ls);
            entry.2.push(ld);
        }
        let first = targets[0].0[2].clone();
        let batch = subgraph_batch(
            &sub.graph,
            self.served.node_features.clone(),
            config,
            &outputs.nodes,
            &first,
        )
        .map_err(model_error)?;
        let mut scores = vec![0f32; targets.len()];
        for (t, (positions, src, dst)) in &by_etype {
            let etype = EdgeType::new(&t[0], &t[1], &t[2]);
            let got = candidate_scores(&mut self.model, config, &batch, &etype, src, dst)
                .map_err(model_error)?;
            for (&p, s) in positions.iter().zip(got) {
                scores[p] = s;
            }
        }
        if let Some(k) = scores.iter().position(|s| !s.is_finite()) {
            return Err(non_finite(k));
        }
        Ok(edge_results(
            targets,
            scores.into_iter().map(|s| vec![s]).collect(),
        ))
    }
}

/// The target edges' own features for the host's `MLPEFeatEdgeDecoder` (`decoder_edge_feat`),
/// `[targets, width]`: read from each target's edge in `graph.edges` (the first with the same
/// type and endpoints) through the fitted transforms; `None` when the model reads none.
fn decoder_features(
    served: &ServedModel,
    payload: &Payload,
    targets: &[([String; 3], String, String)],
) -> Result<Option<Tensor>, RequestError> {
    let wanted = &served.record.decoder_edge_features;
    if wanted.is_empty() {
        return Ok(None);
    }
    let mut edge_of: HashMap<(&[String; 3], &str, &str), usize> = HashMap::new();
    for (j, e) in payload.edges.iter().enumerate().rev() {
        edge_of.insert((&e.edge_type, e.src.as_str(), e.dst.as_str()), j);
    }
    let mut rows = Vec::with_capacity(targets.len());
    for (i, (t, s, d)) in targets.iter().enumerate() {
        let j = edge_of
            .get(&(t, s.as_str(), d.as_str()))
            .copied()
            .ok_or_else(|| {
                RequestError::new(
                    StatusCode::NotFound,
                    format!(
                        "`targets[{i}]` (`{s}` -> `{d}`) has no edge in `graph.edges`, whose \
                     features the model's decoder reads (decoder_edge_feat {:?}); send the \
                     target edge in graph.edges with them",
                        wanted.iter().map(|f| &f.name).collect::<Vec<_>>()
                    ),
                )
            })?;
        rows.push(j);
    }
    let etype = targets[0].0.clone();
    let mut columns = Vec::with_capacity(wanted.len());
    for f in wanted {
        let values = edge_values(
            payload,
            rows.iter().copied(),
            &f.name,
            "the model's decoder",
        )?;
        let target = TransformTarget::Edge(etype.clone());
        let data = feature_rows(
            served.transform(&target, &f.name),
            &target,
            &f.name,
            f.width,
            &values,
        )?;
        columns.push(Tensor::from_slice(&data).reshape([rows.len() as i64, f.width as i64]));
    }
    Ok(Some(Tensor::cat(&columns, 1)))
}

fn build_model(served: &ServedModel) -> anyhow::Result<TaskModel> {
    let instance = gs_pipeline::instantiate(&served.plugin, &served.resolved, served.device)?;
    let mut model = serving_model(
        &served.record,
        &served.resolved.train,
        instance,
        served.device,
    )?;
    load_serving_weights(&mut model, &served.checkpoint.0.weights)?;
    Ok(model)
}

/// The edge type an edge task predicts.
fn model_target_etype(served: &ServedModel) -> Result<EdgeType, RequestError> {
    let text = served
        .resolved
        .train
        .target_etype
        .clone()
        .unwrap_or_default();
    match text
        .split(',')
        .map(str::trim)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [s, r, d] => Ok(EdgeType::new(*s, *r, *d)),
        _ => Err(RequestError::new(
            StatusCode::Internal,
            format!("the model's `target_etype` is `{text}`"),
        )),
    }
}

fn edge_results(targets: &[([String; 3], String, String)], values: Vec<Vec<f32>>) -> Vec<Value> {
    targets
        .iter()
        .zip(values)
        .map(|((t, s, d), p)| {
            json!({"edge_type": t, "src_node_id": s, "dest_node_id": d, "prediction": p})
        })
        .collect()
}

/// The last layer's destination nodes per node type, each once, in order of first appearance.
#[derive(Default)]
struct OutputNodes {
    nodes: BTreeMap<String, Vec<NodeId>>,
    index: HashMap<(String, NodeId), i64>,
}

impl OutputNodes {
    /// The row of node `id` of `ntype` among the output nodes of its type.
    fn add(&mut self, ntype: &str, id: NodeId) -> i64 {
        let list = self.nodes.entry(ntype.to_string()).or_default();
        *self
            .index
            .entry((ntype.to_string(), id))
            .or_insert_with(|| {
                list.push(id);
                list.len() as i64 - 1
            })
    }
}

fn model_error(e: impl std::fmt::Display) -> RequestError {
    RequestError::new(
        StatusCode::Internal,
        format!("Internal Server Error: the model failed on this request: {e}"),
    )
}

fn non_finite(k: usize) -> RequestError {
    RequestError::new(
        StatusCode::Internal,
        format!("Internal Server Error: the model answered NaN or infinity for targets[{k}]"),
    )
}

/// The rows of a `[n, width]` output, checked finite.
fn rows_of(out: &Tensor) -> Result<Vec<Vec<f32>>, RequestError> {
    let out = out.to_device(gs_tensor::Device::Cpu).to_kind(Kind::Float);
    let size = out.size();
    let (n, width) = match size.as_slice() {
        [n] => (*n as usize, 1),
        [n, w] => (*n as usize, *w as usize),
        _ => return Err(model_error(format!("outputs of shape {size:?}"))),
    };
    let flat = Vec::<f32>::try_from(out.flatten(0, -1)).map_err(model_error)?;
    if let Some(k) = flat.iter().position(|x| !x.is_finite()) {
        return Err(non_finite(k / width.max(1)));
    }
    Ok((0..n)
        .map(|i| flat[i * width..(i + 1) * width].to_vec())
        .collect())
}
