//! Models trained by GraphStorm, in gs: the tensors of GraphStorm's `model.bin` (a
//! `torch.save`d `{"node_embed", "gnn", "decoder", "edge_embed"}` dict of state dicts) become
//! the weights of the gs model built from the same configuration, mapped by name, never by
//! position. The built-in plugins name their weights as GraphStorm's modules do
//! (`node_embed.input_projs.paper`, `gnn._layers.0.weight`, see `plugins/<name>/README.md`)
//! and the host's decoders keep GraphStorm's decoder keys. A GraphStorm key that the model
//! lacks, a model weight that `model.bin` lacks, and a shape that differs are each an error
//! naming the key: GraphStorm itself loads `node_embed` non-strictly and silently ignores a
//! wrong input-layer key; gs does not.
//!
//! Learnable node embeddings live beside `model.bin`: GraphStorm saves the table of node type
//! `t` as `<dir>/<t>/sparse_emb_<rank>.pt`, one file per trainer, each a tensor of consecutive
//! rows, in the partition's per-type node order, which is the order of gs's tables
//! (`sparse_embed/<t>`).

use std::collections::BTreeMap;
use std::path::Path;

use gs_tensor::Tensor;

use crate::{TaskModel, TrainError};

/// The file GraphStorm saves a model's weights in, inside its model directory.
pub const GRAPHSTORM_MODEL_FILE: &str = "model.bin";

/// The placeholder parameter of GraphStorm's `GSPureLearnableInputLayer` (`learnable_embed`),
/// which exists only to keep DDP from failing on a module without dense weights; gs has no
/// counterpart, and its value means nothing.
const PLACEHOLDER_KEY: &str = "node_embed._dummy";

/// The suffix of `BatchNorm1d`'s batch counter (`….norm.<ntype>.num_batches_tracked`, int64):
/// with torch's default momentum (0.1, GraphStorm's) it changes nothing, so gs keeps no
/// counterpart; the running statistics beside it are gs's buffers.
const BATCH_COUNTER_SUFFIX: &str = ".num_batches_tracked";

/// `nn.Linear` weights of GraphStorm's decoders, stored `[out, in]`; gs keeps `[in, out]`.
const LINEAR_WEIGHTS: &[&str] = &[
    "decoder.combine_basis.weight",
    "decoder.regression_head.weight",
];

/// Whether `dir` is a model directory GraphStorm saved: it holds `model.bin` and is not a gs
/// checkpoint.
pub fn is_graphstorm_model_dir(dir: &Path) -> bool {
    dir.join(GRAPHSTORM_MODEL_FILE).is_file() && !dir.join(crate::checkpoint::META_FILE).exists()
}

/// gs's weight name of GraphStorm key `key`: decoder keys keep their name under the host's
/// `decoder/` prefix, and encoder keys (`node_embed.*`, `gnn.*`) are the plugin's own names
/// under `gnn/`. The exceptions are [`alias`]es.
pub fn gs_weight_name(key: &str) -> String {
    match key {
        key if key.starts_with("decoder.") => format!("decoder/{key}"),
        key => format!("gnn/{key}"),
    }
}

/// The other gs name GraphStorm key `key` may have:
/// - the node decoder's `decoder.weight` for the EntityClassifier's `decoder.decoder` (the
///   edge decoders keep GraphStorm's name);
/// - `node_embed.input_projs.<t>` for `node_embed.proj_matrix.<t>` of a node type without
///   features: GraphStorm projects its learnable embedding with `proj_matrix` (`[hidden,
///   hidden]`), gs's input layer projects the same embedding, its only input, with the type's
///   `input_projs`.
fn alias(key: &str) -> Option<String> {
    if key == "decoder.decoder" {
        return Some("decoder/decoder.weight".to_string());
    }
    let ntype = key.strip_prefix("node_embed.proj_matrix.")?;
    Some(format!("gnn/node_embed.input_projs.{ntype}"))
}

/// A GraphStorm weight under its gs name.
pub struct GraphStormWeight {
    /// The key in `model.bin` (`gnn._layers.0.weight`).
    pub key: String,
    /// gs's name ([`gs_weight_name`]).
    pub name: String,
    /// In gs's layout (`nn.Linear` weights transposed).
    pub tensor: Tensor,
}

/// The tensors of GraphStorm's `model.bin` at `path` under gs's names.
pub fn read_graphstorm_weights(path: &Path) -> Result<Vec<GraphStormWeight>, TrainError> {
    let tensors =
        gs_graph::read_torch_tensors(path).map_err(|e| TrainError::Config(e.to_string()))?;
    Ok(tensors
        .into_iter()
        .filter(|t| t.name != PLACEHOLDER_KEY && !t.name.ends_with(BATCH_COUNTER_SUFFIX))
        .map(|t| {
            let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
            let tensor = Tensor::from_slice(&t.values).reshape(shape);
            let tensor = if LINEAR_WEIGHTS.contains(&t.name.as_str()) {
                tensor.transpose(0, 1).contiguous()
            } else {
                tensor
            };
            GraphStormWeight {
                name: gs_weight_name(&t.name),
                key: t.name,
                tensor,
            }
        })
        .collect())
}

