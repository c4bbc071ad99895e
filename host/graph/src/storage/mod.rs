//! gs's on-disk partition format: DGL's part-config JSON naming safetensors files.

mod format;
mod read;
mod tensors;
mod write;

pub use format::GS_FORMAT_VERSION;
pub use read::load;
pub use write::write_partitioned;

#[cfg(test)]
mod tests;
