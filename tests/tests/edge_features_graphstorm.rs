//! Edge features in message passing (`edge_feat_name`, `edge_feat_mp_op`) as the real
//! GraphStorm 0.5.1 computes them: golden models it trained with an edge feature on
//! `author,writes,paper` (`tests/fixtures/graphstorm-models/nc-{rgcn,rgat,hgt}-efeat`, graph
//! `graph-ec`), loaded by name into gs's plugins, give its embeddings of every node and its
//! predictions within 1e-5. Each case's README states the formulas.

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
