//! A plugin's custom arguments, checked against what its `describe` lists.

use gs_runtime::HyperParam;

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
