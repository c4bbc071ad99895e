//! GraphStorm's `restore_model_layers`: which parts of a restored model load. A gs weight
//! belongs to one part by its name: `sparse_embed/<ntype>` (the host's learnable embeddings)
//! to `sparse_embed`; the encoder's `node_embed.*` and `edge_embed.*` (GraphStorm's input
//! layers, as the built-in plugins name them) to `dense_embed`; every other encoder weight to
//! `gnn`; the host decoder's to `decoder`. `embed` is `dense_embed` and `sparse_embed`.

use crate::learnable_embeddings::TABLE_PREFIX;

/// The part of the model a checkpoint weight name belongs to.
pub fn layer_of(name: &str) -> &'static str {
    if name.starts_with(TABLE_PREFIX) {
        return "sparse_embed";
    }
    if let Some(encoder) = name.strip_prefix("gnn/") {
        if encoder.starts_with("node_embed.") || encoder.starts_with("edge_embed.") {
            return "dense_embed";
        }
        return "gnn";
    }
    "decoder"
}

/// Whether a weight name is in one of `layers` (GraphStorm's names, checked by gs-config);
/// no layers select every part, as GraphStorm's default.
pub fn selection(layers: &[String]) -> impl Fn(&str) -> bool + '_ {
    move |name| {
        if layers.is_empty() {
            return true;
        }
        let layer = layer_of(name);
        layers.iter().any(|l| {
            l == layer || (l == "embed" && matches!(layer, "dense_embed" | "sparse_embed"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_names_belong_to_graphstorms_parts() {
        assert_eq!(layer_of("sparse_embed/paper"), "sparse_embed");
        assert_eq!(layer_of("gnn/node_embed.input_projs.paper"), "dense_embed");
        assert_eq!(layer_of("gnn/gnn._layers.0.weight"), "gnn");
        assert_eq!(
            layer_of("gnn/layers.0.paper:cites:paper.fc_self.weight"),
            "gnn"
        );
        assert_eq!(layer_of("decoder/decoder.weight"), "decoder");
        let layers = vec!["embed".to_string(), "gnn".to_string()];
        let selected = selection(&layers);
        assert!(selected("sparse_embed/paper") && selected("gnn/node_embed.input_projs.a"));
        assert!(selected("gnn/gnn._layers.0.weight") && !selected("decoder/decoder.bias"));
        assert!(
            selection(&[])("decoder/decoder.bias"),
            "no layers: every part"
        );
        let layers = vec!["dense_embed".to_string()];
        let selected = selection(&layers);
        assert!(selected("gnn/node_embed.input_projs.a") && !selected("sparse_embed/paper"));
    }
}
