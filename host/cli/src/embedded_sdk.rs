//! The SDKs and the WIT this gs speaks, embedded at build time (`build.rs` writes the tables):
//! `gs plugin new` copies them into a project, and `gs plugin build` lends the Python SDK and
//! the WIT to a Python project that carries none (such as `examples/python-sage`).

include!(concat!(env!("OUT_DIR"), "/sdk_files.rs"));
