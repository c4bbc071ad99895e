//! GraphStorm's YAML as is: every key GraphStorm reads from a `gsf:` section (the key list of
//! GraphStorm's `argument.py`, as summarised in the reference notes §2) is flattened from
//! whatever section holds it, is known to the option table, and then acts, is refused by name,
//! or (where GraphStorm ignores it too, or gs has no use for it) only warns. A typo gets a
//! did-you-mean error naming the file and the key.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::{Fixtures, argv, nc, with_cf};
use crate::options::{self, DefaultValue, OptionSpec, Section, ValueKind};
use crate::{ConfigError, Support, TaskType, resolve, yaml};

/// Sections every task file below shares: `basic`, `gnn`, `input`, `output`, `hyperparam` and
/// an `rgcn:` encoder section, with every environment, encoder, optimisation, evaluation and
/// save/restore key GraphStorm reads, most at non-default values.
const COMMON: &str = r#"version: 1.0
gsf:
  basic:
    model_encoder_type: rgcn
    backend: nccl
    verbose: true
    use_graphbolt: false
    use_wholegraph_embed: false
    ip_config: ip_list.txt
    part_config: data/movielens.json
    log_report_frequency: 50
    task_tracker: tensorboard_task_tracker:runs
    save_perf_results_path: perf
    profile_path: prof
  gnn:
    node_feat_name: ["movie:title,genre", "user:feat"]
    edge_feat_name: "user,rating,movie:rate"
    edge_feat_mp_op: add
    num_layers: 2
    hidden_size: 128
    fanout: "10,5"
    eval_fanout: "-1,-1"
    use_mini_batch_infer: false
    input_activate: relu
    gnn_norm: layer
    num_ffn_layers_in_input: 1
    num_ffn_layers_in_gnn: 2
    num_ffn_layers_in_decoder: 3
    construct_feat_ntype: [user]
    construct_feat_encoder: rgcn
    construct_feat_fanout: 3
  input:
    restore_model_path: model/epoch-1
    restore_model_layers: embed,gnn
    restore_optimizer_path: model/epoch-1
  output:
    save_model_path: model
    save_model_frequency: 100
    topk_model_to_save: 2
    save_embed_path: emb
    save_embed_format: pytorch
    save_prediction_path: pred
  hyperparam:
    dropout: 0.1
    lr: 0.01
    lm_tune_lr: 0.0001
    wd_l2norm: 0.0005
    alpha_l2norm: 0.001
    max_grad_norm: 1.5
    grad_norm_type: 2
    num_epochs: 3
    batch_size: 64
    eval_batch_size: 1024
    eval_frequency: 500
    no_validation: false
    use_early_stop: true
    early_stop_burnin_rounds: 2
    early_stop_rounds: 4
    early_stop_strategy: consecutive_increase
    decoder_bias: false
    decoder_norm: layer
  rgcn:
    num_bases: 2
    use_self_loop: false
    sparse_optimizer_lr: 0.02
    use_node_embeddings: true
"#;

