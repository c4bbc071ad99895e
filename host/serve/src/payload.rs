//! GraphStorm's `gs-realtime-v0.1` request: the payload's subgraph (`graph.nodes`,
//! `graph.edges`, with raw feature values) and its `targets`, parsed and checked field by
//! field. Node ids are strings; a JSON integer id is read as its decimal text.

use gs_config::TaskType;
use serde_json::{Map, Value};

use crate::codes::{RequestError, StatusCode};
use crate::raw_value::RawValue;

/// The only payload version there is.
pub const PAYLOAD_VERSION: &str = "gs-realtime-v0.1";

/// A node's or an edge's raw feature values by name.
pub type Features = std::collections::BTreeMap<String, RawValue>;

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
    pub features: Features,
}

/// An edge of `graph.edges`.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadEdge {
    pub edge_type: [String; 3],
    pub src: String,
    pub dst: String,
    pub features: Features,
}

/// What to predict.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Node tasks: `{node_type, node_id}`.
    Nodes(Vec<(String, String)>),
    /// Edge tasks and link prediction: `{edge_type, src_node_id, dest_node_id}`.
    Edges(Vec<([String; 3], String, String)>),
}

/// Where a value is in the payload, formatted only for an error: `graph.nodes[3]`, `graph`,
/// or the top level.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'a> {
    list: &'a str,
    index: Option<usize>,
}

const TOP: At<'static> = At {
    list: "",
    index: None,
};
const BODY: At<'static> = At {
    list: "(the body)",
    index: None,
};
const GRAPH: At<'static> = At {
    list: "graph",
    index: None,
};

impl<'a> At<'a> {
    fn item(list: &'a str, index: usize) -> Self {
        Self {
            list,
            index: Some(index),
        }
    }

    /// The path of `key` inside this place.
    fn field(self, key: &str) -> String {
        match (self.list, self.index) {
            ("", _) => key.to_string(),
            (list, None) => format!("{list}.{key}"),
            (list, Some(i)) => format!("{list}[{i}].{key}"),
        }
    }
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "{}[{i}]", self.list),
            None => f.write_str(self.list),
        }
    }
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
fn required<'a>(obj: &'a Map<String, Value>, at: At, key: &str) -> Result<&'a Value, RequestError> {
    match obj.get(key) {
        None => Err(RequestError::missing(&at.field(key))),
        Some(Value::Null) => Err(RequestError::new(
            StatusCode::MissingValue,
            format!("Missing Data in Field: `{}` is null", at.field(key)),
        )),
        Some(v) => Ok(v),
    }
}

fn string(obj: &Map<String, Value>, at: At, key: &str) -> Result<String, RequestError> {
    match required(obj, at, key)? {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::String(_) => Err(RequestError::new(
            StatusCode::MissingValue,
            format!("Missing Data in Field: `{}` is empty", at.field(key)),
        )),
        v => Err(bad_type(&at.field(key), "a string", v)),
    }
}

/// A node id: a string, or an integer read as its decimal text.
fn node_id(obj: &Map<String, Value>, at: At, key: &str) -> Result<String, RequestError> {
    match required(obj, at, key)? {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        v => Err(bad_type(&at.field(key), "a string or an integer", v)),
    }
}

fn edge_type(obj: &Map<String, Value>, at: At) -> Result<[String; 3], RequestError> {
    let v = required(obj, at, "edge_type")?;
    let part = |k: usize| v.get(k).and_then(Value::as_str).map(str::to_string);
    match (v.as_array().map(Vec::len), part(0), part(1), part(2)) {
        (Some(3), Some(s), Some(r), Some(d)) => Ok([s, r, d]),
        _ => Err(bad_type(
            &at.field("edge_type"),
            "a list of three strings [src_type, relation, dst_type]",
            v,
        )),
    }
}

/// The `features` object, moved out of `obj` (feature lists are the bulk of a payload).
fn features(obj: &mut Map<String, Value>, at: At) -> Result<Features, RequestError> {
    match obj.get_mut("features") {
        None | Some(Value::Null) => Ok(Features::new()),
        Some(Value::Object(m)) => Ok(std::mem::take(m)
            .into_iter()
            .map(|(k, v)| (k, RawValue::from_value(v)))
            .collect()),
        Some(v) => Err(bad_type(
            &at.field("features"),
            "an object of feature values",
            v,
        )),
    }
}

fn list<'a>(obj: &'a Map<String, Value>, at: At, key: &str) -> Result<&'a [Value], RequestError> {
    match required(obj, at, key)? {
        Value::Array(a) => Ok(a),
        v => Err(bad_type(&at.field(key), "a list", v)),
    }
}

fn object<'a>(v: &'a Value, at: At) -> Result<&'a Map<String, Value>, RequestError> {
    v.as_object()
        .ok_or_else(|| bad_type(&at.to_string(), "an object", v))
}

fn object_mut<'a>(v: &'a mut Value, at: At) -> Result<&'a mut Map<String, Value>, RequestError> {
    if !v.is_object() {
        return Err(bad_type(&at.to_string(), "an object", v));
    }
    Ok(v.as_object_mut().expect("an object"))
}

