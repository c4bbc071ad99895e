//! The resolved configuration written back in GraphStorm's YAML layout, as GraphStorm's
//! `GRAPHSTORM_RUNTIME_UPDATED_TRAINING_CONFIG.yaml` (the YAML with every override merged in).

use std::collections::BTreeMap;

use crate::TrainConfig;
use crate::options::{Section, known_options};

/// File name GraphStorm gives the merged configuration beside saved models.
pub const RUNTIME_CONFIG_FILE: &str = "GRAPHSTORM_RUNTIME_UPDATED_TRAINING_CONFIG.yaml";

fn section_key(section: Section, config: &TrainConfig) -> &'static str {
    match section {
        Section::Basic | Section::Launch => "basic",
        Section::Gnn => "gnn",
        Section::Input => "input",
        Section::Output => "output",
        Section::Hyperparam | Section::Eval => "hyperparam",
        Section::Rgcn => "rgcn",
        Section::Rgat => "rgat",
        Section::NodeTask | Section::EdgeTask | Section::LinkPrediction => config.task_type.name(),
        _ => "gs",
    }
}

/// `version: 1.0` and `gsf:` with every set value under its GraphStorm section; the task's
/// keys under the task's section. Reading it back with `--cf` gives the same configuration.
pub fn graphstorm_yaml(config: &TrainConfig) -> String {
    let values = config.to_map();
    let mut sections: BTreeMap<&str, serde_yaml::Mapping> = BTreeMap::new();
    for (key, value) in values {
        if value.is_null() || key == "task_type" {
            continue;
        }
        let section = known_options()
            .iter()
            .find(|o| o.key == key)
            .map_or("gs", |o| section_key(o.section, config));
        let value: serde_yaml::Value =
            serde_yaml::to_value(&value).unwrap_or(serde_yaml::Value::Null);
        sections
            .entry(section)
            .or_default()
            .insert(serde_yaml::Value::String(key), value);
    }
    // A task section is what tells GraphStorm (and gs) the task, even when it holds nothing else.
    sections.entry(config.task_type.name()).or_default();
    let gsf: serde_yaml::Mapping = sections
        .into_iter()
        .map(|(k, v)| {
            (
                serde_yaml::Value::String(k.to_string()),
                serde_yaml::Value::Mapping(v),
            )
        })
        .collect();
    let mut root = serde_yaml::Mapping::new();
    root.insert("version".into(), serde_yaml::Value::Number(1.0.into()));
    root.insert("gsf".into(), serde_yaml::Value::Mapping(gsf));
    serde_yaml::to_string(&root).unwrap_or_default()
}