/// What [`COMMON`] flattens to.
fn common_expected() -> Value {
    let first = json!({
        "model_encoder_type": "rgcn",
        "backend": "nccl",
        "verbose": true,
        "use_graphbolt": false,
        "use_wholegraph_embed": false,
        "ip_config": "ip_list.txt",
        "part_config": "data/movielens.json",
        "log_report_frequency": 50,
        "task_tracker": "tensorboard_task_tracker:runs",
        "save_perf_results_path": "perf",
        "profile_path": "prof",
        "node_feat_name": ["movie:title,genre", "user:feat"],
        "edge_feat_name": ["user,rating,movie:rate"],
        "edge_feat_mp_op": "add",
        "num_layers": 2,
        "hidden_size": 128,
        "fanout": "10,5",
        "eval_fanout": "-1,-1",
        "use_mini_batch_infer": false,
        "input_activate": "relu",
        "gnn_norm": "layer",
        "num_ffn_layers_in_input": 1,
        "num_ffn_layers_in_gnn": 2,
        "num_ffn_layers_in_decoder": 3,
        "construct_feat_ntype": ["user"],
        "construct_feat_encoder": "rgcn",
        "construct_feat_fanout": 3,
    });
    let rest = json!({
        "restore_model_path": "model/epoch-1",
        "restore_model_layers": ["embed", "gnn"],
        "restore_optimizer_path": "model/epoch-1",
        "save_model_path": "model",
        "save_model_frequency": 100,
        "topk_model_to_save": 2,
        "save_embed_path": "emb",
        "save_embed_format": "pytorch",
        "save_prediction_path": "pred",
        "dropout": 0.1,
        "lr": 0.01,
        "lm_tune_lr": 0.0001,
        "wd_l2norm": 0.0005,
        "alpha_l2norm": 0.001,
        "max_grad_norm": 1.5,
        "grad_norm_type": "2",
        "num_epochs": 3,
        "batch_size": 64,
        "eval_batch_size": 1024,
        "eval_frequency": 500,
        "no_validation": false,
        "use_early_stop": true,
        "early_stop_burnin_rounds": 2,
        "early_stop_rounds": 4,
        "early_stop_strategy": "consecutive_increase",
        "decoder_bias": false,
        "decoder_norm": "layer",
        "num_bases": 2,
        "use_self_loop": false,
        "sparse_optimizer_lr": 0.02,
        "use_node_embeddings": true,
    });
    let mut all = first;
    merge(&mut all, &rest);
    all
}

/// Adds `more`'s keys to the object `into`.
fn merge(into: &mut Value, more: &Value) {
    let into = into.as_object_mut().expect("an object");
    for (k, v) in more.as_object().expect("an object") {
        into.insert(k.clone(), v.clone());
    }
}

/// Flattens `text` (the YAML parser alone: no support checks) into key -> (section, value).
fn flatten(text: &str) -> (BTreeMap<String, (String, Value)>, yaml::YamlConfig) {
    let cfg = yaml::parse(Path::new("task.yaml"), text).unwrap_or_else(|e| panic!("{e}"));
    let mut map = BTreeMap::new();
    for (spec, entry) in &cfg.entries {
        let crate::value::Origin::Yaml { section, .. } = &entry.origin else {
            panic!("{} does not come from the YAML", spec.key)
        };
        let earlier = map.insert(spec.key.to_string(), (section.clone(), entry.value.clone()));
        assert!(earlier.is_none(), "{} is set twice", spec.key);
    }
    (map, cfg)
}

/// Parses [`COMMON`] + `task_section` and checks that exactly the expected keys land, each with
/// its value, and the `rgcn:` keys with their section.
fn assert_flattens(task_section: &str, task: TaskType, task_expected: Value) {
    let text = format!("{COMMON}{task_section}");
    let (map, cfg) = flatten(&text);
    assert_eq!(cfg.task, Some((task, task.name().to_string())));
    let mut expected = common_expected();
    merge(&mut expected, &task_expected);
    let obj = expected.as_object().expect("an object");
    for (key, want) in obj.iter() {
        let Some((_, got)) = map.get(key) else {
            panic!("{task:?}: `{key}` did not land")
        };
        assert_eq!(got, want, "{task:?}: `{key}`");
    }
    for key in map.keys() {
        assert!(obj.contains_key(key), "{task:?}: unexpected key `{key}`");
    }
    for key in ["num_bases", "use_self_loop", "sparse_optimizer_lr"] {
        assert_eq!(map[key].0, "rgcn", "{key} comes from the rgcn section");
    }
    assert_eq!(map["backend"].0, "basic");
    assert_eq!(map["fanout"].0, "gnn");
    assert_eq!(cfg.custom_args, argv("--my_arg 3 --tags a b"));
}

const UDF: &str = "udf:\n  my_arg: 3\n  tags: [a, b]\n";

