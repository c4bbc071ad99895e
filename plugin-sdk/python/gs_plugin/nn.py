"""Layers, and the `Scope` that gives their weights deterministic hierarchical names.

Names and initialisations follow the Rust SDK (`gs_plugin_sdk::nn`, `::sage`, `::gat`,
`::rgcn`, `::hgt`, `NodeInputLayer`), so a model written with either creates the same weights in the
same order:
the host draws their initial values from its seeded generator in creation order, and its
checkpoints save them under these names.

Every layer is a handful of host calls over whole tensors per block or batch.
"""

import math

from wit_world.imports import types as _types

from . import Block, Dtype, InvalidArgument, PluginError, Reduce, Tensor, Unsupported, param

RELU_GAIN = math.sqrt(2.0)
# DGL's slope of the leaky ReLU over attention logits (`negative_slope=0.2`).
NEGATIVE_SLOPE = 0.2


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


def _torch_fans(shape):
    """`(fan_in, fan_out)` as torch's Xavier initialisers compute them for a weight of `shape`
    (`fan_in = shape[1] * receptive`, `fan_out = shape[0] * receptive`)."""
    receptive = 1
    for d in shape[2:]:
        receptive *= d
    return shape[1] * receptive, shape[0] * receptive


def torch_xavier_uniform(shape, gain=1.0):
    """`torch.nn.init.xavier_uniform_`'s bounds for a weight of `shape` as torch stores it."""
    fan_in, fan_out = _torch_fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(-bound, bound)


