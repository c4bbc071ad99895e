"""Layers, and the `Scope` that gives their weights deterministic hierarchical names.

Names and initialisations follow the Rust SDK (`gs_plugin_sdk::nn`, `::sage`,
`NodeInputLayer`), so a model written with either creates the same weights in the same order:
the host draws their initial values from its seeded generator in creation order, and its
checkpoints save them under these names.

Every layer is a handful of host calls over whole tensors per block or batch.
"""

import math

from wit_world.imports import types as _types

from . import Block, Dtype, Reduce, Tensor, Unsupported, param

RELU_GAIN = math.sqrt(2.0)


# ---------------------------------------------------------------------------------------------
# Initialisations (WIT `init`).


def zeros():
    return _types.Init_Zeros()


def ones():
    return _types.Init_Ones()


def uniform(low, high):
    return _types.Init_Uniform((float(low), float(high)))


def normal(mean, std):
    return _types.Init_Normal((float(mean), float(std)))


def xavier_uniform(gain=1.0):
    """Glorot-uniform, fans read as `[fan-in, fan-out]` from the last two dimensions."""
    return _types.Init_XavierUniform(float(gain))


def torch_xavier_uniform(shape, gain=1.0):
    """`torch.nn.init.xavier_uniform_`'s bounds for a weight of `shape` as torch stores it
    (`fan_in = shape[1] * receptive`, `fan_out = shape[0] * receptive`)."""
    receptive = 1
    for d in shape[2:]:
        receptive *= d
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(-bound, bound)


class Scope:
    """A position in the hierarchy of weight names: `Scope().sub("layers").sub(0)` names its
    weights `layers.0.<leaf>`."""

    def __init__(self, prefix=""):
        self.prefix = prefix

    def sub(self, name):
        return Scope(self.name(str(name)))

    def name(self, leaf):
        return leaf if not self.prefix else self.prefix + "." + leaf

    def param(self, leaf, shape, init):
        """Creates (or, in a re-built model, finds) the weight `leaf` in this scope."""
        return param(self.name(leaf), [int(d) for d in shape], init)


# ---------------------------------------------------------------------------------------------
# Layers.


def dropout(x, p):
    """Dropout with probability `p`, active only while the host trains."""
    return x.dropout(float(p)) if p > 0 else x


class Linear:
    """`x @ weight + bias`, `weight` `[in, out]` (`<scope>.weight`, Xavier-uniform) and an
    optional `bias` `[out]` (`<scope>.bias`, zeros)."""

    def __init__(self, scope, in_dim, out_dim, bias=True, weight_init=None, bias_init=None):
        self.weight = scope.param("weight", [in_dim, out_dim], weight_init or xavier_uniform())
        self.bias = scope.param("bias", [out_dim], bias_init or zeros()) if bias else None

    def __call__(self, x):
        y = x @ self.weight
        return y + self.bias if self.bias is not None else y


class Embedding:
    """A learnable row per id: `weight` `[num, dim]` (`<scope>.weight`, normal(0, 1) as
    `torch.nn.Embedding`); `embedding(ids)` picks the rows of an int64 id tensor."""

    def __init__(self, scope, num, dim):
        self.weight = scope.param("weight", [num, dim], normal(0.0, 1.0))

    def __call__(self, ids):
        return self.weight.index_select(0, ids)


class LayerNorm:
    """`torch.nn.LayerNorm(dim)`: normalisation over the last dimension, `weight` (ones) and
    `bias` (zeros), eps 1e-5."""

    def __init__(self, scope, dim, eps=1e-5):
        self.weight = scope.param("weight", [dim], ones())
        self.bias = scope.param("bias", [dim], zeros())
        self.eps = eps

    def __call__(self, x):
        return x.layer_norm(self.weight, self.bias, self.eps)