#[test]
fn node_classification_yaml_flattens_every_key() {
    let section = format!(
        r#"  node_classification:
    target_ntype: movie
    eval_target_ntype: movie
    label_field: genre
    num_classes: 19
    multilabel: true
    multilabel_weights: "1.0,2.0"
    imbalance_class_weights: 0.5,1.5
    return_proba: false
    infer_all_target_nodes: true
    use_pseudolabel: false
    class_loss_func: focal
    gamma: 2.5
    alpha: 0.3
    eval_metric: [accuracy, f1_score]
    report_eval_per_type: false
{UDF}"#
    );
    assert_flattens(
        &section,
        TaskType::NodeClassification,
        json!({
            "target_ntype": "movie",
            "eval_target_ntype": "movie",
            "label_field": "genre",
            "num_classes": 19,
            "multilabel": true,
            "multilabel_weights": [1.0, 2.0],
            "imbalance_class_weights": [0.5, 1.5],
            "return_proba": false,
            "infer_all_target_nodes": true,
            "use_pseudolabel": false,
            "class_loss_func": "focal",
            "gamma": 2.5,
            "alpha": 0.3,
            "eval_metric": ["accuracy", "f1_score"],
            "report_eval_per_type": false,
        }),
    );
}

#[test]
fn node_regression_yaml_flattens_every_key() {
    let section = format!(
        r#"  node_regression:
    target_ntype: [movie]
    label_field: rating
    regression_loss_func: shrinkage
    gamma: 0.3
    alpha: 8.0
    eval_metric: rmse
    infer_all_target_nodes: false
{UDF}"#
    );
    assert_flattens(
        &section,
        TaskType::NodeRegression,
        json!({
            "target_ntype": "movie",
            "label_field": "rating",
            "regression_loss_func": "shrinkage",
            "gamma": 0.3,
            "alpha": 8.0,
            "eval_metric": ["rmse"],
            "infer_all_target_nodes": false,
        }),
    );
}

#[test]
fn edge_classification_yaml_flattens_every_key() {
    let section = format!(
        r#"  rgat:
    num_heads: 2
  edge_classification:
    target_etype:
      - "user,rating,movie"
    reverse_edge_types_map: ["user,rating,rating-rev,movie"]
    remove_target_edge_type: false
    exclude_training_targets: false
    label_field: rate
    num_classes: 5
    multilabel: false
    imbalance_class_weights: [1, 2, 3, 4, 5]
    decoder_type: MLPEFeatEdgeDecoder
    num_decoder_basis: 4
    decoder_edge_feat: ["user,rating,movie:rate"]
    class_loss_func: cross_entropy
    return_proba: true
    eval_metric: [precision_recall]
{UDF}"#
    );
    assert_flattens(
        &section,
        TaskType::EdgeClassification,
        json!({
            "num_heads": 2,
            "target_etype": ["user,rating,movie"],
            "reverse_edge_types_map": ["user,rating,rating-rev,movie"],
            "remove_target_edge_type": false,
            "exclude_training_targets": false,
            "label_field": "rate",
            "num_classes": 5,
            "multilabel": false,
            "imbalance_class_weights": [1.0, 2.0, 3.0, 4.0, 5.0],
            "decoder_type": "MLPEFeatEdgeDecoder",
            "num_decoder_basis": 4,
            "decoder_edge_feat": ["user,rating,movie:rate"],
            "class_loss_func": "cross_entropy",
            "return_proba": true,
            "eval_metric": ["precision_recall"],
        }),
    );
}

#[test]
fn edge_regression_yaml_flattens_every_key() {
    let section = format!(
        r#"  edge_regression:
    target_etype: "user,rating,movie"
    reverse_edge_types_map: ["user,rating,rating-rev,movie"]
    remove_target_edge_type: true
    label_field: rate
    decoder_type: MLPDecoder
    regression_loss_func: mse
    eval_metric: [mse, rmse]
{UDF}"#
    );
    assert_flattens(
        &section,
        TaskType::EdgeRegression,
        json!({
            "target_etype": ["user,rating,movie"],
            "reverse_edge_types_map": ["user,rating,rating-rev,movie"],
            "remove_target_edge_type": true,
            "label_field": "rate",
            "decoder_type": "MLPDecoder",
            "regression_loss_func": "mse",
            "eval_metric": ["mse", "rmse"],
        }),
    );
}