/// Parses a request body; with `expected`, a `gml_task` other than the model's is refused
/// (421) before the targets are read.
///
/// A well-formed payload is read straight into its types ([`crate::wire`]); any other body
/// is read again as a JSON tree, field by field, for the error that names what is wrong.
pub fn parse_payload(body: &[u8], expected: Option<TaskType>) -> Result<Payload, RequestError> {
    if let Some(payload) = crate::wire::parse_well_formed(body, expected) {
        return Ok(payload);
    }
    parse_checked(body, expected)
}

/// [`parse_payload`] field by field, with the error of the first field that is wrong.
pub(crate) fn parse_checked(
    body: &[u8],
    expected: Option<TaskType>,
) -> Result<Payload, RequestError> {
    let mut value: Value = serde_json::from_slice(body).map_err(|e| {
        RequestError::new(
            StatusCode::BadRequest,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let top = object(&value, BODY)?;
    let version = string(top, TOP, "version")?;
    if version != PAYLOAD_VERSION {
        return Err(RequestError::new(
            StatusCode::BadRequest,
            format!("`version` is `{version}`; this server reads `{PAYLOAD_VERSION}`"),
        ));
    }
    let task_name = string(top, TOP, "gml_task")?;
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
    let graph = object(required(top, TOP, "graph")?, GRAPH)?;
    if list(graph, GRAPH, "nodes")?.is_empty() {
        return Err(RequestError::new(
            StatusCode::MissingValue,
            "Missing Data in Field: `graph.nodes` is empty",
        ));
    }
    list(graph, GRAPH, "edges")?;
    let mut graph = value["graph"].take();
    let mut nodes = Vec::new();
    for (i, v) in graph["nodes"]
        .as_array_mut()
        .expect("checked")
        .iter_mut()
        .enumerate()
    {
        let at = At::item("graph.nodes", i);
        let n = object_mut(v, at)?;
        nodes.push(PayloadNode {
            node_type: string(n, at, "node_type")?,
            node_id: node_id(n, at, "node_id")?,
            features: features(n, at)?,
        });
    }
    let mut edges = Vec::new();
    for (i, v) in graph["edges"]
        .as_array_mut()
        .expect("checked")
        .iter_mut()
        .enumerate()
    {
        let at = At::item("graph.edges", i);
        let e = object_mut(v, at)?;
        edges.push(PayloadEdge {
            edge_type: edge_type(e, at)?,
            src: node_id(e, at, "src_node_id")?,
            dst: node_id(e, at, "dest_node_id")?,
            features: features(e, at)?,
        });
    }
    let top = object(&value, BODY)?;
    let target_values = list(top, TOP, "targets")?;
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
            let at = At::item("targets", i);
            let t = object(v, at)?;
            out.push((
                edge_type(t, at)?,
                node_id(t, at, "src_node_id")?,
                node_id(t, at, "dest_node_id")?,
            ));
        }
        Targets::Edges(out)
    } else {
        let mut out = Vec::with_capacity(target_values.len());
        for (i, v) in target_values.iter().enumerate() {
            let at = At::item("targets", i);
            let t = object(v, at)?;
            out.push((string(t, at, "node_type")?, node_id(t, at, "node_id")?));
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

    /// The fast path accepts only what the checked path accepts, with the same result.
    #[test]
    fn the_fast_path_agrees_with_the_checked_path() {
        let base = r#"{"version":"gs-realtime-v0.1","gml_task":"edge_regression","extra":1,
            "graph":{"nodes":[{"node_type":"u","node_id":7,"features":{"f":[1.5,2],"c":"x"}},
                              {"node_type":"i","node_id":"i\u0031"}],
                     "edges":[{"edge_type":["u","r","i"],"src_node_id":7,"dest_node_id":"i1",
                               "features":{"w":0.5}}]},
            "targets":[{"edge_type":["u","r","i"],"src_node_id":"7","dest_node_id":"i1"}]}"#;
        let variants = [
            base.to_string(),
            base.replace(r#""node_id":7"#, r#""node_id":7.5"#),
            base.replace(r#""features":{"w":0.5}"#, r#""features":null"#),
            base.replace(r#""node_type":"u""#, r#""node_type":"""#),
            base.replace("edge_regression", "node_regression"),
            base.replace(
                r#""targets":[{"#,
                r#""targets":[{"node_type":"u","node_id":7,"#,
            ),
            base.replace(r#""edges":[{"#, r#""edges":[{"edge_type":["u","r"],"#),
            base.replace("gs-realtime-v0.1", "gs-realtime-v0.2"),
        ];
        let mut fast = 0;
        for body in &variants {
            let checked = parse_checked(body.as_bytes(), None);
            if let Some(p) = crate::wire::parse_well_formed(body.as_bytes(), None) {
                assert_eq!(checked.as_ref(), Ok(&p), "{body}");
                fast += 1;
            }
        }
        assert_eq!(
            fast, 2,
            "the base and the extra target keys take the fast path"
        );
        let p = parse_payload(variants[0].as_bytes(), None).unwrap();
        assert_eq!(p.nodes[1].node_id, "i1");
        assert_eq!(p.nodes[0].node_id, "7");
    }
}
