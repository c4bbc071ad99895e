//! End-to-end tests of `resolve`: command lines, YAML files written to a temp dir, checkpoints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::*;

mod graphstorm_yaml;

/// A temp dir holding YAML fixtures; removed on drop.
struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    fn new() -> Fixtures {
        Fixtures {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn yaml(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write fixture");
        path
    }
}

fn argv(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// A complete node-classification command line apart from `extra`.
fn nc(extra: &str) -> Vec<String> {
    argv(&format!(
        "--part-config g.json --num-trainers 1 --task-type node_classification --label-field y \
         --num-classes 3 --hidden-size 16 --lr 0.01 --batch-size 32 {extra}"
    ))
}

fn with_cf(cf: &Path, rest: &str) -> Vec<String> {
    let mut v = argv("--cf");
    v.push(cf.display().to_string());
    v.extend(argv(rest));
    v
}

const NC_YAML: &str = "\
version: 1.0
gsf:
  basic:
    model_encoder_type: rgcn
    backend: gloo
  gnn:
    fanout: \"10,5\"
    num_layers: 2
    hidden_size: 64
    use_mini_batch_infer: false
  hyperparam:
    lr: 0.005
    num_epochs: 2
    dropout: 0.2
    batch_size: 128
  node_classification:
    target_ntype: paper
    label_field: venue
    num_classes: 7
";

#[test]
fn cli_beats_yaml_beats_checkpoint_beats_defaults() {
    let fx = Fixtures::new();
    let cf = fx.yaml("nc.yaml", NC_YAML);
    let checkpoint: BTreeMap<String, Value> = [
        ("num_epochs", json!(1)),
        ("dropout", json!(0.1)),
        ("eval_batch_size", json!(500)),
        ("hidden_size", json!(8)),
        ("wd_l2norm", json!(0.001)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let r = resolve(
        &with_cf(&cf, "--part-config g.json --num-trainers 1 --num-epochs 3"),
        Some(&checkpoint),
    )
    .unwrap();
    assert_eq!(r.train.num_epochs, 3);
    assert_eq!(r.sources["num_epochs"], Source::Cli);
    assert_eq!(r.train.dropout, 0.2);
    assert_eq!(r.sources["dropout"], Source::Yaml);
    assert_eq!(r.train.hidden_size, 64, "yaml beats checkpoint");
    assert_eq!(r.train.eval_batch_size, 500);
    assert_eq!(r.sources["eval_batch_size"], Source::Checkpoint);
    assert_eq!(r.train.wd_l2norm, 0.001);
    assert_eq!(r.train.early_stop_rounds, 3);
    assert_eq!(r.sources["early_stop_rounds"], Source::Default);
    assert_eq!(r.train.task_type, TaskType::NodeClassification);
    assert_eq!(r.sources["task_type"], Source::Yaml);
    assert_eq!(r.train.target_ntype, "paper");
    assert_eq!(r.train.eval_fanout.as_deref(), Some("-1,-1"));
    assert_eq!(r.train.eval_metric, ["accuracy"]);
    assert!(!r.train.use_mini_batch_infer);
    assert_eq!(r.launch.plugin, Some(PluginRef::Builtin("rgcn".into())));
    assert_eq!(r.sources["plugin"], Source::Yaml);
    assert!(
        r.warnings.is_empty(),
        "backend: gloo is the default: {:?}",
        r.warnings
    );
    let summary = r.summary();
    assert!(
        summary.contains("num_epochs") && summary.contains("= 3  (cli)"),
        "{summary}"
    );
    assert!(
        summary.contains("(checkpoint)") && summary.contains("(default)"),
        "{summary}"
    );
}

#[test]
fn flags_anywhere_and_with_equals() {
    let fx = Fixtures::new();
    let cf = fx.yaml("nc.yaml", NC_YAML);
    let mut args = argv("--num-epochs=5 --num_trainers=1");
    args.extend(with_cf(
        &cf,
        "--lr=0.1 --part-config=g.json --device cuda:1 --use-early-stop",
    ));
    let r = resolve(&args, None).unwrap();
    assert_eq!(r.train.num_epochs, 5);
    assert_eq!(r.train.lr, 0.1);
    assert_eq!(r.launch.part_config, PathBuf::from("g.json"));
    assert_eq!(r.launch.device, Device::Cuda(1));
    assert!(r.train.use_early_stop);
    assert_eq!(r.launch.yaml_config_file.as_deref(), Some(cf.as_path()));
}

#[test]
fn custom_args_keep_order_udf_first() {
    let fx = Fixtures::new();
    let yaml = format!("{NC_YAML}udf:\n  hidden: 128\n  act: relu\n");
    let cf = fx.yaml("nc.yaml", &yaml);
    let args = with_cf(
        &cf,
        "--part-config g.json --my-flag 1 --num-trainers 1 --switch --lr 0.1 -- --x y --lr 9",
    );
    let r = resolve(&args, None).unwrap();
    assert_eq!(
        r.custom_args,
        argv("--hidden 128 --act relu --my-flag 1 --switch --x y --lr 9")
    );
    assert_eq!(r.train.lr, 0.1, "`--lr` after `--` belongs to the plugin");
}

#[test]
fn typo_key_in_yaml_suggests_the_known_key() {
    let fx = Fixtures::new();
    let cf = fx.yaml("typo.yaml", "gsf:\n  hyperparam:\n    batchsize: 64\n");
    let err = resolve(&with_cf(&cf, ""), None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::UnknownYamlKey { .. }));
    assert!(
        msg.contains("unknown key `batchsize` in section `hyperparam`"),
        "{msg}"
    );
    assert!(msg.contains("typo.yaml"), "{msg}");
    assert!(msg.contains("did you mean `batch_size`?"), "{msg}");
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let fx = Fixtures::new();
    let cf = fx.yaml(
        "bad.yaml",
        "gsf:\n  hyperparam:\n    lr: [0.1\n    batch_size: 3\n",
    );
    let err = resolve(&with_cf(&cf, ""), None).unwrap_err();
    let ConfigError::MalformedYaml { file, line, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(file, &cf);
    assert!(line.is_some_and(|l| l >= 3), "{err}");
    assert!(err.to_string().contains("bad.yaml` at line"), "{err}");
}

#[test]
fn missing_yaml_file_is_named() {
    let err = resolve(&argv("--cf no-such-file.yaml"), None).unwrap_err();
    assert!(matches!(err, ConfigError::ReadYaml { .. }));
    assert!(err.to_string().contains("no-such-file.yaml"), "{err}");
}

#[test]
fn missing_required_values_are_all_named() {
    let err = resolve(&argv("--task-type node_classification"), None).unwrap_err();
    let ConfigError::Missing { missing, .. } = &err else {
        panic!("{err}")
    };
    let msg = err.to_string();
    for flag in [
        "--part-config",
        "--num-trainers",
        "--hidden-size",
        "--lr",
        "--batch-size",
        "--label-field",
        "--num-classes",
    ] {
        assert!(msg.contains(flag), "{flag} not named in: {msg}");
    }
    assert_eq!(missing.len(), 7, "{missing:?}");
    assert!(msg.contains("hint:"));

    let err = resolve(
        &argv("--part-config g.json --num-trainers 1 --hidden-size 4 --lr 1 --batch-size 1"),
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("task section"), "{err}");

    let err = resolve(&nc("--inference"), None).unwrap_err();
    assert!(err.to_string().contains("--restore-model-path"), "{err}");
}

#[test]
fn none_means_unset_for_save_paths() {
    let r = resolve(&nc("--save-model-path none --save-embed-path emb"), None).unwrap();
    assert_eq!(r.train.save_model_path, None);
    assert_eq!(r.train.save_embed_path, Some(PathBuf::from("emb")));
    assert_eq!(
        r.train.save_prediction_path,
        Some(PathBuf::from("emb")),
        "defaults to save_embed_path"
    );
    let r = resolve(
        &nc("--save-embed-path emb --save-prediction-path none"),
        None,
    )
    .unwrap();
    assert_eq!(r.train.save_prediction_path, None);
    assert_eq!(r.sources["save_prediction_path"], Source::Cli);

    let fx = Fixtures::new();
    let cf = fx.yaml(
        "o.yaml",
        "gsf:\n  output:\n    save_model_path: none\n    save_embed_path: None\n",
    );
    let r = resolve(&with_cf(&cf, &nc("").join(" ")), None).unwrap();
    assert_eq!(r.train.save_model_path, None);
    assert_eq!(r.train.save_embed_path, None);
}

#[test]
fn train_config_round_trips_through_the_checkpoint_map() {
    let fx = Fixtures::new();
    let cf = fx.yaml("nc.yaml", NC_YAML);
    let trained = resolve(
        &with_cf(
            &cf,
            "--part-config g.json --num-trainers 1 --save-model-path m --save-embed-path e --save-prediction-path none \
             --eval-metric accuracy F1_score --node-feat-name paper:feat author:x,y --max-grad-norm 1.5 \
             --imbalance-class-weights 1,2,1,1,1,1,1 --topk-model-to-save 2 --seed 7 --device cuda",
        ),
        None,
    )
    .unwrap();
    let map = trained.train.to_map();
    assert_eq!(map["eval_metric"], json!(["accuracy", "f1_score"]));
    assert_eq!(map["save_prediction_path"], Value::Null);

    let rebuilt = resolve(&argv("--part-config g.json --num-trainers 1"), Some(&map)).unwrap();
    assert_eq!(rebuilt.train, trained.train);
    assert_eq!(rebuilt.sources["hidden_size"], Source::Checkpoint);
    assert_eq!(
        rebuilt.launch.device,
        Device::Cpu,
        "the device is not saved with a checkpoint"
    );

    // The struct itself round-trips through serde, and unknown fields are refused.
    let as_json = serde_json::to_value(&trained.train).unwrap();
    let back: TrainConfig = serde_json::from_value(as_json.clone()).unwrap();
    assert_eq!(back, trained.train);
    let mut extra = as_json;
    extra["surprise"] = json!(1);
    assert!(serde_json::from_value::<TrainConfig>(extra).is_err());

    let mut bad = map.clone();
    bad.insert("not_a_key".into(), json!(1));
    let err = resolve(&argv("--part-config g.json --num-trainers 1"), Some(&bad)).unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownCheckpointKey { key } if key == "not_a_key"),
        "{err}"
    );
}

#[test]
fn scale_out_is_refused_with_a_distinct_error() {
    let args = nc("")
        .into_iter()
        .map(|a| if a == "1" { "2".to_string() } else { a })
        .collect::<Vec<_>>();
    let err = resolve(&args, None).unwrap_err();
    assert!(matches!(err, ConfigError::ScaleOutNotSupported { .. }));
    assert_eq!(
        err.to_string(),
        "multi-trainer / multi-machine training is not supported yet (got --num-trainers 2); hint: use --num-trainers 1"
    );
    // even when nothing else is given
    let err = resolve(&argv("--num-trainers 4"), None).unwrap_err();
    assert!(
        matches!(err, ConfigError::ScaleOutNotSupported { .. }),
        "{err}"
    );

    let err = resolve(&nc("--ip-config ip_list.txt"), None).unwrap_err();
    assert!(matches!(err, ConfigError::ScaleOutNotSupported { .. }));
    assert!(
        err.to_string().contains("(got --ip-config ip_list.txt)"),
        "{err}"
    );

    // GraphStorm's example YAML files carry `ip_config`; there it only warns.
    let fx = Fixtures::new();
    let cf = fx.yaml("ip.yaml", "gsf:\n  basic:\n    ip_config: ip_list.txt\n");
    let r = resolve(&with_cf(&cf, &nc("").join(" ")), None).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("ip_config") && w.contains("ignored")),
        "{:?}",
        r.warnings
    );

    let err = resolve(&nc("--num-trainers 0"), None).unwrap_err();
    assert!(
        err.to_string().contains("`--num-trainers`: got `0`"),
        "{err}"
    );
}

