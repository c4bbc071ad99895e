//! GraphStorm's `gs-realtime-v0.1` request: the payload's subgraph (`graph.nodes`,
//! `graph.edges`, with raw feature values) and its `targets`, parsed and checked field by
//! field. Node ids are strings; a JSON integer id is read as its decimal text.

use gs_config::TaskType;
use serde_json::{Map, Value};

use crate::codes::{RequestError, StatusCode};

/// The only payload version there is.
pub const PAYLOAD_VERSION: &str = "gs-realtime-v0.1";

/// A parsed request.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub task: TaskType,
    pub nodes: Vec<PayloadNode>,
    pub edges: Vec<PayloadEdge>,
    pub targets: Targets,
}

/// A node of `graph.nodes`.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadNode {
    pub node_type: String,
    pub node_id: String,
    /// Feature name to raw value (`gs_learnable_embedding` included).
    pub features: Map<String, Value>,
}

/// An edge of `graph.edges`.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadEdge {
    pub edge_type: [String; 3],
    pub src: String,
    pub dst: String,
    pub features: Map<String, Value>,
}

/// What to predict.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Node tasks: `{node_type, node_id}`.
    Nodes(Vec<(String, String)>),
    /// Edge tasks and link prediction: `{edge_type, src_node_id, dest_node_id}`.
    Edges(Vec<([String; 3], String, String)>),
}

fn bad_type(field: &str, expected: &str, got: &Value) -> RequestError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    RequestError::new(
        StatusCode::BadRequest,
        format!("`{field}` must be {expected}, got {kind}"),
    )
}

/// `obj[key]`, present and not null.
fn required<'a>(
    obj: &'a Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<&'a Value, RequestError> {
    let field = if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    };
    match obj.get(key) {
        None => Err(RequestError::missing(&field)),
        Some(Value::Null) => Err(RequestError::new(
            StatusCode::MissingValue,
            format!("Missing Data in Field: `{field}` is null"),
        )),
        Some(v) => Ok(v),
    }
}

fn string(obj: &Map<String, Value>, at: &str, key: &str) -> Result<String, RequestError> {
    match required(obj, at, key)? {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::String(_) => Err(RequestError::new(
            StatusCode::MissingValue,
            format!("Missing Data in Field: `{at}.{key}` is empty"),
        )),
        v => Err(bad_type(&format!("{at}.{key}"), "a string", v)),
    }
}

/// A node id: a string, or an integer read as its decimal text.
fn node_id(obj: &Map<String, Value>, at: &str, key: &str) -> Result<String, RequestError> {
    match required(obj, at, key)? {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        v => Err(bad_type(
            &format!("{at}.{key}"),
            "a string or an integer",
            v,
        )),
    }
}

fn edge_type(obj: &Map<String, Value>, at: &str) -> Result<[String; 3], RequestError> {
    let field = format!("{at}.edge_type");
    let v = required(obj, at, "edge_type")?;
    let parts: Option<Vec<String>> = v
        .as_array()
        .filter(|a| a.len() == 3)
        .and_then(|a| a.iter().map(|p| p.as_str().map(str::to_string)).collect());
    match parts {
        Some(p) => Ok([p[0].clone(), p[1].clone(), p[2].clone()]),
        None => Err(bad_type(
            &field,
            "a list of three strings [src_type, relation, dst_type]",
            v,
        )),
    }
}

/// The `features` object, moved out of `obj` (feature lists are the bulk of a payload).
fn features(obj: &mut Map<String, Value>, at: &str) -> Result<Map<String, Value>, RequestError> {
    match obj.get_mut("features") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(std::mem::take(m)),
        Some(v) => Err(bad_type(
            &format!("{at}.features"),
            "an object of feature values",
            v,
        )),
    }
}

fn list<'a>(obj: &'a Map<String, Value>, at: &str, key: &str) -> Result<&'a [Value], RequestError> {
    let field = if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    };
    match required(obj, at, key)? {
        Value::Array(a) => Ok(a),
        v => Err(bad_type(&field, "a list", v)),
    }
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, RequestError> {
    v.as_object().ok_or_else(|| bad_type(field, "an object", v))
}

fn object_mut<'a>(
    v: &'a mut Value,
    field: &str,
) -> Result<&'a mut Map<String, Value>, RequestError> {
    if !v.is_object() {
        return Err(bad_type(field, "an object", v));
    }
    Ok(v.as_object_mut().expect("an object"))
}

