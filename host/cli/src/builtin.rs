//! Built-in plugins, compiled from `plugins/` by the build script and embedded in the binary.

/// `(name, component bytes)` of every built-in plugin.
pub(crate) const BUILTIN_PLUGINS: &[(&str, &[u8])] = &[
    ("sage", include_bytes!(env!("GS_BUILTIN_PLUGIN_SAGE"))),
    ("rgcn", include_bytes!(env!("GS_BUILTIN_PLUGIN_RGCN"))),
    ("rgat", include_bytes!(env!("GS_BUILTIN_PLUGIN_RGAT"))),
    ("hgt", include_bytes!(env!("GS_BUILTIN_PLUGIN_HGT"))),
    ("mlp", include_bytes!(env!("GS_BUILTIN_PLUGIN_MLP"))),
    ("gat", include_bytes!(env!("GS_BUILTIN_PLUGIN_GAT"))),
    ("gatv2", include_bytes!(env!("GS_BUILTIN_PLUGIN_GATV2"))),
    (
        "learnable_embed",
        include_bytes!(env!("GS_BUILTIN_PLUGIN_LEARNABLE_EMBED")),
    ),
];

/// The component of a built-in plugin.
pub(crate) fn builtin(name: &str) -> Option<&'static [u8]> {
    BUILTIN_PLUGINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// Names of the built-in plugins, for messages.
pub(crate) fn names() -> Vec<&'static str> {
    BUILTIN_PLUGINS.iter().map(|(n, _)| *n).collect()
}