#[test]
fn link_prediction_yaml_flattens_every_key() {
    let section = format!(
        r#"  hgt:
    num_heads: 8
  link_prediction:
    train_etype: ["user,rating,movie", "movie,rating-rev,user"]
    eval_etype: ["user,rating,movie"]
    exclude_training_targets: true
    reverse_edge_types_map: ["user,rating,rating-rev,movie"]
    train_negative_sampler: joint
    eval_negative_sampler: uniform
    num_negative_edges: 32
    num_negative_edges_eval: 100
    lp_decoder_type: dot_product
    lp_loss_func: contrastive
    contrastive_loss_temperature: 0.1
    adversarial_temperature: 0.5
    lp_embed_normalizer: l2_norm
    lp_edge_weight_for_loss: ["user,rating,movie:weight"]
    train_etypes_negative_dstnode: ["user,rating,movie:hard_neg"]
    eval_etypes_negative_dstnode: hard_neg
    num_train_hard_negatives: 4
    gamma: 12.0
    fixed_test_size: 1000
    model_select_etype: "user,rating,movie"
    eval_metric: [mrr, hit_at_10]
    report_eval_per_type: true
{UDF}"#
    );
    assert_flattens(
        &section,
        TaskType::LinkPrediction,
        json!({
            "num_heads": 8,
            "train_etype": ["user,rating,movie", "movie,rating-rev,user"],
            "eval_etype": ["user,rating,movie"],
            "exclude_training_targets": true,
            "reverse_edge_types_map": ["user,rating,rating-rev,movie"],
            "train_negative_sampler": "joint",
            "eval_negative_sampler": "uniform",
            "num_negative_edges": 32,
            "num_negative_edges_eval": 100,
            "lp_decoder_type": "dot_product",
            "lp_loss_func": "contrastive",
            "contrastive_loss_temperature": 0.1,
            "adversarial_temperature": 0.5,
            "lp_embed_normalizer": "l2_norm",
            "lp_edge_weight_for_loss": ["user,rating,movie:weight"],
            "train_etypes_negative_dstnode": ["user,rating,movie:hard_neg"],
            "eval_etypes_negative_dstnode": ["hard_neg"],
            "num_train_hard_negatives": ["4"],
            "gamma": 12.0,
            "fixed_test_size": 1000,
            "model_select_etype": "user,rating,movie",
            "eval_metric": ["mrr", "hit_at_10"],
            "report_eval_per_type": true,
        }),
    );
}

/// `gs_gen_node_embedding` reads a training YAML (its task section says which task the model
/// was trained for) plus the restore/save keys; and the language-model and distillation keys
/// sit in GraphStorm files under sections of any name.
#[test]
fn gen_embedding_lm_and_distillation_keys_flatten() {
    let (map, cfg) = flatten(
        r#"version: 1.0
gsf:
  basic:
    model_encoder_type: rgcn
  gnn:
    num_layers: 1
    fanout: "5"
  input:
    restore_model_path: model/epoch-2
  output:
    save_embed_path: emb
    save_embed_format: hdf5
  lm:
    lm_train_nodes: 10
    lm_infer_batch_size: 16
    freeze_lm_encoder_epochs: 1
    max_seq_len: 128
    cache_lm_embed: true
    training_method: {name: glem, kwargs: {em_order_gnn_first: false}}
  distill:
    textual_data_path: text/
    max_distill_step: 5000
  link_prediction:
    train_etype: ["user,rating,movie"]
"#,
    );
    assert_eq!(
        cfg.task,
        Some((TaskType::LinkPrediction, "link_prediction".into()))
    );
    let want = json!({
        "model_encoder_type": "rgcn",
        "num_layers": 1,
        "fanout": "5",
        "restore_model_path": "model/epoch-2",
        "save_embed_path": "emb",
        "save_embed_format": "hdf5",
        "lm_train_nodes": 10,
        "lm_infer_batch_size": 16,
        "freeze_lm_encoder_epochs": 1,
        "max_seq_len": 128,
        "cache_lm_embed": true,
        "training_method": {"name": "glem", "kwargs": {"em_order_gnn_first": false}},
        "textual_data_path": "text/",
        "max_distill_step": 5000,
        "train_etype": ["user,rating,movie"],
    });
    let got: serde_json::Map<String, Value> = map.into_iter().map(|(k, (_, v))| (k, v)).collect();
    assert_eq!(Value::Object(got), want);
}

