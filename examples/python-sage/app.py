"""`python-sage`: gs's built-in `sage` (GraphStorm's GraphSAGE encoder) written in Python with
the gs_plugin SDK, op for op as the Rust plugin: GraphStorm's input projection per node type,
then `num-layers` GraphSAGE layers with the `pool` (or `mean`) aggregator, no bias, ReLU after
every layer (the last included), and dropout on every layer's input. With the same seed it
creates the same weights in the same order as the Rust `sage`, so the two train alike.
"""

from gs_plugin import InvalidArgument, Info, Model, Task, export_model
from gs_plugin.nn import NodeInputLayer, SageConv, Scope


class PythonSage(Model):
    @classmethod
    def info(cls):
        return (
            Info("python-sage", "0.1.0")
            .task(Task.NODE_CLASSIFICATION)
            .task(Task.NODE_REGRESSION)
            .task(Task.EDGE_CLASSIFICATION)
            .task(Task.EDGE_REGRESSION)
            .task(Task.LINK_PREDICTION)
            .hyper_param(
                "aggregator",
                "pool",
                "How a node aggregates its neighbours: pool (GraphStorm's) or mean.",
            )
        )

    def __init__(self, config, schema):
        aggregator = config.choice("aggregator", ("pool", "mean"))
        if config.hidden_size == 0 or config.num_layers == 0:
            raise InvalidArgument("python-sage needs hidden-size and num-layers of at least 1")
        schema.feature_dim(config.target_node_type)
        hidden = config.hidden_size
        self.input_projs = NodeInputLayer(schema, hidden)
        gnn = Scope().sub("gnn").sub("_layers")
        self.layers = [
            SageConv(gnn.sub(l).sub("conv"), hidden, hidden, aggregator)
            for l in range(config.num_layers)
        ]
        self.dropout = config.dropout

    def forward(self, batch, mode):
        if batch.num_layers() != len(self.layers):
            raise InvalidArgument(
                "the batch has {} layers of blocks, and this model was built with num-layers "
                "{} (hint: give the sampler one fanout per layer)".format(
                    batch.num_layers(), len(self.layers)
                )
            )
        h = self.input_projs(batch, batch.src_node_types(0))
        for l, conv in enumerate(self.layers):
            h = {t: y.relu() for t, y in conv(batch, l, h, self.dropout).items()}
        return h


ModelApi, ModelCapabilities = export_model(PythonSage)
