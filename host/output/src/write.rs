//! Writing one output set: validate, stage every chunk and the metadata file, commit.

use std::fs;
use std::path::{Path, PathBuf};

use crate::atomic::Staging;
use crate::input::{NodeIds, OutputFormat, OutputOptions, Values, validate};
use crate::layout::{Kind, info_json, info_text};
use crate::{OutputError, csv_io, parquet_io};

/// Writes node predictions as `remap_result` leaves them, replacing `pred_dir` atomically:
///
/// ```text
/// pred_dir/
///     result_info.json                  {"format", "world_size": 1, "ntypes", "emb_name"}
///     <ntype>/
///         pred.predict-00000_00000.parquet   columns: pred, nid
///         pred.predict-00000_00001.parquet   (at most `opts.chunk_size` rows each)
/// ```
///
/// `pred` is `list<float32>` for [`Values::F32`] (probabilities or logits; one value for
/// regression) and `int64` for [`Values::ClassIndex`]; `nid` is `int64` for [`NodeIds::Int`]
/// and `utf8` for [`NodeIds::Raw`]. With [`OutputFormat::Csv`] the files end in `.csv` instead.
/// A node type with no rows gets an empty directory (GraphStorm writes zero chunks).
///
/// The call owns the whole directory: anything already in `pred_dir` is replaced. Returns the
/// final paths of the data files in input order, then the metadata file.
pub fn write_node_predictions(
    pred_dir: &Path,
    per_type: &[(&str, NodeIds<'_>, Values<'_>)],
    opts: &OutputOptions,
) -> Result<Vec<PathBuf>, OutputError> {
    write_set(Kind::Predictions, pred_dir, per_type, opts)
}

/// Writes node embeddings as `remap_result` leaves them, replacing `emb_dir` atomically:
/// `emb_dir/<ntype>/embed-00000_00000.parquet` (columns `emb` as `list<float32>`, then `nid`)
/// plus `emb_dir/emb_info.json` (`{"format", "emb_name", "emb_dim", "world_size": 1}`).
/// Values must be [`Values::F32`]. Otherwise as [`write_node_predictions`].
pub fn write_node_embeddings(
    emb_dir: &Path,
    per_type: &[(&str, NodeIds<'_>, Values<'_>)],
    opts: &OutputOptions,
) -> Result<Vec<PathBuf>, OutputError> {
    write_set(Kind::Embeddings, emb_dir, per_type, opts)
}

/// Writes node predictions and node embeddings into one folder, replacing `dir` atomically as
/// one set: GraphStorm's default when `save_prediction_path` is not given is the embedding
/// folder, and its files then sit side by side:
///
/// ```text
/// dir/
///     emb_info.json, result_info.json
///     <ntype>/
///         embed-00000_00000.parquet
///         pred.predict-00000_00000.parquet
/// ```
///
/// Otherwise as [`write_node_predictions`] and [`write_node_embeddings`].
pub fn write_node_predictions_and_embeddings(
    dir: &Path,
    predictions: &[(&str, NodeIds<'_>, Values<'_>)],
    embeddings: &[(&str, NodeIds<'_>, Values<'_>)],
    opts: &OutputOptions,
) -> Result<Vec<PathBuf>, OutputError> {
    write_sets(
        dir,
        &[
            (Kind::Predictions, predictions),
            (Kind::Embeddings, embeddings),
        ],
        opts,
    )
}

fn write_set(
    kind: Kind,
    target: &Path,
    per_type: &[TypeRows<'_>],
    opts: &OutputOptions,
) -> Result<Vec<PathBuf>, OutputError> {
    write_sets(target, &[(kind, per_type)], opts)
}

/// One node type's rows: its name, ids and values.
type TypeRows<'a> = (&'a str, NodeIds<'a>, Values<'a>);

/// Stages every set into one staging directory and commits it as `target`.
fn write_sets(
    target: &Path,
    sets: &[(Kind, &[TypeRows<'_>])],
    opts: &OutputOptions,
) -> Result<Vec<PathBuf>, OutputError> {
    for (kind, per_type) in sets {
        validate(target, per_type, opts, *kind == Kind::Predictions)?;
    }
    let staging = Staging::create(target)?;
    let mut files = Vec::new();
    let mut subdirs: Vec<PathBuf> = Vec::new();
    for (kind, per_type) in sets {
        for (ntype, ids, values) in per_type.iter() {
            let sub = staging.path().join(ntype);
            if !subdirs.contains(&sub) {
                fs::create_dir(&sub).map_err(|e| OutputError::io(&sub, "create directory", e))?;
                subdirs.push(sub.clone());
            }
            let rows = values.rows();
            for (chunk, start) in (0..rows).step_by(opts.chunk_size).enumerate() {
                let end = (start + opts.chunk_size).min(rows);
                let name = kind.chunk_file_name(chunk, opts.format);
                let path = sub.join(&name);
                match opts.format {
                    OutputFormat::Parquet => {
                        parquet_io::write_chunk(&path, kind.value_col(), *ids, *values, start..end)?
                    }
                    OutputFormat::Csv { delimiter } => csv_io::write_chunk(
                        &path,
                        kind.value_col(),
                        delimiter,
                        *ids,
                        *values,
                        start..end,
                    )?,
                }
                files.push(target.join(ntype).join(name));
            }
        }
        let names: Vec<(&str, Values<'_>)> = per_type.iter().map(|(n, _, v)| (*n, *v)).collect();
        let info = info_json(*kind, opts.format, &names);
        let info_path = staging.path().join(kind.info_file());
        write_synced(&info_path, &info_text(&info))?;
        files.push(target.join(kind.info_file()));
    }
    staging.commit(&subdirs)?;
    Ok(files)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    use std::io::Write as _;
    let mut f = fs::File::create(path).map_err(|e| OutputError::io(path, "create", e))?;
    f.write_all(bytes)
        .map_err(|e| OutputError::io(path, "write", e))?;
    f.sync_all().map_err(|e| OutputError::io(path, "fsync", e))
}