/// The keys GraphStorm reads from a `gsf:` section, copied from the reference notes §2
/// (layout, environment, encoder, optimisation, evaluation, save/restore, node tasks, edge
/// tasks, link prediction, LM, distillation, reconstruction, multi-task entries).
const GRAPHSTORM_GSF_KEYS: &str = "
    model_encoder_type backend verbose ip_config part_config
    fanout eval_fanout num_layers hidden_size use_mini_batch_infer node_feat_name
    restore_model_path restore_model_layers restore_optimizer_path
    save_model_path save_embed_path save_prediction_path topk_model_to_save
    dropout lr num_epochs batch_size eval_batch_size wd_l2norm alpha_l2norm
    num_bases use_self_loop sparse_optimizer_lr use_node_embeddings num_heads
    use_graphbolt use_wholegraph_embed log_report_frequency task_tracker
    save_perf_results_path profile_path
    edge_feat_name edge_feat_mp_op gnn_norm input_activate
    num_ffn_layers_in_input num_ffn_layers_in_gnn num_ffn_layers_in_decoder
    decoder_bias decoder_norm construct_feat_ntype construct_feat_encoder construct_feat_fanout
    lm_tune_lr max_grad_norm grad_norm_type
    eval_frequency no_validation fixed_test_size use_early_stop early_stop_burnin_rounds
    early_stop_rounds early_stop_strategy eval_metric report_eval_per_type model_select_etype
    save_model_frequency save_embed_format
    target_ntype eval_target_ntype label_field num_classes multilabel multilabel_weights
    imbalance_class_weights return_proba infer_all_target_nodes use_pseudolabel
    class_loss_func regression_loss_func
    target_etype remove_target_edge_type reverse_edge_types_map decoder_type
    num_decoder_basis decoder_edge_feat
    train_etype eval_etype exclude_training_targets train_negative_sampler
    eval_negative_sampler num_negative_edges num_negative_edges_eval lp_decoder_type
    lp_loss_func adversarial_temperature contrastive_loss_temperature lp_embed_normalizer
    lp_edge_weight_for_loss train_etypes_negative_dstnode eval_etypes_negative_dstnode
    num_train_hard_negatives gamma alpha
    lm_train_nodes lm_infer_batch_size freeze_lm_encoder_epochs max_seq_len cache_lm_embed
    training_method textual_data_path max_distill_step
    reconstruct_nfeat_name reconstruct_efeat_name
    mask_fields task_weight task_type
    node_lm_configs
";

#[test]
fn every_graphstorm_key_is_known_and_flattens_from_any_section() {
    for key in GRAPHSTORM_GSF_KEYS.split_whitespace() {
        let spec = options::spec(key).unwrap_or_else(|| panic!("`{key}` is not in the table"));
        assert_ne!(
            spec.section,
            Section::Legacy,
            "`{key}` is read by GraphStorm"
        );
        for section in ["basic", "gnn", "hgt", "my_own_name"] {
            let (map, _) = flatten(&format!("gsf:\n  {section}:\n    {key}:\n"));
            assert_eq!(
                map.get(key).map(|(s, _)| s.as_str()),
                Some(section),
                "`{key}` under `{section}`"
            );
        }
    }
}

/// Keys GraphStorm reads only from YAML have no gs flag either; the others keep theirs.
#[test]
fn yaml_only_keys_are_not_flags_and_the_others_are() {
    // Reference notes §1.3: the keys GraphStorm reads only from YAML.
    for key in [
        "training_method",
        "mask_fields",
        "task_weight",
        "reconstruct_nfeat_name",
        "reconstruct_efeat_name",
        "eval_target_ntype",
    ] {
        let spec = options::spec(key).expect("known");
        assert!(spec.is_yaml_only(), "{key}");
        assert!(options::spec_for_flag(&spec.flag()).is_none(), "{key}");
    }
    for key in ["backend", "verbose", "use_graphbolt", "target_etype", "lr"] {
        let spec = options::spec(key).expect("known");
        assert!(!spec.is_yaml_only(), "{key}");
        assert_eq!(
            options::spec_for_flag(&spec.flag()).map(|s| s.key),
            Some(key)
        );
    }
}

