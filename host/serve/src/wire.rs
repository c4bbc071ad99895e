//! The fast path of [`crate::parse_payload`]: a well-formed `gs-realtime-v0.1` body read
//! straight into typed structs (strings borrowed from the body where they have no escapes),
//! without building a JSON tree first. Anything it does not accept, it leaves to the checked
//! path, which finds the field to blame; so both paths accept exactly the same payloads.

use std::borrow::Cow;

use gs_config::TaskType;
use serde::{Deserialize, Deserializer};

use crate::payload::{Features, PAYLOAD_VERSION, Payload, PayloadEdge, PayloadNode, Targets};

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    version: Cow<'a, str>,
    #[serde(borrow)]
    gml_task: Cow<'a, str>,
    #[serde(borrow)]
    graph: WireGraph<'a>,
    #[serde(borrow)]
    targets: Vec<WireTarget<'a>>,
}

#[derive(Deserialize)]
struct WireGraph<'a> {
    #[serde(borrow)]
    nodes: Vec<WireNode<'a>>,
    #[serde(borrow)]
    edges: Vec<WireEdge<'a>>,
}

#[derive(Deserialize)]
struct WireNode<'a> {
    #[serde(borrow)]
    node_type: Cow<'a, str>,
    #[serde(deserialize_with = "node_id")]
    node_id: String,
    #[serde(default)]
    features: Features,
}

#[derive(Deserialize)]
struct WireEdge<'a> {
    #[serde(borrow)]
    edge_type: [Cow<'a, str>; 3],
    #[serde(deserialize_with = "node_id")]
    src_node_id: String,
    #[serde(deserialize_with = "node_id")]
    dest_node_id: String,
    #[serde(default)]
    features: Features,
}

#[derive(Deserialize)]
struct WireTarget<'a> {
    #[serde(borrow, default)]
    node_type: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "some_node_id")]
    node_id: Option<String>,
    #[serde(borrow, default)]
    edge_type: Option<[Cow<'a, str>; 3]>,
    #[serde(default, deserialize_with = "some_node_id")]
    src_node_id: Option<String>,
    #[serde(default, deserialize_with = "some_node_id")]
    dest_node_id: Option<String>,
}

/// A node id: a string, or an integer as its decimal text.
fn node_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct Id;
    impl serde::de::Visitor<'_> for Id {
        type Value = String;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or an integer")
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(Id)
}

fn some_node_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    node_id(d).map(Some)
}

fn owned(t: &[Cow<'_, str>; 3]) -> [String; 3] {
    [t[0].to_string(), t[1].to_string(), t[2].to_string()]
}

/// `body` as a payload when it is well formed in every respect the checked path checks;
/// `None` otherwise.
pub(crate) fn parse_well_formed(body: &[u8], expected: Option<TaskType>) -> Option<Payload> {
    let wire: Wire<'_> = serde_json::from_slice(body).ok()?;
    if wire.version != PAYLOAD_VERSION || wire.graph.nodes.is_empty() || wire.targets.is_empty() {
        return None;
    }
    let task = TaskType::from_name(&wire.gml_task)?;
    if expected.is_some_and(|t| t != task) {
        return None;
    }
    let mut nodes = Vec::with_capacity(wire.graph.nodes.len());
    for n in wire.graph.nodes {
        if n.node_type.is_empty() {
            return None;
        }
        nodes.push(PayloadNode {
            node_type: n.node_type.into_owned(),
            node_id: n.node_id,
            features: n.features,
        });
    }
    let edges = wire
        .graph
        .edges
        .into_iter()
        .map(|e| PayloadEdge {
            edge_type: owned(&e.edge_type),
            src: e.src_node_id,
            dst: e.dest_node_id,
            features: e.features,
        })
        .collect();
    let targets = if task.is_edge_task() || task == TaskType::LinkPrediction {
        let mut out = Vec::with_capacity(wire.targets.len());
        for t in wire.targets {
            out.push((owned(&t.edge_type?), t.src_node_id?, t.dest_node_id?));
        }
        Targets::Edges(out)
    } else {
        let mut out = Vec::with_capacity(wire.targets.len());
        for t in wire.targets {
            let node_type = t.node_type.filter(|n| !n.is_empty())?;
            out.push((node_type.into_owned(), t.node_id?));
        }
        Targets::Nodes(out)
    };
    Some(Payload {
        task,
        nodes,
        edges,
        targets,
    })
}