def torch_xavier_normal(shape, gain=1.0):
    """`torch.nn.init.xavier_normal_` for a weight of `shape` as torch stores it (any rank), as
    DGL initialises its attention layers."""
    fan_in, fan_out = _torch_fans(shape)
    return normal(0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def canonical_name(edge_type):
    """`src:rel:dst` of an edge type (a WIT `edge-type` record), as the Rust SDK prints it."""
    return "{}:{}:{}".format(edge_type.src, edge_type.rel, edge_type.dst)


class Scope:
    """A position in the hierarchy of weight names: `Scope().sub("layers").sub(0)` names its
    weights `layers.0.<leaf>`, and `.sub(edge_type)` (a WIT `edge-type`) names them
    `<src>:<rel>:<dst>.<leaf>`."""

    def __init__(self, prefix=""):
        self.prefix = prefix

    def sub(self, name):
        if all(hasattr(name, a) for a in ("src", "rel", "dst")):
            name = canonical_name(name)
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
    `norm='none'` the sum. Then `@ weight` (`[in, out]`, `<scope>.weight`, torch's
    Xavier-uniform bounds with gain 1) `+ bias` (`[out]`, `<scope>.bias`, zeros). A destination
    without in-edges gets `bias` (or 0). The same weights, initialisation and ops as the Rust
    SDK's `GraphConv`; `HeteroConv` applies one per edge type."""

    def __init__(self, scope, in_dim, out_dim, norm="both", bias=True):
        if norm not in ("both", "right", "none"):
            raise InvalidArgument("GraphConv norm {!r}: use both, right or none".format(norm))
        shape = [in_dim, out_dim]
        self.weight = scope.param("weight", shape, torch_xavier_uniform(shape))
        self.bias = scope.param("bias", [out_dim], zeros()) if bias else None
        self.norm = norm

    def __call__(self, block, h_src, h_dst=None):
        """`[block.num_dst(), out]` from the source representations `h_src`; `h_dst` (what
        `HeteroConv` hands every convolution) is not read."""
        if self.norm == "right":
            y = block.aggregate(h_src, Reduce.MEAN)
        elif self.norm == "none":
            y = block.aggregate(h_src, Reduce.SUM)
        else:
            src, dst = block.src(), block.dst()
            out_norm = _degrees(src, block.num_src()).pow_scalar(-0.5)
            in_norm = _degrees(dst, block.num_dst()).pow_scalar(-0.5)
            y = block.aggregate(h_src * out_norm, Reduce.SUM) * in_norm
        y = y @ self.weight
        return y + self.bias if self.bias is not None else y


def _degrees(index, n):
    """`[n, 1]` f32: how often each of `0..n` occurs in `index`, at least 1."""
    ones_ = Tensor.ones([index.shape()[0], 1], Dtype.F32)
    return ones_.scatter_reduce(index, n, Reduce.SUM).clamp(1.0, float("inf"))


class HeteroConv:
    """One convolution per edge type, applied to the blocks of one layer of a batch and combined
    per destination node type, like DGL's `HeteroGraphConv` and the Rust SDK's `HeteroConv`:
    `build(edge_type)` makes the convolution of every edge type of `edge_types` (WIT
    `edge-type` records, in that order), a callable `conv(block, h_src, h_dst)` returning
    `[block.num_dst(), out_dim]`, such as `GraphConv`. `cross_reduce` is `sum` (the outputs of
    the edge types into a node type summed in block order, GraphStorm's RGCN and RGAT) or
    `mean` (GraphStorm's HGT). A node type with destinations in the layer but no block gets
    zeros `[num_dst, out_dim]`."""

    def __init__(self, edge_types, out_dim, build, cross_reduce="sum"):
        if cross_reduce not in ("sum", "mean"):
            raise InvalidArgument(
                "HeteroConv cross_reduce {!r}: use sum or mean".format(cross_reduce)
            )
        self.convs = {}
        for edge_type in edge_types:
            name = canonical_name(edge_type)
            if name in self.convs:
                raise InvalidArgument("edge type `{}` is listed twice".format(name))
            self.convs[name] = build(edge_type)
        self.out_dim = out_dim
        self.cross_reduce = cross_reduce

    def conv(self, edge_type):
        """The convolution of an edge type (a record or its `src:rel:dst`), or None."""
        name = edge_type if isinstance(edge_type, str) else canonical_name(edge_type)
        return self.convs.get(name)

    def __call__(self, batch, layer, h):
        """The representations of layer `layer`'s destination nodes per node type, from `h`,
        the representations of its source nodes per node type."""
        out = {}
        blocks_into = {}
        for b in batch.described_blocks(layer):
            et = b.edge_type
            name = canonical_name(et)
            conv = self.convs.get(name)
            if conv is None:
                raise PluginError(
                    "layer {} has a block of edge type `{}`, which the model was not built "
                    "for; it knows {}".format(layer, name, sorted(self.convs))
                )
            h_src = _input_of(h, et.src, name)
            h_dst = _input_of(h, et.dst, name)
            y = conv(b.block, h_src, h_dst)
            blocks_into[et.dst] = blocks_into.get(et.dst, 0) + 1
            out[et.dst] = out[et.dst] + y if et.dst in out else y
        if self.cross_reduce == "mean":
            for t, n in blocks_into.items():
                if n > 1:
                    out[t] = out[t].mul_scalar(1.0 / n)
        for t, n in dst_node_counts(batch, layer):
            if t not in out:
                out[t] = Tensor.zeros([n, self.out_dim], Dtype.F32)
        return out


def _input_of(h, node_type, edge_type_name):
    if node_type not in h:
        raise Unsupported(
            "node type `{}` has no input features, and it is an endpoint of edge type `{}` "
            "(hint: give it a feature with --node-feat-name)".format(node_type, edge_type_name)
        )
    return h[node_type]


class SageConv:
    """GraphStorm's GraphSAGE layer, DGL's `SAGEConv(in, out, aggregator, bias=False)` on a whole
    layer of a batch, read as one homogeneous graph: `h_v @ fc_selfᵀ + neigh_v @ fc_neighᵀ`,
    `neigh_v` the max of `relu(fc_pool(h_u))` (`pool`, GraphStorm's) or the mean of `h_u`
    (`mean`) over all of `v`'s in-edges. Weights as DGL names and shapes them:
    `<scope>.fc_pool.{weight,bias}` (pool), `<scope>.fc_self.weight`, `<scope>.fc_neigh.weight`
    `[out, in]`. The same weights, order and ops as the Rust SDK's `GraphSageConv`."""

    def __init__(self, scope, in_dim, out_dim, aggregator="pool"):
        if aggregator not in ("pool", "mean"):
            raise InvalidArgument(
                "SageConv aggregator {!r}: use pool or mean".format(aggregator)
            )
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


# The Rust SDK's name of the layer (its `SageConv` is the per-edge-type mean convolution).
GraphSageConv = SageConv


class GatConv:
    """DGL's `GATConv(in, head_dim, heads, feat_drop=p, bias=True)` as GraphStorm's `GATConv`
    builds it (no residual, no self-loop), on a whole layer of a batch read as one homogeneous
    graph: `z = h @ fcᵀ` `[N, heads, head_dim]`, `e_uv = leaky_relu(<z_u, attn_l> + <z_v,
    attn_r>, 0.2)` per head, `out_v = Σ_u softmax_v(e)_uv z_u` (the softmax over all of `v`'s
    in-edges, whatever their edge type; 0 without), heads concatenated, `+ bias`, then ReLU if
    `relu`. Weights as DGL names and shapes them, Xavier-normal with the ReLU gain (torch's
    fans) and a zero bias: `<scope>.fc.weight` `[heads * head_dim, in]`, `<scope>.attn_l`,
    `<scope>.attn_r` `[1, heads, head_dim]`, `<scope>.bias` `[heads * head_dim]`. The same
    weights, order and ops as the Rust SDK's `GatConv`."""

    def __init__(self, scope, in_dim, heads, head_dim, relu=False):
        fc_shape = [heads * head_dim, in_dim]
        attn_shape = [1, heads, head_dim]
        fc_init = torch_xavier_normal(fc_shape, RELU_GAIN)
        attn_init = torch_xavier_normal(attn_shape, RELU_GAIN)
        self.fc = scope.sub("fc").param("weight", fc_shape, fc_init)
        self.attn_l = scope.param("attn_l", attn_shape, attn_init)
        self.attn_r = scope.param("attn_r", attn_shape, attn_init)
        self.bias = scope.param("bias", [heads * head_dim], zeros())
        self.heads = heads
        self.head_dim = head_dim
        self.relu = relu

    def __call__(self, batch, layer, h, p=0.0):
        """The layer's output per destination node type of layer `layer`, from `h` (the
        layer's input per node type, destinations first); `p` is DGL's `feat_drop`."""
        heads, f = self.heads, self.head_dim
        w = self.fc.transpose(0, 1)
        # Per node type: the projection `z`, its source score and, for the destinations (its
        # first rows), their score.
        scored = {}
        for t in sorted(h):
            z = dropout(h[t], p).matmul(w).reshape([-1, heads, f])
            el = z.mul(self.attn_l).sum_dim(-1, False)
            num_dst = batch.num_dst_nodes(layer, t)
            er = None
            if num_dst > 0:
                er = z.narrow(0, 0, num_dst).mul(self.attn_r).sum_dim(-1, False)
            scored[t] = (z, el, er)
        into = blocks_by_destination(batch, layer)
        parts = {}
        for t in sorted(into):
            edges = []
            for b in into[t]:
                name = canonical_name(b.edge_type)
                z_src, el_src, _ = _input_of(scored, b.edge_type.src, name)
                er_dst = _input_of(scored, b.edge_type.dst, name)[2]
                if er_dst is None:
                    raise InvalidArgument(
                        "the batch has a block of edge type `{}` but no destination node of "
                        "type `{}`".format(name, b.edge_type.dst)
                    )
                src, dst = b.block.src(), b.block.dst()
                logits = (
                    el_src.index_select(0, src)
                    .add(er_dst.index_select(0, dst))
                    .leaky_relu(NEGATIVE_SLOPE)
                )
                edges.append((dst, logits, z_src.index_select(0, src)))
            parts[t] = edges
        out = {}
        for t, n in dst_node_counts(batch, layer):
            if t in parts:
                y = _attend(parts[t], n, heads, f)
            else:
                y = Tensor.zeros([n, heads * f], Dtype.F32)
            y = y + self.bias
            out[t] = y.relu() if self.relu else y
        return out


def _attend(parts, n, heads, f):
    """`[n, heads * f]`: per destination and head, the softmax over all its in-edges (of every
    part `(dst, logits, values)`) of the logits, weighting the sum of the edges' values."""
    if len(parts) == 1:
        dst, logits, values = parts[0]
    else:
        dst, logits, values = (Tensor.cat([part[i] for part in parts], 0) for i in range(3))
    attention = logits.segment_softmax(dst, n)
    return (
        values.mul(attention.reshape([-1, heads, 1]))
        .scatter_reduce(dst, n, Reduce.SUM)
        .reshape([n, heads * f])
    )


class RelGraphConv:
    """DGL's `RelGraphConv` as GraphStorm's `RelGraphConvLayer` builds it, on a whole layer of a
    batch: `out[v] = Σ_r mean_{u ∈ N_r(v)} h_u W[r] + h_v @ loop_weight + h_bias`, `W[r]` the
    relation's weight or, with `num_bases`, `W[r] = Σ_b w_comp[r, b] · basis[b]` (DGL's
    `WeightBasis`); `r` the edge type's index in `edge_types` (WIT `edge-type` records, the
    schema's order). The mean is by the in-degree within the block (0 without in-edges); a
    destination type no block enters gets just the self-loop and bias. No activation.
    Weights as GraphStorm's state dict names them, created in this order: `<scope>.weight`
    `[num_rels, in, out]`, or `<scope>.basis.weight` `[num_bases, in, out]` and
    `<scope>.basis.w_comp` `[num_rels, num_bases]`; with `self_loop` `<scope>.loop_weight`
    `[in, out]`; `<scope>.h_bias` `[out]`: Xavier-uniform with the ReLU gain (torch's fans),
    zeros for `h_bias`. The same weights, order and ops as the Rust SDK's `RelGraphConv`."""

    def __init__(self, scope, edge_types, num_bases, in_dim, out_dim, self_loop=True):
        num_rels = len(edge_types)

        def xavier(shape):
            return torch_xavier_uniform(shape, RELU_GAIN)

        self.bases = self.coeff = self.weight = None
        if num_bases is not None:
            basis = scope.sub("basis")
            shape = [num_bases, in_dim, out_dim]
            self.bases = basis.param("weight", shape, xavier(shape))
            self.coeff = basis.param("w_comp", [num_rels, num_bases], xavier([num_rels, num_bases]))
        else:
            shape = [num_rels, in_dim, out_dim]
            self.weight = scope.param("weight", shape, xavier(shape))
        self.loop_weight = None
        if self_loop:
            shape = [in_dim, out_dim]
            self.loop_weight = scope.param("loop_weight", shape, xavier(shape))
        self.h_bias = scope.param("h_bias", [out_dim], zeros())
        self.rel_index = {canonical_name(e): i for i, e in enumerate(edge_types)}
        self.in_dim = in_dim
        self.out_dim = out_dim

    def relation_weights(self):
        """`[num_rels, in, out]`: every relation's weight, combined from the bases if the layer
        has them (`w_comp @ bases.reshape([num_bases, -1])`, reshaped)."""
        if self.weight is not None:
            return self.weight
        num_bases, num_rels = self.bases.shape()[0], self.coeff.shape()[0]
        combined = self.coeff.matmul(self.bases.reshape([num_bases, -1]))
        return combined.reshape([num_rels, self.in_dim, self.out_dim])

    def __call__(self, batch, layer, h):
        """The layer's output per destination node type of layer `layer`, from `h` (the
        layer's input per node type, destinations first)."""
        weights = self.relation_weights()
        out = {}
        for b in batch.described_blocks(layer):
            name = canonical_name(b.edge_type)
            r = self.rel_index.get(name)
            if r is None:
                raise InvalidArgument(
                    "the batch has edge type `{}`, which the graph schema given to `init` "
                    "lacks".format(name)
                )
            h_src = h.get(b.edge_type.src)
            if h_src is None:
                raise Unsupported(
                    "node type `{}` has no input features, and it is a source of edge type "
                    "`{}` (hint: give it a feature with --node-feat-name)".format(
                        b.edge_type.src, name
                    )
                )
            w = weights.narrow(0, r, 1).reshape([self.in_dim, self.out_dim])
            # DGL's GraphConv(norm='right', weight given): project first when that shrinks the
            # messages, else aggregate first.
            if self.in_dim > self.out_dim:
                y = b.block.aggregate(h_src.matmul(w), Reduce.MEAN)
            else:
                y = b.block.aggregate(h_src, Reduce.MEAN).matmul(w)
            dst = b.edge_type.dst
            out[dst] = out[dst] + y if dst in out else y
        counts = dict(dst_node_counts(batch, layer))
        for t, n in counts.items():
            if t not in out:
                out[t] = Tensor.zeros([n, self.out_dim], Dtype.F32)
        result = {}
        for t in sorted(out):
            y = out[t]
            if self.loop_weight is not None:
                if t not in h:
                    raise Unsupported(
                        "node type `{}` has no input features, and the self-loop needs them "
                        "(hint: give it a feature with --node-feat-name)".format(t)
                    )
                y = y + h[t].narrow(0, 0, counts.get(t, 0)).matmul(self.loop_weight)
            result[t] = y + self.h_bias
        return result


class _TorchLinear:
    """A `torch.nn.Linear(in, out)`: `<scope>.weight` `[out, in]` applied as `x @ weightᵀ +
    bias`, `<scope>.bias` `[out]`, both drawn from `U(-1/√in, 1/√in)` as torch's
    `reset_parameters` does."""

    def __init__(self, scope, in_dim, out_dim):
        bound = 1.0 / math.sqrt(in_dim)
        self.weight = scope.param("weight", [out_dim, in_dim], uniform(-bound, bound))
        self.bias = scope.param("bias", [out_dim], uniform(-bound, bound))

    def __call__(self, x):
        return x.matmul(self.weight.transpose(0, 1)) + self.bias


def _per_head(x, w):
    """`x` `[N, heads, dk]` times `w[i]` `[dk, dk]` head by head (`einsum("bij,ijk->bik")`)."""
    return x.transpose(0, 1).matmul(w).transpose(0, 1)


class HgtLayer:
    """GraphStorm's plain `HGTLayer(in_dim, out_dim, schema, heads)` on a whole layer of a
    batch, the Rust SDK's `HgtLayer::new`: with `H = heads` heads of `dk = out_dim / H`
    features, for every block of edge type `r = (s, rel, d)` (edges `u → v`)
    `k'[u] = k_linears[s](h[u]) · relation_att[r]` and `v'[u] = v_linears[s](h[u]) ·
    relation_msg[r]` (per head), `q[v] = q_linears[d](h[v])`, the attention
    `a_uv = softmax over v's in-edges of type r of <q[v], k'[u]> · relation_pri[r] / √dk`, and
    `m_r[v] = Σ_u a_uv v'[u]`; then per destination node type `t`, `α = σ(skip[t])`,
    `out[t] = relu(dropout(mean_r m_r, p) · α + a_linears[t](h[t]) · (1 − α))`, the mean over
    every edge type of the schema into `t` (DGL's `cross_reducer="mean"`: an edge type without
    edges in the batch counts with zeros), heads concatenated. A node type that no edge type
    enters gets GraphStorm's pseudo self-loop, `a_linears[t](h[t])` on both sides of the gate.

    Weights, created in this order (the Rust SDK's), every `nn.Linear` `[out, in]` with weight
    and bias from `U(-1/√in, 1/√in)`: per node type of `schema`
    `<scope>.k_linears.<ntype>.{weight,bias}`, `q_linears`, `v_linears`, `a_linears`, and
    `<scope>.skip.<ntype>` `[1]` (ones); per edge type of `schema` `<scope>.relation_pri.<key>`
    `[H]` (ones), `<scope>.relation_att.<key>` and `<scope>.relation_msg.<key>` `[H, dk, dk]`
    (torch's Xavier-uniform, gain 1), `<key>` GraphStorm's `src_rel_dst`.

    Not here, unlike the Rust SDK's `HgtLayer::with_options`: edge features
    (`HGTLayerwithEdgeFeat`, `ef_linears`) and GraphStorm's encoder options after the gate
    (`gnn_norm`, NGNN layers); the Python SDK has no edge encoder nor layer end. The layer
    always ends with ReLU, as GraphStorm's plain `HGTLayer`."""

    def __init__(self, scope, schema, heads, in_dim, out_dim):
        if heads < 1 or out_dim % heads != 0:
            raise InvalidArgument(
                "HGT: heads {} does not divide out_dim {} (each head gets out_dim / heads "
                "features)".format(heads, out_dim)
            )
        self.heads = heads
        self.head_dim = out_dim // heads
        self.out_dim = out_dim
        self.nodes = {}
        for t in schema.node_types:

            def linear(name):
                return _TorchLinear(scope.sub(name).sub(t.name), in_dim, out_dim)

            k = linear("k_linears")
            q = linear("q_linears")
            v = linear("v_linears")
            a = linear("a_linears")
            skip = scope.sub("skip").param(t.name, [1], ones())
            self.nodes[t.name] = (k, q, v, a, skip)
        matrix = [heads, self.head_dim, self.head_dim]
        self.relations = {}
        self.relations_into = {}
        for et in schema.edge_types:
            # GraphStorm's ParameterDicts key an edge type by `'_'.join(canonical etype)`.
            key = "{}_{}_{}".format(et.src, et.rel, et.dst)
            pri = scope.sub("relation_pri").param(key, [heads], ones())
            att = scope.sub("relation_att").param(key, matrix, torch_xavier_uniform(matrix, 1.0))
            msg = scope.sub("relation_msg").param(key, matrix, torch_xavier_uniform(matrix, 1.0))
            self.relations[canonical_name(et)] = (pri, att, msg)
            self.relations_into[et.dst] = self.relations_into.get(et.dst, 0) + 1

    def _node(self, node_type):
        params = self.nodes.get(node_type)
        if params is None:
            raise InvalidArgument(
                "the batch has node type `{}`, which the graph schema given to `init` "
                "lacks".format(node_type)
            )
        return params

    def __call__(self, batch, layer, h, p=0.0):
        """The layer's output per destination node type of layer `layer`, from `h` (the
        layer's input per node type, destinations first); `p` is the dropout on the attention
        side of the gate."""
        heads, dk = self.heads, self.head_dim
        # Keys, values and queries of a node type do not depend on the edge type: computed
        # once per layer, as `[N, heads, dk]`.
        keys = {}
        queries = {}
        summed = {}
        scale = Tensor.from_f32([math.sqrt(dk)], [1])
        for b in batch.described_blocks(layer):
            et = b.edge_type
            name = canonical_name(et)
            relation = self.relations.get(name)
            if relation is None:
                raise InvalidArgument(
                    "the batch has edge type `{}`, which the graph schema given to `init` "
                    "lacks".format(name)
                )
            pri, att, msg = relation
            s, d = et.src, et.dst
            if d not in queries:
                q_linear = self._node(d)[1]
                x = _input_of(h, d, name)
                n = batch.num_dst_nodes(layer, d)
                queries[d] = q_linear(x.narrow(0, 0, n)).reshape([-1, heads, dk])
            if s not in keys:
                k_linear, _, v_linear = self._node(s)[:3]
                x = _input_of(h, s, name)
                keys[s] = (
                    k_linear(x).reshape([-1, heads, dk]),
                    v_linear(x).reshape([-1, heads, dk]),
                )
            k, v = keys[s]
            src, dst = b.block.src(), b.block.dst()
            k = _per_head(k, att).index_select(0, src)
            v = _per_head(v, msg).index_select(0, src)
            # score[e, i] = <q_dst, k'_src>_i · pri[i] / √dk, softmax over each dst's in-edges.
            score = (
                queries[d].index_select(0, dst).mul(k).sum_dim(-1, False).mul(pri).div(scale)
            )
            attention = score.segment_softmax(dst, b.num_dst)
            messages = v.mul(attention.reshape([-1, heads, 1])).scatter_reduce(
                dst, b.num_dst, Reduce.SUM
            )
            summed[d] = summed[d] + messages if d in summed else messages
        out = {}
        for t, n in dst_node_counts(batch, layer):
            a_linear, skip = self._node(t)[3:]
            if t not in h:
                raise Unsupported(
                    "node type `{}` has no input features, and HGT's output gate needs them "
                    "(hint: give it a feature with --node-feat-name)".format(t)
                )
            alpha = skip.sigmoid()
            beta = alpha.neg().add_scalar(1.0)
            skipped = a_linear(h[t].narrow(0, 0, n))
            count = self.relations_into.get(t)
            if count is not None:
                # As DGL's `multi_update_all(..., cross_reducer="mean")`: every edge type into
                # `t` counts, an edge type without edges in this batch contributing zeros.
                total = summed.pop(t) if t in summed else Tensor.zeros([n, heads, dk], Dtype.F32)
                mean = total.div(Tensor.from_f32([float(count)], [1]))
                transformed = dropout(mean.reshape([n, self.out_dim]), p)
            else:
                # No edge type into `t` at all: GraphStorm's pseudo self-loop.
                transformed = dropout(skipped, p)
            out[t] = (transformed.mul(alpha) + skipped.mul(beta)).relu()
        return out


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