/// Sections and top-level keys GraphStorm gives a structure to, each refused by name.
#[test]
fn multi_task_lm_and_reconstruction_sections_are_refused_by_name() {
    let cases = [
        (
            "gsf:\n  multi_task_learning:\n    - node_classification:\n        target_ntype: movie\n        mask_fields: [tr, va, te]\n        task_weight: 0.5\n",
            "multi_task_learning",
            "multi-task learning is not supported yet",
        ),
        (
            "lm_model:\n  node_lm_models:\n    - lm_type: bert\n      model_name: bert-base-uncased\n      gradient_checkpoint: true\n      node_types: [movie]\n",
            "`lm_model`",
            "no language-model encoders",
        ),
        (
            "lm_model:\n  distill_lm_models:\n    - lm_type: DistilBertModel\n      model_name: distilbert-base-uncased\n",
            "distill_lm_models",
            "no language-model encoders",
        ),
        (
            "gsf:\n  reconstruct_node_feat:\n    reconstruct_nfeat_name: feat\n",
            "reconstruct_node_feat",
            "multi-task learning",
        ),
        (
            "gsf:\n  reconstruct_edge_feat:\n    reconstruct_efeat_name: feat\n",
            "reconstruct_edge_feat",
            "multi-task learning",
        ),
    ];
    for (text, name, reason) in cases {
        let err = yaml::parse(Path::new("mt.yaml"), text).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(name) && msg.contains(reason) && msg.contains("mt.yaml"),
            "{msg}"
        );
        assert!(msg.contains("hint:"), "{msg}");
    }
}

#[test]
fn typos_get_did_you_mean_naming_file_section_and_key() {
    // A hand-picked typo from each part of the reference notes §2.
    for (typo, section, want) in [
        ("backnd", "basic", "backend"),
        ("verbos", "basic", "verbose"),
        ("use_graphbolts", "basic", "use_graphbolt"),
        ("model_encoder_typ", "basic", "model_encoder_type"),
        ("fan_out", "gnn", "fanout"),
        ("hiden_size", "gnn", "hidden_size"),
        ("num_base", "rgcn", "num_bases"),
        ("use_selfloop", "rgcn", "use_self_loop"),
        ("num_head", "rgat", "num_heads"),
        ("num_epoch", "hyperparam", "num_epochs"),
        ("label_feild", "node_classification", "label_field"),
        ("num_class", "node_classification", "num_classes"),
        ("target_etyp", "edge_classification", "target_etype"),
        (
            "reverse_edge_type_map",
            "edge_classification",
            "reverse_edge_types_map",
        ),
        ("decoder_typ", "edge_regression", "decoder_type"),
        ("num_negative_edge", "link_prediction", "num_negative_edges"),
        (
            "exclude_training_target",
            "link_prediction",
            "exclude_training_targets",
        ),
        ("lp_decodr_type", "link_prediction", "lp_decoder_type"),
        ("train_etypes", "link_prediction", "train_etype"),
    ] {
        let text = format!("version: 1.0\ngsf:\n  {section}:\n    {typo}: 1\n");
        let err = yaml::parse(Path::new("typo.yaml"), &text).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "unknown key `{typo}` in section `{section}` of `typo.yaml` (did you mean `{want}`?)"
            )),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("hint: rename it to `{want}`")),
            "{msg}"
        );
    }
    // Every GraphStorm key with its last letter lost is caught and pointed back at the key.
    for key in GRAPHSTORM_GSF_KEYS.split_whitespace() {
        let typo = &key[..key.len() - 1];
        if key.len() < 5 || options::spec(typo).is_some() {
            continue;
        }
        let text = format!("gsf:\n  basic:\n    {typo}: 1\n");
        match yaml::parse(Path::new("typo.yaml"), &text) {
            Err(ConfigError::UnknownYamlKey {
                key: got,
                suggestion,
                file,
                ..
            }) => {
                assert_eq!(got, typo);
                assert_eq!(file, Path::new("typo.yaml"));
                assert_eq!(suggestion.as_deref(), Some(key), "`{typo}`");
            }
            other => panic!("`{typo}`: {other:?}"),
        }
    }
    // Not a GraphStorm key and nothing close: the way out is `udf:`.
    let err = yaml::parse(
        Path::new("typo.yaml"),
        "gsf:\n  hyperparam:\n    learning_rate: 1\n",
    )
    .unwrap_err();
    assert!(
        matches!(
            &err,
            ConfigError::UnknownYamlKey {
                suggestion: None,
                ..
            }
        ) && err.to_string().contains("`udf:`"),
        "{err}"
    );
    // Task sections too.
    for (typo, want) in [
        ("node_clasification", "node_classification"),
        ("node_regresion", "node_regression"),
        ("edge_classfication", "edge_classification"),
        ("edge_regresion", "edge_regression"),
        ("link_predicton", "link_prediction"),
    ] {
        let text = format!("gsf:\n  {typo}:\n    label_field: y\n");
        let msg = yaml::parse(Path::new("typo.yaml"), &text)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(&format!("unknown task section `{typo}` in `typo.yaml`"))
                && msg.contains(&format!("did you mean `{want}`?")),
            "{msg}"
        );
    }
}