#[test]
fn ignored_options_warn_and_unsupported_ones_fail() {
    let r = resolve(
        &nc("--use-wholegraph-embed --num-servers 1 --ssh-port 2222 --graph-format csc"),
        None,
    )
    .unwrap();
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    assert!(
        r.warnings.iter().any(|w| w.starts_with(
            "`--use-wholegraph-embed` is accepted for compatibility but has no effect in gs yet"
        )),
        "{:?}",
        r.warnings
    );
    let err = resolve(&nc("--use-graphbolt"), None).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("`--use-graphbolt` = `true` is not supported by gs yet: gs samples"),
        "{err}"
    );
    assert!(resolve(&nc("--use-graphbolt false"), None).is_ok());
    assert!(
        r.warnings.iter().any(|w| w.contains("`--ssh-port`")),
        "{:?}",
        r.warnings
    );

    let fx = Fixtures::new();
    let cf = fx.yaml(
        "legacy.yaml",
        "gsf:\n  output:\n    save_embeds_path: emb\n",
    );
    let r = resolve(&with_cf(&cf, &nc("").join(" ")), None).unwrap();
    assert!(
        r.warnings[0].contains("`save_embeds_path`")
            && r.warnings[0].contains("did you mean `save_embed_path`?"),
        "{:?}",
        r.warnings
    );

    // GraphStorm's flagship acm_nc.yaml sets lm_tune_lr without any language model
    let cf = fx.yaml("acm.yaml", "gsf:\n  hyperparam:\n    lm_tune_lr: 0.0001\n  node_classification:\n    target_ntype: [paper]\n");
    let r = resolve(&with_cf(&cf, &nc("").join(" ")), None).unwrap();
    assert!(
        r.warnings[0].contains("`lm_tune_lr` in `")
            && r.warnings[0].contains("no effect in gs yet"),
        "{:?}",
        r.warnings
    );
    assert_eq!(r.train.target_ntype, "paper");
    let cf = fx.yaml(
        "multi.yaml",
        "gsf:\n  node_classification:\n    target_ntype: [movie, user]\n",
    );
    let err = resolve(&with_cf(&cf, &nc("").join(" ")), None).unwrap_err();
    assert!(err.to_string().contains("`target_ntype` in `"), "{err}");
    assert!(
        err.to_string()
            .contains("= `movie user` is not supported by gs yet: several target node types"),
        "{err}"
    );

    let err = resolve(&nc("--lm-encoder-only"), None).unwrap_err();
    assert!(matches!(err, ConfigError::NotYetSupported { .. }));
    assert!(
        err.to_string()
            .contains("`--lm-encoder-only` = `true` is not supported by gs yet"),
        "{err}"
    );
    assert!(
        resolve(&nc("--lm-encoder-only false"), None).is_ok(),
        "the default value is fine"
    );
    // GraphStorm's layer names are accepted; another is refused naming it.
    let ok = resolve(&nc("--restore-model-layers embed,gnn"), None).unwrap();
    assert_eq!(ok.train.restore_model_layers, ["embed", "gnn"]);
    let err = resolve(&nc("--restore-model-layers gnn,encoder"), None).unwrap_err();
    assert!(
        err.to_string().contains("encoder") && err.to_string().contains("dense_embed"),
        "{err}"
    );
}