/// Loads `weights` (from `source`, for messages) into `model`, which must have exactly one
/// weight of the same shape for each of them. `layers` (GraphStorm's `restore_model_layers`,
/// empty for all) limits both sides to those parts of the model ([`crate::model_layers`]);
/// the other parts keep their values.
pub fn load_graphstorm_weights(
    model: &mut TaskModel,
    weights: &[GraphStormWeight],
    layers: &[String],
    source: &Path,
) -> Result<(), TrainError> {
    let selected = crate::model_layers::selection(layers);
    let weights: Vec<&GraphStormWeight> = weights.iter().filter(|w| selected(&w.name)).collect();
    // The learnable embeddings' tables too (`sparse_embed/<ntype>`).
    let ours: BTreeMap<String, Vec<i64>> = model
        .checkpoint_weights()
        .into_iter()
        .filter(|(n, _)| selected(n))
        .map(|(n, t)| (n, t.size()))
        .collect();
    let weights = fold_node_embedding_projections(weights)?;
    let weights: Vec<&GraphStormWeight> = weights.iter().collect();
    // A key whose gs name the model lacks takes its alias when the model has that and no
    // other key is that name already.
    let direct: std::collections::BTreeSet<&str> =
        weights.iter().map(|w| w.name.as_str()).collect();
    let weights: Vec<GraphStormWeight> = weights
        .iter()
        .map(|w| {
            let name = match alias(&w.key) {
                Some(a)
                    if !ours.contains_key(&w.name)
                        && ours.contains_key(&a)
                        && !direct.contains(a.as_str()) =>
                {
                    a
                }
                _ => w.name.clone(),
            };
            GraphStormWeight {
                key: w.key.clone(),
                name,
                tensor: w.tensor.shallow_clone(),
            }
        })
        .collect();
    let bad = |what: String, hint: &str| {
        TrainError::Config(format!("`{}`: {what}; hint: {hint}", source.display()))
    };
    let same_model = "restore it with the configuration (YAML, --model-encoder-type, \
                      --hidden-size, --num-layers, encoder and decoder keys) GraphStorm trained it \
                      with";
    for w in &weights {
        match ours.get(&w.name) {
            None => {
                let known: Vec<&String> = ours.keys().collect();
                return Err(bad(
                    format!(
                        "GraphStorm key `{}` has no weight in gs's model (gs's weights: {known:?})",
                        w.key
                    ),
                    same_model,
                ));
            }
            Some(shape) if *shape != w.tensor.size() => {
                return Err(bad(
                    format!(
                        "GraphStorm key `{}` has shape {:?} (gs's layout), gs's model {:?} for \
                         `{}`",
                        w.key,
                        w.tensor.size(),
                        shape,
                        w.name
                    ),
                    same_model,
                ));
            }
            Some(_) => {}
        }
    }
    let missing: Vec<&String> = ours
        .keys()
        .filter(|n| !weights.iter().any(|w| w.name == **n))
        .collect();
    if !missing.is_empty() {
        return Err(bad(
            format!("the model has no tensor for gs's weights {missing:?}"),
            same_model,
        ));
    }
    let saved: Vec<(String, Tensor)> = weights
        .iter()
        .map(|w| (w.name.clone(), w.tensor.shallow_clone()))
        .collect();
    model.load_model_layers(&saved, layers)?;
    Ok(())
}

/// GraphStorm's two projections of a node type with features and a learnable embedding
/// (`use_node_embeddings`) as gs's one: GraphStorm computes `[x @ W, e] @ P` with `W =
/// node_embed.input_projs.<t>` `[f, h]` and `P = node_embed.proj_matrix.<t>` `[h + d, h]`; gs
/// projects the concatenation `[x, e]` once, with `[W @ P[..h]; P[h..]]` `[f + d, h]`, the same
/// map. Other weights pass through.
fn fold_node_embedding_projections(
    weights: Vec<&GraphStormWeight>,
) -> Result<Vec<GraphStormWeight>, TrainError> {
    // The folded projection of each input-projection key, and the `proj_matrix` keys it used.
    let mut folded: BTreeMap<String, Tensor> = BTreeMap::new();
    let mut consumed = std::collections::BTreeSet::new();
    for w in &weights {
        let Some(ntype) = w.key.strip_prefix("node_embed.proj_matrix.") else {
            continue;
        };
        let input_key = format!("node_embed.input_projs.{ntype}");
        let Some(input) = weights.iter().find(|i| i.key == input_key) else {
            continue;
        };
        let (w_in, p) = (&input.tensor, &w.tensor);
        let hidden = w_in.size()[1];
        if p.dim() != 2 || w_in.dim() != 2 || p.size()[0] <= hidden {
            return Err(TrainError::Config(format!(
                "GraphStorm keys `{}` {:?} and `{}` {:?} do not chain as GraphStorm's \
                 `use_node_embeddings` input layer (`[x @ input_projs, embedding] @ \
                 proj_matrix`); hint: restore a model GraphStorm saved, unmodified",
                input.key,
                w_in.size(),
                w.key,
                p.size()
            )));
        }
        let top = p.narrow(0, 0, hidden);
        let bottom = p.narrow(0, hidden, p.size()[0] - hidden);
        folded.insert(input_key, Tensor::cat(&[w_in.matmul(&top), bottom], 0));
        consumed.insert(w.key.clone());
    }
    Ok(weights
        .into_iter()
        .filter(|w| !consumed.contains(&w.key))
        .map(|w| match folded.remove(&w.key) {
            Some(tensor) => GraphStormWeight {
                key: format!("{} with node_embed.proj_matrix.*", w.key),
                name: w.name.clone(),
                tensor,
            },
            None => GraphStormWeight {
                key: w.key.clone(),
                name: w.name.clone(),
                tensor: w.tensor.shallow_clone(),
            },
        })
        .collect())
}

