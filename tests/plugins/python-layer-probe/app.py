"""`python-layer-probe`: the Python twin of the Rust test plugin `test-layer-probe`
(tests/plugins/layer-probe). One layer of the Python SDK's layer library (`gs_plugin.nn`),
chosen by `--layer`, created over the schema in `__init__` (weights under `probe`) and applied
in `forward` to layer 0 of the batch: its blocks and the input features. It returns the layer's
output per node type, which `tests/tests/layers.rs` recomputes with tch. Same layer names,
weight names, shapes and order as the Rust probe:

- `linear`, `mlp` (`[in, hidden, hidden]`, ReLU, the config's dropout), `layer-norm` and
  `dropout` (the config's `dropout`): per node type with features (`probe.<ntype>`), on all its
  layer-0 input rows.
- `embedding`: per node type (`probe.<ntype>`, `[num_nodes, hidden]`), the rows of the local
  source ids of the layer-0 blocks out of that type, concatenated in block order.
- `graphconv-both|right|none`: a `GraphConv` with bias per edge type (`probe.<src:rel:dst>`) in
  a `HeteroConv` (sum over edge types).
- `sage-pool`, `sage-mean` (`SageConv`, the Rust SDK's `GraphSageConv`), `gat` (`GatConv`,
  `--heads` heads of `hidden / heads`, no ReLU), `rgcn-bases` (`RelGraphConv` with
  `--num-bases` bases and the self-loop), `hgt` (`HgtLayer`, GraphStorm's plain `HGTLayer` with
  `--heads` heads, dropout 0): one layer under `probe` over the whole heterogeneous layer.
"""

from gs_plugin import Info, InvalidArgument, Model, Task, Tensor, export_model
from gs_plugin.nn import (
    Embedding,
    GatConv,
    GraphConv,
    HeteroConv,
    HgtLayer,
    LayerNorm,
    Linear,
    Mlp,
    RelGraphConv,
    SageConv,
    Scope,
    dropout,
)

LAYERS = (
    "linear",
    "embedding",
    "sage-pool",
    "sage-mean",
    "graphconv-both",
    "graphconv-right",
    "graphconv-none",
    "gat",
    "rgcn-bases",
    "hgt",
    "mlp",
    "layer-norm",
    "dropout",
)


def int_arg(config, name):
    value = config.arg(name)
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument("--{} {!r} is not an integer".format(name, value))


class PythonLayerProbe(Model):
    @classmethod
    def info(cls):
        return (
            Info("python-layer-probe", "0.1.0")
            .task(Task.NODE_CLASSIFICATION)
            .task(Task.NODE_REGRESSION)
            .task(Task.EDGE_CLASSIFICATION)
            .task(Task.EDGE_REGRESSION)
            .task(Task.LINK_PREDICTION)
            .hyper_param("layer", "linear", "The SDK layer to apply (see the README).")
            .hyper_param("heads", "2", "Attention heads of `gat` and `hgt`.")
            .hyper_param("num_bases", "2", "Bases of `rgcn-bases`.")
        )

    def __init__(self, config, schema):
        layer = config.choice("layer", LAYERS)
        hidden = config.hidden_size
        probe = Scope().sub("probe")
        # The homogeneous layers share one set of weights: every input is the target's width.
        in_dim = schema.feature_dim(config.target_node_type)
        with_features = [t for t in schema.node_types if t.feature_dim > 0]
        self.kind = layer
        if layer == "linear":
            self.layers = {
                t.name: Linear(probe.sub(t.name), t.feature_dim, hidden) for t in with_features
            }
        elif layer == "embedding":
            self.layers = {
                t.name: Embedding(probe.sub(t.name), t.num_nodes, hidden) for t in schema.node_types
            }
        elif layer == "mlp":
            self.layers = {
                t.name: Mlp(
                    probe.sub(t.name), [t.feature_dim, hidden, hidden], Tensor.relu, config.dropout
                )
                for t in with_features
            }
        elif layer == "layer-norm":
            self.layers = {
                t.name: LayerNorm(probe.sub(t.name), t.feature_dim) for t in with_features
            }
        elif layer == "dropout":
            self.p = config.dropout
        elif layer in ("sage-pool", "sage-mean"):
            self.conv = SageConv(probe, in_dim, hidden, layer[len("sage-"):])
        elif layer == "gat":
            heads = int_arg(config, "heads")
            self.conv = GatConv(probe, in_dim, heads, hidden // heads, relu=False)
        elif layer == "hgt":
            heads = int_arg(config, "heads")
            self.conv = HgtLayer(probe, schema, heads, in_dim, hidden)
        elif layer == "rgcn-bases":
            bases = int_arg(config, "num_bases")
            self.conv = RelGraphConv(
                probe, schema.edge_types, bases, in_dim, hidden, self_loop=True
            )
        else:
            norm = layer[len("graphconv-"):]
            self.conv = HeteroConv(
                schema.edge_types,
                hidden,
                lambda et: GraphConv(
                    probe.sub(et), schema.feature_dim(et.src), hidden, norm, True
                ),
            )

    def forward(self, batch, mode):
        h = {}
        for t in batch.src_node_types(0):
            x = batch.input_features(t)
            if x is not None:
                h[t] = x
        kind = self.kind
        if kind in ("linear", "mlp", "layer-norm"):
            return {t: self.layers[t](x) for t, x in h.items() if t in self.layers}
        if kind == "dropout":
            # In name order, as the Rust probe draws its masks.
            return {t: dropout(h[t], self.p) for t in sorted(h)}
        if kind == "embedding":
            ids = {}
            for b in batch.described_blocks(0):
                ids.setdefault(b.edge_type.src, []).append(b.block.src())
            return {
                t: self.layers[t](Tensor.cat(parts, 0))
                for t, parts in ids.items()
                if t in self.layers
            }
        if kind in ("sage-pool", "sage-mean", "gat", "hgt"):
            return self.conv(batch, 0, h, 0.0)
        return self.conv(batch, 0, h)


ModelApi, ModelCapabilities = export_model(PythonLayerProbe)