#[test]
fn fanout_must_match_num_layers() {
    let err = resolve(&nc("--fanout 10,10"), None).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("fanout has 2 layers but num_layers is 0"),
        "{msg}"
    );
    assert!(msg.contains("hint: set --num-layers 2"), "{msg}");
    // With no message passing on purpose, the fanout is what goes.
    for extra in ["--num-layers 0", "--model-encoder-type mlp"] {
        let err = resolve(&nc(&format!("--fanout 10,10 {extra}")), None).unwrap_err();
        assert!(err.to_string().contains("remove `fanout`"), "{err}");
    }
    let err = resolve(&nc("--num-layers 2"), None).unwrap_err();
    assert!(err.to_string().contains("--fanout"), "{err}");
    let r = resolve(&nc("--num-layers 2 --fanout a/r/b:5@b/s/a:3,-1"), None).unwrap();
    assert_eq!(r.train.fanout.as_deref(), Some("a/r/b:5@b/s/a:3,-1"));
    let err = resolve(&nc("--num-layers 1 --fanout ten"), None).unwrap_err();
    assert!(err.to_string().contains("`--fanout`: got `ten`"), "{err}");
    let err = resolve(&nc("--num-layers 2 --fanout 5,5 --eval-fanout 5"), None).unwrap_err();
    assert!(
        err.to_string()
            .contains("eval_fanout has 1 layers but num_layers is 2"),
        "{err}"
    );
}

