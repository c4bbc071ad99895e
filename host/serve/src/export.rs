//! `gs export`: what a SageMaker endpoint needs of a model directory, as `model.tar.gz` (the
//! archive SageMaker unpacks into `/opt/ml/model`): the checkpoint served, `serving.json`, the
//! runtime YAML, `data_transform_new.json` when there is one, and a `training_summary.json`
//! naming the checkpoint. The archive is written under a temporary name and renamed.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use flate2::Compression;
use flate2::write::GzEncoder;
use gs_train::TrainingSummary;
use gs_train::serving::SERVING_FILE;

use crate::model_dir::ModelDir;

/// Files of the model directory that go along with the checkpoint, when present.
const BESIDE: &[&str] = &[
    SERVING_FILE,
    "GRAPHSTORM_RUNTIME_UPDATED_TRAINING_CONFIG.yaml",
    "data_transform_new.json",
];

/// Writes `output` (a `.tar.gz`) for `dir`. Returns the files packed.
pub fn export(dir: &ModelDir, output: &Path) -> anyhow::Result<Vec<String>> {
    let name = dir
        .checkpoint
        .file_name()
        .context("the checkpoint has no folder name")?
        .to_string_lossy()
        .into_owned();
    if !dir.root.join(SERVING_FILE).is_file() {
        anyhow::bail!(
            "`{}` has no `{SERVING_FILE}`; hint: train or import the model with this gs",
            dir.root.display()
        );
    }
    let tmp = output.with_file_name(format!(
        ".{}.tmp-{}",
        output
            .file_name()
            .map_or("export".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let written = write_archive(dir, &name, &tmp);
    match written {
        Ok(files) => {
            std::fs::rename(&tmp, output)
                .with_context(|| format!("cannot write `{}`", output.display()))?;
            Ok(files)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e.context(format!("cannot write `{}`", output.display())))
        }
    }
}

fn write_archive(dir: &ModelDir, name: &str, path: &Path) -> anyhow::Result<Vec<String>> {
    let file = File::create(path)?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    let mut files = Vec::new();
    tar.append_dir_all(name, &dir.checkpoint)?;
    files.push(format!("{name}/"));
    for file in BESIDE {
        let source = dir.root.join(file);
        if source.is_file() {
            tar.append_path_with_name(&source, file)?;
            files.push(file.to_string());
        }
    }
    let mut summary = TrainingSummary::load(&dir.root).unwrap_or_default();
    summary.best_checkpoint = Some(name.to_string());
    let text = serde_json::to_vec_pretty(&summary)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, gs_train::SUMMARY_FILE, text.as_slice())?;
    files.push(gs_train::SUMMARY_FILE.to_string());
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    gz.finish()?.sync_all()?;
    Ok(files)
}
