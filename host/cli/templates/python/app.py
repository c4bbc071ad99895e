"""`{{name}}`: a gs model plugin in Python. A heterogeneous mean-GCN: per layer, every edge
type averages its source nodes' representations and projects them with a weight of its own,
every destination node type adds a self-loop linear layer, and ReLU and dropout come between
layers. Change it into your model; README.md says how to build, test and run it.
"""

from gs_plugin import InvalidArgument, Info, Model, Reduce, Task, Unsupported, export_model
from gs_plugin.nn import Linear, Scope, blocks_by_destination, dropout


class {{class}}(Model):
    @classmethod
    def info(cls):
        # Who the plugin is, its tasks and its custom arguments (`gs launch ... -- --name value`).
        return (
            Info("{{name}}", "0.1.0")
            .task(Task.NODE_CLASSIFICATION)
            .task(Task.NODE_REGRESSION)
            .hyper_param("residual", "false", "Add each layer's input to its output (true or false).")
        )

    def __init__(self, config, schema):
        # Validate arguments first; raise InvalidArgument or Unsupported with a clear message.
        self.residual = config.flag("residual")
        if config.num_layers == 0 or config.hidden_size == 0:
            raise InvalidArgument("{{name}} needs num-layers and hidden-size of at least 1")
        hidden = config.hidden_size
        self.dropout = config.dropout
        self.layers = []
        # Weights are created here, once, with names such as `layers.0.neigh.author:writes:paper.weight`:
        # they are the checkpoint's keys.
        for l in range(config.num_layers):
            scope = Scope().sub("layers").sub(l)

            def in_dim(node_type):
                if l > 0:
                    return hidden
                dim = schema.feature_dim(node_type)
                if dim == 0:
                    raise Unsupported("node type `{}` has no input features".format(node_type))
                return dim

            neigh = {}
            for et in schema.edge_types:
                name = "{}:{}:{}".format(et.src, et.rel, et.dst)
                neigh[name] = Linear(scope.sub("neigh").sub(name), in_dim(et.src), hidden, bias=False)
            self_loop = {
                t.name: Linear(scope.sub("self").sub(t.name), in_dim(t.name), hidden)
                for t in schema.node_types
            }
            self.layers.append((neigh, self_loop))

    def forward(self, batch, mode):
        # Every call below is one host call over a whole tensor: never loop over nodes or edges.
        h = {}
        for t in batch.src_node_types(0):
            x = batch.input_features(t)
            if x is not None:
                h[t] = x
        last = len(self.layers) - 1
        for l, (neigh, self_loop) in enumerate(self.layers):
            out = {}
            into = blocks_by_destination(batch, l)
            for n in batch.layer_nodes(l):
                if n.num_dst == 0 or n.node_type not in h:
                    continue
                t = n.node_type
                y = self_loop[t](h[t].narrow(0, 0, n.num_dst))
                for b in into.get(t, []):
                    et = b.edge_type
                    name = "{}:{}:{}".format(et.src, et.rel, et.dst)
                    y = y + neigh[name](b.block.aggregate(h[et.src], Reduce.MEAN))
                if self.residual and l > 0:
                    y = y + h[t].narrow(0, 0, n.num_dst)
                out[t] = y if l == last else dropout(y.relu(), self.dropout)
            h = out
        return h


# componentize-py looks for these two classes at the top level of `app.py`.
ModelApi, ModelCapabilities = export_model({{class}})