#[test]
fn bad_values_name_key_and_value() {
    for (extra, needle) in [
        ("--lr 0", "`--lr`: got `0`, expected a number > 0"),
        ("--lr -1", "`--lr`: got `-1`"),
        ("--batch-size 0", "`--batch-size`: got `0`"),
        ("--dropout 1", "`--dropout`: got `1`"),
        (
            "--task-type node_clasification",
            "did you mean `node_classification`?",
        ),
        ("--device tpu", "`--device`: got `tpu`"),
        (
            "--early-stop-strategy avg",
            "`--early-stop-strategy`: got `avg`",
        ),
        ("--eval-metric acuracy", "did you mean `accuracy`?"),
        ("--eval-metric mrr", "a node_classification metric"),
        ("--num-classes 1", "`--num-classes`: got `1`"),
        ("--imbalance-class-weights 1,2", "3 positive weights"),
        ("--topk-model-to-save 2", "add --save-model-path"),
        ("--num-epochs -3", "`--num-epochs`: got `-3`"),
    ] {
        let err = resolve(&nc(extra), None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(needle), "{extra}: {msg}");
        assert!(msg.contains("hint:"), "{extra}: {msg}");
    }
    let fx = Fixtures::new();
    let cf = fx.yaml("v.yaml", "gsf:\n  hyperparam:\n    lr: -0.5\n");
    let err = resolve(&with_cf(&cf, "--part-config g.json --num-trainers 1"), None).unwrap_err();
    assert!(err.to_string().contains("`lr` in `"), "{err}");
    assert!(
        err.to_string()
            .contains("(section `hyperparam`): got `-0.5`"),
        "{err}"
    );
}