class Mlp:
    """Linear layers `<scope>.<i>` through `dims` (`[in, hidden..., out]`), the activation and
    dropout between them (not after the last)."""

    def __init__(self, scope, dims, activation=Tensor.relu, p=0.0):
        self.layers = [Linear(scope.sub(i), a, b) for i, (a, b) in enumerate(zip(dims, dims[1:]))]
        self.activation = activation
        self.p = p

    def __call__(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i + 1 < len(self.layers):
                x = dropout(self.activation(x), self.p)
        return x


class GraphConv:
    """DGL's `GraphConv` on one block: `norm='both'` (the GCN of Kipf and Welling) scales each
    message by `1/sqrt(out-degree of its source)` and each sum by `1/sqrt(in-degree of its
    destination)`, degrees within the block and at least 1; `norm='right'` is the mean;
    `norm='none'` the sum. Then `@ weight` (`[in, out]`) `+ bias`."""

    def __init__(self, scope, in_dim, out_dim, norm="both", bias=True):
        if norm not in ("both", "right", "none"):
            raise ValueError("GraphConv norm {!r}: use both, right or none".format(norm))
        self.weight = scope.param("weight", [in_dim, out_dim], torch_xavier_uniform([in_dim, out_dim]))
        self.bias = scope.param("bias", [out_dim], zeros()) if bias else None
        self.norm = norm

    def __call__(self, block, h_src):
        if self.norm == "right":
            y = block.aggregate(h_src, Reduce.MEAN)
        elif self.norm == "none":
            y = block.aggregate(h_src, Reduce.SUM)
        else:
            src, dst = block.src(), block.dst()
            out_deg = _degrees(src, block.num_src())
            in_deg = _degrees(dst, block.num_dst())
            y = block.aggregate(h_src * out_deg.pow_scalar(-0.5), Reduce.SUM)
            y = y * in_deg.pow_scalar(-0.5)
        y = y @ self.weight
        return y + self.bias if self.bias is not None else y


def _degrees(index, n):
    """`[n, 1]` f32: how often each of `0..n` occurs in `index`, at least 1."""
    ones_ = Tensor.ones([index.shape()[0], 1], Dtype.F32)
    return ones_.scatter_reduce(index, n, Reduce.SUM).clamp(1.0, float("inf"))


class SageConv:
    """GraphStorm's GraphSAGE layer, DGL's `SAGEConv(in, out, aggregator, bias=False)` on a whole
    layer of a batch, read as one homogeneous graph: `h_v @ fc_selfᵀ + neigh_v @ fc_neighᵀ`,
    `neigh_v` the max of `relu(fc_pool(h_u))` (`pool`, GraphStorm's) or the mean of `h_u`
    (`mean`) over all of `v`'s in-edges. Weights as DGL names and shapes them:
    `<scope>.fc_pool.{weight,bias}` (pool), `<scope>.fc_self.weight`, `<scope>.fc_neigh.weight`
    `[out, in]`. The same weights, order and ops as the Rust SDK's `GraphSageConv`."""

    def __init__(self, scope, in_dim, out_dim, aggregator="pool"):
        if aggregator not in ("pool", "mean"):
            raise ValueError("SageConv aggregator {!r}: use pool or mean".format(aggregator))
        self.fc_pool = None
        if aggregator == "pool":
            s = scope.sub("fc_pool")
            bound = 1.0 / math.sqrt(in_dim)
            w = s.param("weight", [in_dim, in_dim], torch_xavier_uniform([in_dim, in_dim], RELU_GAIN))
            self.fc_pool = (w, s.param("bias", [in_dim], uniform(-bound, bound)))
        self.fc_self = _dgl_weight(scope.sub("fc_self"), out_dim, in_dim)
        self.fc_neigh = _dgl_weight(scope.sub("fc_neigh"), out_dim, in_dim)
        self.reduce = Reduce.MAX if aggregator == "pool" else Reduce.MEAN
        self.in_dim = in_dim

    def __call__(self, batch, layer, h, p=0.0):
        """The layer's output per destination node type of layer `layer`, from `h` (the
        layer's input per node type, destinations first); `p` is DGL's `feat_drop`."""
        x = {t: dropout(h[t], p) for t in sorted(h)}
        if self.fc_pool is not None:
            w, b = self.fc_pool
            messages = {t: x[t].linear(w, b).relu() for t in sorted(x)}
        else:
            messages = x
        into = blocks_by_destination(batch, layer)
        out = {}
        for t, n in dst_node_counts(batch, layer):
            blocks = into.get(t, [])
            if blocks:
                sources = [_features_of(messages, b.edge_type.src) for b in blocks]
                neigh = Block.aggregate_many([b.block for b in blocks], sources, self.reduce)
            else:
                neigh = Tensor.zeros([n, self.in_dim], Dtype.F32)
            h_self = _features_of(x, t).narrow(0, 0, n)
            out[t] = h_self.linear(self.fc_self, None) + neigh.linear(self.fc_neigh, None)
        return out


def _dgl_weight(scope, out_dim, in_dim):
    shape = [out_dim, in_dim]
    return scope.param("weight", shape, torch_xavier_uniform(shape, RELU_GAIN))


def _features_of(h, node_type):
    if node_type not in h:
        raise Unsupported(
            "node type `{}` has no input features (hint: give it a feature with "
            "--node-feat-name)".format(node_type)
        )
    return h[node_type]


class NodeInputLayer:
    """GraphStorm's input layer (`GSNodeEncoderInputLayer`): `x[t] @ W[t]` for every node type
    `t` with features, `W[t]` the `[feature-dim, hidden]` weight `node_embed.input_projs.<t>`
    (Xavier-uniform, ReLU gain), created in schema order."""

    def __init__(self, schema, hidden):
        scope = Scope().sub("node_embed").sub("input_projs")
        self.projs = {}
        for t in schema.node_types:
            if t.feature_dim > 0:
                shape = [t.feature_dim, hidden]
                self.projs[t.name] = scope.param(t.name, shape, torch_xavier_uniform(shape, RELU_GAIN))

    def __call__(self, batch, node_types):
        out = {}
        for t in node_types:
            w = self.projs.get(t)
            x = batch.input_features(t) if w is not None else None
            if x is not None:
                out[t] = x @ w
        return out


# ---------------------------------------------------------------------------------------------
# Batch helpers.


def blocks_by_destination(batch, layer):
    """The described blocks of a layer with edges, grouped by destination node type."""
    into = {}
    for b in batch.described_blocks(layer):
        if b.num_dst > 0 and b.num_src > 0:
            into.setdefault(b.edge_type.dst, []).append(b)
    return into


def dst_node_counts(batch, layer):
    """`(node type, destination count)` of every node type with destinations in a layer."""
    return [(n.node_type, n.num_dst) for n in batch.layer_nodes(layer) if n.num_dst > 0]
