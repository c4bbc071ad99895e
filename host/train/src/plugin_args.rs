//! A plugin's custom arguments, checked against what its `describe` lists, and the GraphStorm
//! model keys ([`gs_config::PLUGIN_KEYS`]) that reach a plugin listing them.

use gs_config::PluginKey;
use gs_runtime::HyperParam;

/// Whether hyper-parameter `name` is GraphStorm key `key` (`num_bases` or `num-bases`).
fn names_key(name: &str, key: &str) -> bool {
    name.replace('-', "_") == key
}

/// [`resolve_custom_args`], plus the GraphStorm keys a plugin may read: every hyper-parameter
/// the plugin lists under a key of `keys` (`num_bases`, `use_self_loop`) gets that key's
/// resolved value, so `init` sees the YAML's `gsf.rgcn.num_bases` or `--num-bases` (or the
/// default) in its custom arguments.
///
/// Errors, each naming the key and the plugin: a key of `keys` set to a non-default value
/// that the plugin does not list (nothing would read it), and a key passed as a custom
/// argument (after `--` or in `udf`) instead of as the GraphStorm key it is.
pub fn resolve_plugin_args(
    plugin: &str,
    args: &[String],
    accepted: &[HyperParam],
    keys: &[PluginKey],
) -> Result<Vec<(String, String)>, String> {
    for key in keys {
        let read = accepted.iter().any(|h| names_key(&h.name, key.key));
        if key.non_default && !read {
            let reads: Vec<&str> = accepted
                .iter()
                .filter(|h| keys.iter().any(|k| names_key(&h.name, k.key)))
                .map(|h| h.name.as_str())
                .collect();
            return Err(format!(
                "{} is not read by plugin `{plugin}`, nor by gs itself ({}); hint: remove it \
                 (or set it to its default), or use a model that reads it, such as \
                 `model_encoder_type: rgcn`",
                key.describe(),
                if reads.is_empty() {
                    format!("`{plugin}` reads none of GraphStorm's model keys")
                } else {
                    format!("`{plugin}` reads {}", reads.join(", "))
                }
            ));
        }
    }
    for token in args {
        let name = token.trim_start_matches('-');
        let name = name.split_once('=').map_or(name, |(n, _)| n);
        if token.starts_with('-')
            && let Some(key) = keys.iter().find(|k| names_key(name, k.key))
        {
            return Err(format!(
                "plugin `{plugin}`: `{token}` is GraphStorm's key `{0}`, not a custom argument; \
                 hint: pass `--{1}` before `--`, or set `{0}` under `gsf` in the YAML (not in `udf`)",
                key.key,
                key.key.replace('_', "-")
            ));
        }
    }
    let mut values = resolve_custom_args(plugin, args, accepted)?;
    for (name, value) in &mut values {
        if let Some(key) = keys.iter().find(|k| names_key(name, k.key)) {
            value.clone_from(&key.value);
        }
    }
    Ok(values)
}

/// Resolve `--name value`, `--name=value` and bare `--flag` (meaning `true`) against the
/// plugin's hyper-parameters; every one it lists gets a value (the default if not given).
/// An argument it does not list is an error that lists the ones it accepts.
pub fn resolve_custom_args(
    plugin: &str,
    args: &[String],
    accepted: &[HyperParam],
) -> Result<Vec<(String, String)>, String> {
    let mut values: Vec<(String, String)> = accepted
        .iter()
        .map(|h| (h.name.clone(), h.default.clone()))
        .collect();
    let mut i = 0;
    while i < args.len() {
        let token = &args[i];
        let Some(flag) = token.strip_prefix("--").or_else(|| token.strip_prefix('-')) else {
            return Err(format!(
                "plugin `{plugin}`: unexpected argument `{token}`; custom arguments are `--name value` pairs"
            ));
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            None => match args.get(i + 1).filter(|next| !next.starts_with("--")) {
                Some(next) => {
                    i += 1;
                    (flag.to_string(), next.clone())
                }
                None => (flag.to_string(), "true".to_string()),
            },
        };
        let key = name.replace('_', "-");
        let Some(slot) = values.iter_mut().find(|(n, _)| n.replace('_', "-") == key) else {
            let list = accepted
                .iter()
                .map(|h| format!("  --{} (default `{}`): {}", h.name, h.default, h.help))
                .collect::<Vec<_>>()
                .join("\n");
            return Err(format!(
                "plugin `{plugin}` does not accept the argument `--{name}`; it accepts:\n{}",
                if list.is_empty() {
                    "  (no custom arguments)".to_string()
                } else {
                    list
                }
            ));
        };
        slot.1 = value;
        i += 1;
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted() -> Vec<HyperParam> {
        vec![
            HyperParam {
                name: "aggregator".into(),
                default: "mean".into(),
                help: "how".into(),
            },
            HyperParam {
                name: "residual".into(),
                default: "false".into(),
                help: "skip".into(),
            },
        ]
    }

    #[test]
    fn values_defaults_and_forms() {
        let args: Vec<String> = ["--aggregator=max", "--residual"]
            .map(String::from)
            .to_vec();
        let got = resolve_custom_args("sage", &args, &accepted()).unwrap();
        assert_eq!(
            got,
            vec![
                ("aggregator".into(), "max".into()),
                ("residual".into(), "true".into())
            ]
        );
        let got = resolve_custom_args("sage", &[], &accepted()).unwrap();
        assert_eq!(got[0].1, "mean");
    }

    fn key(key: &'static str, value: &str, non_default: bool) -> PluginKey {
        PluginKey {
            key,
            value: value.into(),
            non_default,
            source: gs_config::Source::Yaml,
        }
    }

    #[test]
    fn graphstorm_keys_reach_the_plugins_that_list_them_and_are_refused_elsewhere() {
        let mut rgcn = accepted();
        rgcn.push(HyperParam {
            name: "num_bases".into(),
            default: "-1".into(),
            help: "bases".into(),
        });
        let keys = [
            key("num_bases", "2", true),
            key("use_self_loop", "true", false),
        ];
        let got = resolve_plugin_args("rgcn", &[], &rgcn, &keys).unwrap();
        assert!(got.contains(&("num_bases".into(), "2".into())), "{got:?}");
        // A default value of a key nobody reads is fine; a non-default one is refused by name.
        let err = resolve_plugin_args("sage", &[], &accepted(), &keys).unwrap_err();
        assert!(
            err.contains("`num_bases`") && err.contains("plugin `sage`") && err.contains("= 2"),
            "{err}"
        );
        let defaults = [key("num_bases", "-1", false)];
        assert!(resolve_plugin_args("sage", &[], &accepted(), &defaults).is_ok());
        // The key is not a custom argument.
        let err = resolve_plugin_args("rgcn", &["--num-bases=3".into()], &rgcn, &keys).unwrap_err();
        assert!(err.contains("GraphStorm's key `num_bases`"), "{err}");
    }

    #[test]
    fn unknown_argument_lists_the_accepted_ones() {
        let err =
            resolve_custom_args("sage", &["--hidden".into(), "3".into()], &accepted()).unwrap_err();
        assert!(
            err.contains("--hidden") && err.contains("--aggregator (default `mean`)"),
            "{err}"
        );
    }
}