#[test]
fn task_defaults_and_checks() {
    // Link prediction's keys act; `model_select_etype` other than `ALL` is refused by name.
    let lp = argv(
        "--part-config g.json --num-trainers 1 --task-type link_prediction --hidden-size 4 --lr 0.1 --batch-size 8",
    );
    let mut keys = lp.clone();
    keys.extend(argv(
        "--num-negative-edges 4 --eval-negative-sampler full_filtered --exclude-training-targets false",
    ));
    let r = resolve(&keys, None).unwrap();
    assert_eq!(r.train.num_negative_edges, 4);
    assert_eq!(r.train.eval_negative_sampler, "full_filtered");
    let mut refused = lp.clone();
    refused.extend(argv("--model-select-etype user,rates,item"));
    let err = resolve(&refused, None).unwrap_err();
    assert!(matches!(err, ConfigError::NotYetSupported { .. }), "{err}");
    assert!(
        err.to_string().contains("`--model-select-etype`")
            && err.to_string().contains("mean over evaluation edge types"),
        "{err}"
    );

    let er = argv(
        "--part-config g.json --num-trainers 1 --task-type edge_regression --label-field w --hidden-size 4 --lr 0.1 --batch-size 8",
    );
    let r = resolve(&er, None).unwrap();
    assert_eq!(r.train.target_etype.as_deref(), Some("_N,_E,_N"));
    assert_eq!(r.train.eval_metric, ["rmse"]);
    let mut two = er.clone();
    two.extend(argv("--target-etype a,r,b c,s,d"));
    let err = resolve(&two, None).unwrap_err();
    assert!(err.to_string().contains("`--target-etype`"), "{err}");
    let mut one = er.clone();
    one.extend(argv("--target-etype a,r,b"));
    let r = resolve(&one, None).unwrap();
    assert_eq!(r.train.target_etype.as_deref(), Some("a,r,b"));
}