/// A value that differs from `spec`'s default, as JSON (which YAML reads as is).
fn non_default(spec: &OptionSpec) -> Value {
    let v = match (spec.kind, spec.default) {
        _ if spec.key == "backend" => json!("nccl"),
        (ValueKind::Bool, DefaultValue::Bool(b)) => json!(!b),
        (ValueKind::Bool, _) => json!(true),
        (ValueKind::Int, DefaultValue::Int(d)) => json!(d + 1),
        (ValueKind::Int, _) => json!(7),
        (ValueKind::Float, DefaultValue::Float(d)) => json!(d + 0.5),
        (ValueKind::Float, _) => json!(0.5),
        (ValueKind::StrList | ValueKind::CommaList, _) => json!(["a,b,c"]),
        (ValueKind::FloatList, _) => json!([0.5]),
        (ValueKind::Str | ValueKind::Any, _) => json!("other"),
    };
    assert!(spec.is_non_default(&v), "{}: {v}", spec.key);
    v
}

/// The same value as command-line tokens after the flag.
fn cli_tokens(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.to_string().replace('"', ""))
            .collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

/// Every option that is refused names itself (and the file) at a non-default value, from YAML
/// and from the command line; every ignored one only warns, naming itself.
#[test]
fn refused_keys_name_themselves_and_ignored_ones_only_warn() {
    let fx = Fixtures::new();
    let (mut refused, mut warned) = (0, 0);
    for spec in options::known_options() {
        // scale-out has its own error (tests.rs::scale_out_is_refused_with_a_distinct_error)
        if matches!(spec.key, "ip_config" | "num_trainers") || spec.support.is_supported() {
            continue;
        }
        let value = non_default(spec);
        let doc = json!({"version": 1.0, "gsf": {"sec": {spec.key: value}}});
        let cf = fx.yaml(&format!("{}.yaml", spec.key), &doc.to_string());
        let file = cf.display().to_string();
        let from_yaml = resolve(&with_cf(&cf, &nc("").join(" ")), None);
        let mut from_cli = nc("");
        from_cli.push(spec.flag());
        from_cli.extend(cli_tokens(&value));
        let from_cli = (!spec.is_yaml_only()).then(|| resolve(&from_cli, None));
        match spec.support {
            Support::NotYetSupported(reason) => {
                refused += 1;
                let msg = from_yaml.expect_err(spec.key).to_string();
                assert!(
                    msg.starts_with(&format!("`{}` in `{file}` (section `sec`) = `", spec.key))
                        && msg.contains("is not supported by gs yet")
                        && msg.contains(reason)
                        && msg.contains("hint: remove it"),
                    "{msg}"
                );
                if let Some(r) = from_cli {
                    let msg = r.expect_err(spec.key).to_string();
                    assert!(
                        msg.starts_with(&format!("`{}` = `", spec.flag())) && msg.contains(reason),
                        "{msg}"
                    );
                }
            }
            Support::Ignored(reason) => {
                warned += 1;
                let r = from_yaml.unwrap_or_else(|e| panic!("{}: {e}", spec.key));
                assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
                assert!(
                    r.warnings[0].starts_with(&format!("`{}` in `{file}`", spec.key))
                        && r.warnings[0].contains(reason),
                    "{:?}",
                    r.warnings
                );
                if let Some(r) = from_cli {
                    let r = r.unwrap_or_else(|e| panic!("{}: {e}", spec.flag()));
                    assert!(
                        r.warnings.iter().any(|w| w.contains(&spec.flag())),
                        "{:?}",
                        r.warnings
                    );
                }
            }
            Support::Supported(_) => unreachable!(),
        }
    }
    assert!(
        refused > 15 && warned > 20,
        "{refused} refused, {warned} warned"
    );
}