/// Parses a request body; with `expected`, a `gml_task` other than the model's is refused
/// (421) before the targets are read.
pub fn parse_payload(body: &[u8], expected: Option<TaskType>) -> Result<Payload, RequestError> {
    let mut value: Value = serde_json::from_slice(body).map_err(|e| {
        RequestError::new(
            StatusCode::BadRequest,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let top = object(&value, "(the body)")?;
    let version = string(top, "", "version")?;
    if version != PAYLOAD_VERSION {
        return Err(RequestError::new(
            StatusCode::BadRequest,
            format!("`version` is `{version}`; this server reads `{PAYLOAD_VERSION}`"),
        ));
    }
    let task_name = string(top, "", "gml_task")?;
    let task = TaskType::from_name(&task_name).ok_or_else(|| {
        RequestError::new(
            StatusCode::TaskMismatch,
            format!(
                "Task Mismatch: `gml_task` is `{task_name}`; use node_classification, \
                 node_regression, edge_classification, edge_regression or link_prediction"
            ),
        )
    })?;
    if let Some(want) = expected
        && want != task
    {
        return Err(task_mismatch(task, want));
    }
    let graph = object(required(top, "", "graph")?, "graph")?;
    if list(graph, "graph", "nodes")?.is_empty() {
        return Err(RequestError::new(
            StatusCode::MissingValue,
            "Missing Data in Field: `graph.nodes` is empty",
        ));
    }
    list(graph, "graph", "edges")?;
    let mut graph = value["graph"].take();
    let mut nodes = Vec::new();
    for (i, v) in graph["nodes"]
        .as_array_mut()
        .expect("checked")
        .iter_mut()
        .enumerate()
    {
        let at = format!("graph.nodes[{i}]");
        let n = object_mut(v, &at)?;
        nodes.push(PayloadNode {
            node_type: string(n, &at, "node_type")?,
            node_id: node_id(n, &at, "node_id")?,
            features: features(n, &at)?,
        });
    }
    let mut edges = Vec::new();
    for (i, v) in graph["edges"]
        .as_array_mut()
        .expect("checked")
        .iter_mut()
        .enumerate()
    {
        let at = format!("graph.edges[{i}]");
        let e = object_mut(v, &at)?;
        edges.push(PayloadEdge {
            edge_type: edge_type(e, &at)?,
            src: node_id(e, &at, "src_node_id")?,
            dst: node_id(e, &at, "dest_node_id")?,
            features: features(e, &at)?,
        });
    }
    let top = object(&value, "(the body)")?;
    let target_values = list(top, "", "targets")?;
    if target_values.is_empty() {
        return Err(RequestError::new(
            StatusCode::MissingValue,
            "Missing Data in Field: `targets` is empty",
        ));
    }
    let edge_targets = task.is_edge_task() || task == TaskType::LinkPrediction;
    let targets = if edge_targets {
        let mut out = Vec::with_capacity(target_values.len());
        for (i, v) in target_values.iter().enumerate() {
            let at = format!("targets[{i}]");
            let t = object(v, &at)?;
            out.push((
                edge_type(t, &at)?,
                node_id(t, &at, "src_node_id")?,
                node_id(t, &at, "dest_node_id")?,
            ));
        }
        Targets::Edges(out)
    } else {
        let mut out = Vec::with_capacity(target_values.len());
        for (i, v) in target_values.iter().enumerate() {
            let at = format!("targets[{i}]");
            let t = object(v, &at)?;
            out.push((string(t, &at, "node_type")?, node_id(t, &at, "node_id")?));
        }
        Targets::Nodes(out)
    };
    Ok(Payload {
        task,
        nodes,
        edges,
        targets,
    })
}

/// 421: the payload's task is not the model's.
pub(crate) fn task_mismatch(got: TaskType, model: TaskType) -> RequestError {
    RequestError::new(
        StatusCode::TaskMismatch,
        format!(
            "Task Mismatch: the payload's `gml_task` is `{}`, and this endpoint serves a `{}` \
             model",
            got.name(),
            model.name()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> u16 {
        parse_payload(body.as_bytes(), None)
            .unwrap_err()
            .status
            .code()
    }

    #[test]
    fn every_malformed_field_gets_its_code_and_name() {
        assert_eq!(code("{"), 400);
        assert_eq!(code("[]"), 400);
        assert_eq!(code(r#"{"gml_task":"node_classification"}"#), 401);
        assert_eq!(code(r#"{"version":"v9","gml_task":"x"}"#), 400);
        let ok = r#"{"version":"gs-realtime-v0.1","gml_task":"node_classification",
            "graph":{"nodes":[{"node_type":"a","node_id":1}],"edges":[]},
            "targets":[{"node_type":"a","node_id":"1"}]}"#;
        let p = parse_payload(ok.as_bytes(), None).unwrap();
        assert_eq!(p.nodes[0].node_id, "1");
        assert_eq!(p.targets, Targets::Nodes(vec![("a".into(), "1".into())]));
        assert_eq!(
            code(&ok.replace("node_classification", "graph_classification")),
            421
        );
        assert_eq!(
            code(&ok.replace(
                r#""targets":[{"node_type":"a","node_id":"1"}]"#,
                r#""targets":[]"#
            )),
            402
        );
        assert_eq!(
            code(&ok.replace(
                r#""targets":[{"node_type":"a","node_id":"1"}]"#,
                r#""other":0"#
            )),
            401
        );
        let e = parse_payload(
            ok.replace(r#""node_id":1"#, r#""node_id":null"#).as_bytes(),
            None,
        )
        .unwrap_err();
        assert_eq!(e.status.code(), 402);
        assert!(
            e.message.contains("graph.nodes[0].node_id"),
            "{}",
            e.message
        );
        let e = parse_payload(
            ok.replace(
                r#""edges":[]"#,
                r#""edges":[{"edge_type":["a","r"],"src_node_id":"1","dest_node_id":"1"}]"#,
            )
            .as_bytes(),
            None,
        )
        .unwrap_err();
        assert_eq!(e.status.code(), 400);
        assert!(
            e.message.contains("graph.edges[0].edge_type"),
            "{}",
            e.message
        );
        let e = parse_payload(ok.as_bytes(), Some(TaskType::EdgeRegression)).unwrap_err();
        assert_eq!(
            e.status.code(),
            421,
            "the task is checked before the targets"
        );
    }
}