#[test]
fn model_encoder_type_names_the_builtin_plugin() {
    let r = resolve(&nc(""), None).unwrap();
    assert_eq!(r.launch.plugin, None);
    let r = resolve(&nc("--model-encoder-type sage"), None).unwrap();
    assert_eq!(r.launch.plugin, Some(PluginRef::Builtin("sage".into())));
    assert_eq!(r.sources["plugin"], Source::Cli);
    let r = resolve(&nc("--model-encoder-type sage --plugin gat"), None).unwrap();
    assert_eq!(
        r.launch.plugin,
        Some(PluginRef::Builtin("gat".into())),
        "--plugin wins"
    );
    // A checkpoint's `model_encoder_type` picks nothing: the checkpoint's own plugin runs,
    // which may be a custom component trained with a YAML that named an encoder too.
    let checkpoint: BTreeMap<String, Value> =
        [("model_encoder_type".to_string(), Value::from("sage"))].into();
    let r = resolve(&nc(""), Some(&checkpoint)).unwrap();
    assert_eq!(r.train.model_encoder_type.as_deref(), Some("sage"));
    assert_eq!(r.launch.plugin, None);
}

#[test]
fn yaml_task_section_and_task_type_must_agree() {
    let fx = Fixtures::new();
    let cf = fx.yaml("t.yaml", "gsf:\n  basic:\n    task_type: node_regression\n  node_classification:\n    num_classes: 2\n");
    let err = resolve(&with_cf(&cf, ""), None).unwrap_err();
    assert!(
        err.to_string().contains("as the task section says"),
        "{err}"
    );
    // the command line may still override the section
    let cf = fx.yaml("u.yaml", "gsf:\n  node_regression:\n    label_field: y\n");
    let r = resolve(&with_cf(&cf, &nc("").join(" ")), None).unwrap();
    assert_eq!(r.train.task_type, TaskType::NodeClassification);
}

#[test]
fn a_subcommand_task_is_only_a_fallback() {
    let base = "--part-config g.json --num-trainers 1 --label-field y --hidden-size 4 --lr 0.1 --batch-size 8";
    let r = parse(&argv(base))
        .unwrap()
        .with_default_task(TaskType::NodeRegression)
        .resolve(None)
        .unwrap();
    assert_eq!(r.train.task_type, TaskType::NodeRegression);
    assert_eq!(r.sources["task_type"], Source::Cli);
    let fx = Fixtures::new();
    let cf = fx.yaml(
        "nr.yaml",
        "gsf:\n  node_classification:\n    num_classes: 4\n",
    );
    let r = parse(&with_cf(&cf, base))
        .unwrap()
        .with_default_task(TaskType::NodeRegression)
        .resolve(None)
        .unwrap();
    assert_eq!(
        r.train.task_type,
        TaskType::NodeClassification,
        "the YAML section wins"
    );
}

#[test]
fn plugin_device_and_workspace() {
    let r = resolve(&nc("--plugin sage"), None).unwrap();
    assert_eq!(r.launch.plugin, Some(PluginRef::Builtin("sage".into())));
    assert_eq!(r.sources["plugin"], Source::Cli);
    let r = resolve(
        &nc("--plugin models/my.wasm --workspace ws --save-model-path out"),
        None,
    )
    .unwrap();
    assert_eq!(
        r.launch.plugin,
        Some(PluginRef::Path(PathBuf::from("ws/models/my.wasm")))
    );
    assert_eq!(r.launch.part_config, PathBuf::from("ws/g.json"));
    assert_eq!(r.train.save_model_path, Some(PathBuf::from("ws/out")));
    let r = resolve(&nc(""), None).unwrap();
    assert_eq!(r.launch.plugin, None);
    assert_eq!(r.launch.device, Device::Cpu);
    assert_eq!(r.train.seed, 42);
    assert_eq!(r.train.plugin_memory_mb, 512);
    assert_eq!(r.train.plugin_call_timeout, 60);
    assert_eq!(r.train.plugin_max_tensors, 100_000);
    assert_eq!(r.train.plugin_tensor_budget_mb, 4096);

    // --cf is read relative to --workspace, as GraphStorm's launcher does
    let fx = Fixtures::new();
    fx.yaml("nc.yaml", NC_YAML);
    let mut args = argv("--cf nc.yaml --part-config g.json --num-trainers 1 --workspace");
    args.push(fx.dir.path().display().to_string());
    let r = resolve(&args, None).unwrap();
    assert_eq!(r.train.num_classes, Some(7));
}