/// GraphStorm's multi-target node tasks (`target_ntype` a list, `num_classes` per node type)
/// are refused by name.
#[test]
fn several_target_node_types_are_refused_by_name() {
    for (task, key) in [
        ("target_ntype: [movie, user]", "target_ntype"),
        ("num_classes: {movie: 3, user: 2}", "num_classes"),
    ] {
        let text = format!("gsf:\n  node_classification:\n    {task}\n");
        let msg = yaml::parse(Path::new("multi.yaml"), &text)
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with(&format!(
                "`{key}` in `multi.yaml` (section `node_classification`) = `"
            )) && msg.contains("several target node types"),
            "{msg}"
        );
    }
    // a one-element list is one node type
    let (map, _) = flatten("gsf:\n  node_classification:\n    target_ntype: [movie]\n");
    assert_eq!(map["target_ntype"].1, json!("movie"));
}

#[test]
fn backend_verbose_and_use_graphbolt_follow_graphstorm() {
    let fx = Fixtures::new();
    let run = |basic: &str| {
        let cf = fx.yaml("basic.yaml", &format!("gsf:\n  basic:\n{basic}"));
        resolve(&with_cf(&cf, &nc("").join(" ")), None)
    };
    // the defaults, written out, are silent
    let r = run("    backend: gloo\n    verbose: false\n    use_graphbolt: false\n").unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // nccl: accepted (GraphStorm accepts it), with a warning that it changes nothing
    let r = run("    backend: nccl\n").unwrap();
    assert!(
        r.warnings[0].contains("`backend`") && r.warnings[0].contains("no effect"),
        "{:?}",
        r.warnings
    );
    // anything else GraphStorm rejects too
    let msg = run("    backend: mpi\n").unwrap_err().to_string();
    assert!(
        msg.contains("`backend` in `") && msg.contains("got `mpi`, expected one of gloo, nccl"),
        "{msg}"
    );
    let msg = resolve(&nc("--backend mpi"), None).unwrap_err().to_string();
    assert!(msg.starts_with("`--backend`: got `mpi`"), "{msg}");
    // verbose: GraphStorm deprecated it; a warning pointing at --logging-level
    let r = run("    verbose: true\n").unwrap();
    assert!(
        r.warnings[0].contains("`verbose`") && r.warnings[0].contains("--logging-level debug"),
        "{:?}",
        r.warnings
    );
    // use_graphbolt: true is refused by name
    let msg = run("    use_graphbolt: true\n").unwrap_err().to_string();
    assert!(
        msg.contains("`use_graphbolt` in `") && msg.contains("not DGL GraphBolt"),
        "{msg}"
    );
}

/// The supported keys of the task files above resolve to what the file says, `rgcn:` section
/// included.
#[test]
fn a_graphstorm_nc_file_with_an_rgcn_section_resolves() {
    let fx = Fixtures::new();
    let cf = fx.yaml(
        "nc.yaml",
        r#"version: 1.0
gsf:
  basic:
    model_encoder_type: rgcn
    backend: gloo
  gnn:
    node_feat_name: ["movie:title"]
    fanout: "10,5"
    num_layers: 2
    hidden_size: 32
  hyperparam:
    lr: 0.01
    batch_size: 64
    num_epochs: 2
  rgcn:
    num_bases: 2
    use_self_loop: false
  node_classification:
    target_ntype: movie
    label_field: genre
    num_classes: 19
udf:
  my_arg: 3
"#,
    );
    let r = resolve(&with_cf(&cf, "--part-config g.json --num-trainers 1"), None).unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let map = r.train.to_map();
    assert_eq!(map["num_bases"], json!(2));
    assert_eq!(map["use_self_loop"], json!(false));
    assert_eq!(map["fanout"], json!("10,5"));
    assert_eq!(map["num_classes"], json!(19));
    assert_eq!(r.train.task_type, TaskType::NodeClassification);
    assert_eq!(r.custom_args, argv("--my_arg 3"));
}
