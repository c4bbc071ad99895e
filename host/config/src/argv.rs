//! Command-line parsing: the arguments after the subcommand, GraphStorm style.
//!
//! - Flags may appear anywhere, as `--flag value` or `--flag=value`, dashes or underscores.
//! - A bool flag alone means true; it takes the next token only if that is `true`/`false`.
//! - A list flag (`--eval-metric a b`) takes every following token up to the next flag.
//! - `--` ends gs's flags: everything after it goes to the plugin verbatim.
//! - Flags the table does not know go to the plugin too, with the next token as their value
//!   unless it starts with `--` (what `graphstorm.run.launch` does with unknown arguments).
//! - Any other bare word is an error.

use crate::error::ConfigError;
use crate::options::{self, OptionSpec, ValueKind};
use crate::suggest;
use crate::value::{self, CliRaw, Entry, Origin};

/// What the command line said.
#[derive(Debug, Default)]
pub(crate) struct CliArgs {
    /// Known options in command-line order (a later repeat wins).
    pub(crate) entries: Vec<(&'static OptionSpec, Entry)>,
    /// Arguments for the plugin, in order.
    pub(crate) custom_args: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

/// `--x`, `--x=1`, `-e`: not `--`, not `-1`.
fn is_flag(token: &str) -> bool {
    if token == "--" {
        return false;
    }
    if token.starts_with("--") {
        return true;
    }
    let mut chars = token.chars();
    chars.next() == Some('-') && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
}

pub(crate) fn parse(argv: &[String]) -> Result<CliArgs, ConfigError> {
    let mut out = CliArgs::default();
    let mut i = 0;
    while i < argv.len() {
        let token = &argv[i];
        i += 1;
        if token == "--" {
            out.custom_args.extend(argv[i..].iter().cloned());
            break;
        }
        if !is_flag(token) {
            return Err(ConfigError::UnexpectedArgument {
                token: token.clone(),
            });
        }
        let (flag, inline) = match token.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (token.as_str(), None),
        };
        let next = argv.get(i).map(String::as_str);
        let Some(spec) = options::spec_for_flag(flag) else {
            out.custom_args.push(token.clone());
            if inline.is_none()
                && let Some(v) = next
                && !v.starts_with("--")
            {
                out.custom_args.push(v.to_string());
                i += 1;
            }
            if let Some(warning) = typo_warning(flag) {
                out.warnings.push(warning);
            }
            continue;
        };
        let raw = match inline {
            Some(v) => CliRaw::Tokens(vec![v]),
            None => match spec.kind {
                ValueKind::Bool => match next {
                    Some(v) if value::parse_bool(v).is_some() => {
                        i += 1;
                        CliRaw::Tokens(vec![v.to_string()])
                    }
                    _ => CliRaw::Bare,
                },
                ValueKind::StrList => {
                    let start = i;
                    while i < argv.len() && argv[i] != "--" && !is_flag(&argv[i]) {
                        i += 1;
                    }
                    if i == start {
                        CliRaw::Bare
                    } else {
                        CliRaw::Tokens(argv[start..i].to_vec())
                    }
                }
                _ => match next {
                    Some(v) if !v.starts_with("--") => {
                        i += 1;
                        CliRaw::Tokens(vec![v.to_string()])
                    }
                    _ => CliRaw::Bare,
                },
            },
        };
        let value = value::from_cli(spec, raw, flag)?;
        out.entries.push((
            spec,
            Entry {
                value,
                origin: Origin::Cli {
                    flag: flag.to_string(),
                },
            },
        ));
    }
    Ok(out)
}

/// A warning when an unknown flag (passed to the plugin) is one typo away from a gs flag, or
/// is a key GraphStorm reads only from YAML.
fn typo_warning(flag: &str) -> Option<String> {
    let key = flag.trim_start_matches('-').replace('-', "_");
    if options::YAML_ONLY.contains(&key.as_str()) {
        return Some(format!(
            "`{flag}` is not a gs flag, so it is passed to the plugin: GraphStorm reads `{key}` \
             only from the YAML file (--cf)"
        ));
    }
    let candidates = options::OPTIONS
        .iter()
        .filter(|s| s.section != options::Section::Legacy && s.support.is_supported())
        .map(|s| s.key);
    let near = suggest::closest(&key, candidates)?;
    Some(format!(
        "`{flag}` is not a gs flag, so it is passed to the plugin; did you mean `--{}`?",
        near.replace('_', "-")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn value_of<'a>(cli: &'a CliArgs, key: &str) -> Option<&'a Value> {
        cli.entries
            .iter()
            .rev()
            .find(|(s, _)| s.key == key)
            .map(|(_, e)| &e.value)
    }

    #[test]
    fn flags_anywhere_with_equals_and_underscores() {
        let cli = parse(&args(
            "--num-epochs 3 --lr=0.5 --batch_size 64 --fanout=10,10",
        ))
        .unwrap();
        assert_eq!(value_of(&cli, "num_epochs"), Some(&Value::from(3)));
        assert_eq!(value_of(&cli, "lr"), Some(&Value::from(0.5)));
        assert_eq!(value_of(&cli, "batch_size"), Some(&Value::from(64)));
        assert_eq!(value_of(&cli, "fanout"), Some(&Value::from("10,10")));
    }

    #[test]
    fn bool_flags_take_an_optional_value() {
        let cli = parse(&args(
            "--inference --use-early-stop false --no-validation=true --multilabel",
        ))
        .unwrap();
        assert_eq!(value_of(&cli, "inference"), Some(&Value::Bool(true)));
        assert_eq!(value_of(&cli, "use_early_stop"), Some(&Value::Bool(false)));
        assert_eq!(value_of(&cli, "no_validation"), Some(&Value::Bool(true)));
        assert_eq!(value_of(&cli, "multilabel"), Some(&Value::Bool(true)));
    }

    #[test]
    fn list_flags_take_tokens_up_to_the_next_flag() {
        let cli = parse(&args(
            "--eval-metric accuracy f1_score --lr 1 --eval-fanout -1,-1",
        ))
        .unwrap();
        assert_eq!(
            value_of(&cli, "eval_metric"),
            Some(&serde_json::json!(["accuracy", "f1_score"]))
        );
        assert_eq!(value_of(&cli, "eval_fanout"), Some(&Value::from("-1,-1")));
    }

    #[test]
    fn unknown_flags_and_the_tail_go_to_the_plugin_in_order() {
        let cli = parse(&args(
            "--hidden 128 --lr 0.1 --flag --other=2 --act relu -- --x 1 free words",
        ))
        .unwrap();
        assert_eq!(
            cli.custom_args,
            args("--hidden 128 --flag --other=2 --act relu --x 1 free words")
        );
        assert_eq!(value_of(&cli, "lr"), Some(&Value::from(0.1)));
        assert!(cli.warnings.is_empty(), "{:?}", cli.warnings);
    }

    #[test]
    fn near_miss_unknown_flag_warns() {
        let cli = parse(&args("--num-epoch 3")).unwrap();
        assert_eq!(cli.custom_args, args("--num-epoch 3"));
        assert!(
            cli.warnings[0].contains("did you mean `--num-epochs`?"),
            "{:?}",
            cli.warnings
        );
    }

    #[test]
    fn yaml_only_keys_are_not_flags() {
        let cli = parse(&args("--mask-fields tr --norm batch")).unwrap();
        assert!(cli.entries.is_empty());
        assert_eq!(cli.custom_args, args("--mask-fields tr --norm batch"));
        assert_eq!(cli.warnings.len(), 1, "{:?}", cli.warnings);
        assert!(
            cli.warnings[0].contains("reads `mask_fields` only from the YAML file"),
            "{:?}",
            cli.warnings
        );
    }

    #[test]
    fn stray_words_and_missing_values_are_errors() {
        let err = parse(&args("--lr 0.1 oops")).unwrap_err();
        assert!(
            matches!(&err, ConfigError::UnexpectedArgument { token } if token == "oops"),
            "{err}"
        );
        assert!(err.to_string().contains("hint:"));
        let err = parse(&args("--lr --num-epochs 2")).unwrap_err();
        assert!(
            matches!(&err, ConfigError::MissingFlagValue { flag } if flag == "--lr"),
            "{err}"
        );
        let err = parse(&args("--save-model-path")).unwrap_err();
        assert!(
            err.to_string()
                .contains("`--save-model-path` needs a value"),
            "{err}"
        );
    }
}