#[test]
fn parse_then_resolve_exposes_restore_path_first() {
    let input = parse(&nc("--inference --restore-model-path model/epoch-1")).unwrap();
    assert!(input.inference());
    assert_eq!(
        input.restore_model_path(),
        Some(PathBuf::from("model/epoch-1"))
    );
    let r = input.resolve(None).unwrap();
    assert!(r.launch.inference);
    assert_eq!(
        r.train.restore_model_path,
        Some(PathBuf::from("model/epoch-1"))
    );
}

#[test]
fn table_and_structs_agree() {
    let r = resolve(&nc(""), None).unwrap();
    let mut keys: Vec<String> = r.train.to_map().into_keys().collect();
    if let Value::Object(launch) = serde_json::to_value(&r.launch).unwrap() {
        keys.extend(launch.into_iter().map(|(k, _)| k));
    }
    keys.sort();
    let mut supported: Vec<String> = known_options()
        .iter()
        .filter(|s| s.support.is_supported())
        .map(|s| s.key.to_string())
        .collect();
    supported.sort();
    for key in &supported {
        assert!(
            keys.contains(key),
            "the Supported option `{key}` has no field"
        );
    }
    // The other fields belong to refused options, kept at their defaults so that saved
    // configs stay complete; a value other than the default never resolves.
    for key in keys.iter().filter(|k| !supported.contains(k)) {
        let spec = known_options().iter().find(|s| s.key == key.as_str());
        assert!(
            spec.is_some_and(|s| matches!(
                s.support,
                Support::NotYetSupported(_) | Support::Ignored(_)
            )),
            "the field `{key}` has no option, or a Supported one"
        );
    }
    let source_keys: Vec<String> = r.sources.keys().cloned().collect();
    assert_eq!(source_keys, supported);
}

#[test]
fn help_text_is_grouped() {
    let help = help_text();
    let launch = help.find("Launch:").unwrap();
    let gnn = help.find("GNN encoder:").unwrap();
    assert!(launch < gnn);
    assert!(help.contains("--cf, --yaml-config-file"));
    assert!(help.contains("everything after `--` goes to the plugin"));
}

#[test]
fn the_runtime_yaml_reads_back_to_the_same_config() {
    let fx = Fixtures::new();
    let original = resolve(
        &nc("--num-layers 2 --fanout 10,5 --dropout 0.25 --node-feat-name paper:feat --save-model-path m \
             --eval-metric accuracy --seed 9 --plugin-call-timeout 5"),
        None,
    )
    .unwrap()
    .train;
    let text = graphstorm_yaml(&original);
    assert!(
        text.contains("node_classification:") && text.contains("hyperparam:"),
        "{text}"
    );
    let cf = fx.yaml(RUNTIME_CONFIG_FILE, &text);
    let back = resolve(&with_cf(&cf, "--part-config g.json --num-trainers 1"), None)
        .unwrap()
        .train;
    assert_eq!(back, original);
}

#[test]
fn grad_norm_type_takes_numbers_and_inf_and_survives_the_checkpoint_map() {
    assert_eq!(resolve(&nc(""), None).unwrap().train.grad_norm_type, 2.0);
    assert_eq!(
        resolve(&nc("--grad-norm-type 1"), None)
            .unwrap()
            .train
            .grad_norm_type,
        1.0
    );
    let inf = resolve(&nc("--grad-norm-type inf --max-grad-norm 1"), None)
        .unwrap()
        .train;
    assert!(inf.grad_norm_type.is_infinite());
    let map = inf.to_map();
    assert_eq!(map["grad_norm_type"], json!("inf"));
    let back = resolve(&argv("--part-config g.json --num-trainers 1"), Some(&map)).unwrap();
    assert_eq!(back.train, inf);
    let err = resolve(&nc("--grad-norm-type 0"), None).unwrap_err();
    assert!(
        err.to_string().contains("`--grad-norm-type`") && err.to_string().contains("inf"),
        "{err}"
    );
}
