//! Edge features in message passing (`edge_feat_name`, `edge_feat_mp_op`) as the real
//! GraphStorm 0.5.1 computes them: golden models it trained with an edge feature on
//! `author,writes,paper` (`tests/fixtures/graphstorm-models/nc-{rgcn,rgat,hgt}-efeat`, graph
//! `graph-ec`) and on the homogeneous graph's `_E` (`nc-{gat,gatv2,sage}-efeat`, graph
//! `graphstorm-homo-efeat`), loaded by name into gs's plugins, give its embeddings of every
//! node and its predictions within 1e-5. Each case's README states the formulas.

use gs_tests::graphstorm;

/// RGCN (`concat`: `GraphConvwithEdgeFeat` on `writes`, the other relations a mean), RGAT
/// (`add`: `GATConvwithEdgeFeat`, an attention per head and feature) and HGT (`concat`:
/// `ef_linears` added to the keys and values of `writes`) with GraphStorm's edge input layer.
#[test]
fn graphstorm_relational_models_with_edge_features_give_graphstorm_embeddings() {
    let cases = [
        ("nc-rgcn-efeat", "rgcn", "concat"),
        ("nc-rgat-efeat", "rgat", "add"),
        ("nc-hgt-efeat", "hgt", "concat"),
    ];
    for (case, plugin, op) in cases {
        let mut gm = graphstorm::graphstorm_model(case, plugin);
        let args = &gm.custom_args;
        assert!(
            args.contains(&("edge_feat_name".into(), "author,writes,paper:w".into()))
                && args.contains(&("edge_feat_mp_op".into(), op.into())),
            "{case}: {args:?}"
        );
        gm.assert_agrees_with_graphstorm(case);
    }
}

/// GAT (DGL's `EdgeGATConv`: edge scores in the attention, projected edge features in the
/// messages, a residual), GATv2 (GraphStorm's `GATv2ConvWithEdgeFeat`) and SAGE
/// (`SAGEConvWithEdgeFeat`: the raw edge embedding joins each pooled message) on GraphStorm's
/// homogeneous graph whose `_E` edges carry a feature (`graphstorm-homo-efeat`).
#[test]
fn graphstorm_homogeneous_models_with_edge_features_give_graphstorm_embeddings() {
    let cases = [
        ("nc-gat-efeat", "gat"),
        ("nc-gatv2-efeat", "gatv2"),
        ("nc-sage-efeat", "sage"),
    ];
    for (case, plugin) in cases {
        let mut gm = graphstorm::graphstorm_model(case, plugin);
        let selected = ("edge_feat_name".into(), "_N,_E,_N:w".into());
        assert!(
            gm.custom_args.contains(&selected),
            "{case}: {:?}",
            gm.custom_args
        );
        gm.assert_agrees_with_graphstorm(case);
    }
}