/// Loads the `model.bin` of GraphStorm's model directory `dir` into `model`
/// ([`read_graphstorm_weights`], [`load_graphstorm_weights`] with `layers`); returns the file
/// and how many tensors it held.
pub fn load_graphstorm_model_dir(
    model: &mut TaskModel,
    dir: &Path,
    layers: &[String],
) -> Result<(std::path::PathBuf, usize), TrainError> {
    let model_bin = dir.join(GRAPHSTORM_MODEL_FILE);
    let mut weights = read_graphstorm_weights(&model_bin)?;
    let selected = crate::model_layers::selection(layers);
    for (name, _) in model.checkpoint_weights() {
        if let Some(ntype) = name.strip_prefix(crate::learnable_embeddings::TABLE_PREFIX)
            && selected(&name)
        {
            weights.push(GraphStormWeight {
                key: format!("{ntype}/sparse_emb_*.pt"),
                tensor: read_sparse_embeddings(dir, ntype)?,
                name,
            });
        }
    }
    load_graphstorm_weights(model, &weights, layers, &model_bin)?;
    Ok((model_bin, weights.len()))
}

/// The learnable embeddings GraphStorm saved for node type `ntype` in its model directory
/// `dir`: the rows of `<dir>/<ntype>/sparse_emb_*.pt` concatenated in file-name order (the
/// trainers' ranks, zero-padded), as GraphStorm's `load_sparse_emb` reads them.
pub fn read_sparse_embeddings(dir: &Path, ntype: &str) -> Result<Tensor, TrainError> {
    let folder = dir.join(ntype);
    let hint = "restore from the model directory GraphStorm saved (with its learnable \
                embeddings), or leave `sparse_embed` out of `restore_model_layers` to start them \
                afresh";
    let entries = std::fs::read_dir(&folder).map_err(|e| {
        TrainError::Config(format!(
            "`{}`: cannot read GraphStorm's learnable embeddings of node type `{ntype}` ({e}); \
             the model has a table for `{ntype}`, and GraphStorm saves it there as \
             `sparse_emb_<rank>.pt`; hint: {hint}",
            folder.display()
        ))
    })?;
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("sparse_emb_") && n.ends_with(".pt"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(TrainError::Config(format!(
            "`{}` holds no `sparse_emb_<rank>.pt` file; hint: {hint}",
            folder.display()
        )));
    }
    let mut parts = Vec::with_capacity(files.len());
    for file in &files {
        let tensors =
            gs_graph::read_torch_tensors(file).map_err(|e| TrainError::Config(e.to_string()))?;
        let [t] = tensors.as_slice() else {
            return Err(TrainError::Config(format!(
                "`{}` holds {} tensors; GraphStorm saves one `[rows, dim]` tensor per file",
                file.display(),
                tensors.len()
            )));
        };
        if t.shape.len() != 2 {
            return Err(TrainError::Config(format!(
                "`{}` holds a tensor of shape {:?}; GraphStorm saves `[rows, dim]`",
                file.display(),
                t.shape
            )));
        }
        let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
        parts.push(Tensor::from_slice(&t.values).reshape(shape));
    }
    Tensor::f_cat(&parts, 0).map_err(|e| {
        TrainError::Config(format!(
            "the files of `{}` do not stack into one table: {e}",
            folder.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphstorm_keys_map_to_gs_names() {
        assert_eq!(gs_weight_name("decoder.decoder"), "decoder/decoder.decoder");
        assert_eq!(
            alias("decoder.decoder").as_deref(),
            Some("decoder/decoder.weight")
        );
        assert_eq!(alias("decoder.bias"), None);
        assert_eq!(
            alias("node_embed.proj_matrix.author").as_deref(),
            Some("gnn/node_embed.input_projs.author")
        );
        assert_eq!(gs_weight_name("decoder.bias"), "decoder/decoder.bias");
        assert_eq!(
            gs_weight_name("decoder._w_relation.weight"),
            "decoder/decoder._w_relation.weight"
        );
        assert_eq!(
            gs_weight_name("node_embed.input_projs.paper"),
            "gnn/node_embed.input_projs.paper"
        );
        assert_eq!(
            gs_weight_name("gnn._layers.1.loop_weight"),
            "gnn/gnn._layers.1.loop_weight"
        );
    }
}
