"""Write gs model plugins in Python.

This package is the guest side of the `gs:plugin` WIT contract for Python, over the bindings
that componentize-py generates from the WIT (`wit_world`): the `Tensor` handle with Python's
operators, the `Model` base class and `export_model`, which turns a model class into the
`ModelApi` and `ModelCapabilities` exports componentize-py looks for in `app.py`, and the
layers of `gs_plugin.nn` with the weight names and initialisations of the Rust SDK.

    from gs_plugin import Info, Model, Task, export_model
    from gs_plugin.nn import Linear, Scope

    class Mlp(Model):
        @classmethod
        def info(cls):
            return Info("mlp", "0.1.0").task(Task.NODE_CLASSIFICATION)

        def __init__(self, config, schema):
            dim = schema.feature_dim(config.target_node_type)
            self.fc = Linear(Scope().sub("fc"), dim, config.hidden_size)

        def forward(self, batch, mode):
            t = batch.target_node_type()
            n = batch.num_dst_nodes(batch.num_layers() - 1, t)
            return {t: self.fc(batch.input_features(t).narrow(0, 0, n)).relu()}

    ModelApi, ModelCapabilities = export_model(Mlp)

Every tensor operation is one call into the host over a whole tensor: use them on whole
batches, never per node or per edge. Imports must sit at the top of a module: componentize-py
snapshots the interpreter at build time, and the standard library is not there at run time.
An exception in `__init__`, `forward`, `decode` or `loss` reaches the host as the export's
error, with its traceback.
"""

import sys
import traceback

from componentize_py_types import Err
from wit_world import exports as _exports
from wit_world.exports import model_api as _api
from wit_world.exports import model_capabilities as _caps
from wit_world.imports import graph as _graph
from wit_world.imports import log as _log
from wit_world.imports import tensors as _tensors
from wit_world.imports import types as _types

# The `gs:plugin` package version the bindings are generated from, and this SDK's version as
# `describe` reports it and `gs plugin build` stamps it into the component.
PACKAGE_VERSION = "0.1.4"
SDK_VERSION = "0.1.0"

Tensor = _tensors.Tensor
Block = _graph.Block
Batch = _graph.Batch
EdgeType = _graph.EdgeType
Task = _types.Task
Mode = _types.Mode
Dtype = _types.Dtype
Reduce = _types.Reduce

param = _tensors.param
buffer = _tensors.buffer
set_buffer = _tensors.set_buffer

# ---------------------------------------------------------------------------------------------
# Tensor operators. The generated class has the WIT methods; Python's operators call them, with
# the scalar variants for plain numbers.


def _is_tensor(value):
    return isinstance(value, Tensor)


def _add(self, other):
    return self.add(other) if _is_tensor(other) else self.add_scalar(float(other))


def _sub(self, other):
    return self.sub(other) if _is_tensor(other) else self.add_scalar(-float(other))


def _rsub(self, other):
    return self.neg().add_scalar(float(other))


def _mul(self, other):
    return self.mul(other) if _is_tensor(other) else self.mul_scalar(float(other))


def _truediv(self, other):
    return self.div(other) if _is_tensor(other) else self.mul_scalar(1.0 / float(other))


def _pow(self, exponent):
    return self.pow_scalar(float(exponent))


def _repr(self):
    return "Tensor(shape={}, dtype={})".format(self.shape(), self.dtype().name.lower())


Tensor.__add__ = _add
Tensor.__radd__ = _add
Tensor.__sub__ = _sub
Tensor.__rsub__ = _rsub
Tensor.__mul__ = _mul
Tensor.__rmul__ = _mul
Tensor.__truediv__ = _truediv
Tensor.__matmul__ = Tensor.matmul
Tensor.__neg__ = Tensor.neg
Tensor.__pow__ = _pow
Tensor.__repr__ = _repr

# ---------------------------------------------------------------------------------------------
# Errors: raise one of these from a model to fail the export with that kind of error.


class PluginError(Exception):
    """Anything else (WIT `error.other`)."""

    _variant = _types.Error_Other


class InvalidArgument(PluginError):
    """A configuration value or custom argument is invalid; the message names it."""

    _variant = _types.Error_InvalidArgument


class Unsupported(PluginError):
    """The task, graph or feature set is not supported by this plugin."""

    _variant = _types.Error_Unsupported


class NotProvided(PluginError):
    """The export is not provided: the host uses its built-in decoder or loss."""

    _variant = _types.Error_NotImplemented


def _guarded(export, call):
    """`call()`, with a Python exception turned into the export's WIT error. An unexpected one
    carries its traceback, and goes to stderr (the host's log) too."""
    try:
        return call()
    except Err:
        raise
    except PluginError as e:
        raise Err(e._variant(str(e)))
    except Exception:
        trace = traceback.format_exc()
        print(trace, file=sys.stderr, end="")
        raise Err(_types.Error_Other("Python exception in `{}`:\n{}".format(export, trace)))


# ---------------------------------------------------------------------------------------------
# Logging into the host's log, tagged with the plugin's name.


def debug(message):
    _log.log(_log.Level.DEBUG, str(message))


def info(message):
    _log.log(_log.Level.INFO, str(message))


def warn(message):
    _log.log(_log.Level.WARN, str(message))


# ---------------------------------------------------------------------------------------------
# What a model declares, and what `__init__` receives.


class Info:
    """Who the plugin is and what it accepts, built up with chained calls."""

    def __init__(self, name, version):
        self.name = name
        self.version = version
        self.tasks = []
        self.hyper_params = []
        self.decode_tasks = []
        self.loss_tasks = []

    def task(self, task):
        """Declares a task the model supports."""
        if task not in self.tasks:
            self.tasks.append(task)
        return self

    def hyper_param(self, name, default, help):
        """Declares a custom argument (`--name value` on the command line)."""
        self.hyper_params.append(_api.HyperParam(name, str(default), help))
        return self

    def decodes(self, task):
        """Declares that `Model.decode` computes the task's outputs."""
        if task not in self.decode_tasks:
            self.decode_tasks.append(task)
        return self

    def computes_loss(self, task):
        """Declares that `Model.loss` computes the task's training loss."""
        if task not in self.loss_tasks:
            self.loss_tasks.append(task)
        return self


class Config:
    """The resolved configuration a model is built from (WIT `model-config`), with its custom
    arguments as a dict: every one `info()` declares, the user's value or the default."""

    def __init__(self, config, defaults=()):
        self.task = config.task
        self.hidden_size = config.hidden_size
        self.num_layers = config.num_layers
        self.num_classes = config.num_classes
        self.dropout = config.dropout
        self.target_node_type = config.target_node_type
        self.args = dict(defaults)
        self.args.update(config.custom_args)

    def arg(self, name, default=None):
        """The custom argument `name`, or `default` when it is not there."""
        return self.args.get(name, default)

    def choice(self, name, choices):
        """The custom argument `name`, which must be one of `choices`."""
        value = self.args.get(name)
        if value not in choices:
            raise InvalidArgument(
                "--{} {!r} is not supported (hint: use one of {})".format(
                    name, value, ", ".join(choices)
                )
            )
        return value

    def flag(self, name):
        """The custom argument `name` read as `true` or `false`."""
        return self.choice(name, ("true", "false")) == "true"


class Schema:
    """The graph's schema as `__init__` sees it (WIT `graph-schema`)."""

    def __init__(self, schema):
        self.node_types = list(schema.node_types)
        self.edge_types = list(schema.edge_types)

    def feature_dim(self, node_type):
        """The width of `node_type`'s input features (0 without)."""
        for t in self.node_types:
            if t.name == node_type:
                return t.feature_dim
        raise InvalidArgument(
            "node type `{}` is not in the graph (it has {})".format(
                node_type, ", ".join(t.name for t in self.node_types)
            )
        )


class Model:
    """A model plugin: subclass it, then `ModelApi, ModelCapabilities = export_model(MyModel)`
    at the top level of `app.py`.

    - `info()` (a classmethod) says who the plugin is;
    - `__init__(config, schema)` creates the weights with `gs_plugin.param` (or the layers of
      `gs_plugin.nn`);
    - `forward(batch, mode)` returns the last layer's destination embeddings per node type, as a
      dict or a list of pairs;
    - `decode(batch, embeddings, mode)` and `loss(outputs, labels)` are optional: declare them
      with `Info.decodes` and `Info.computes_loss`.
    """

    @classmethod
    def info(cls):
        raise NotImplementedError("a gs model implements `info()`")

    def forward(self, batch, mode):
        raise NotImplementedError("a gs model implements `forward(batch, mode)`")

    def decode(self, batch, embeddings, mode):
        raise NotProvided("this model does not decode")

    def loss(self, outputs, labels):
        raise NotProvided("this model computes no loss")


def _task_name(task):
    return task.name.lower().replace("_", "-")


def export_model(model_class):
    """The `(ModelApi, ModelCapabilities)` classes that export `model_class` through the WIT
    world `model`. Assign them at the top level of `app.py`, where componentize-py finds them."""
    built = {}

    def model(export):
        if "model" not in built:
            raise Err(_types.Error_Other("`{}` called before a successful `init`".format(export)))
        return built["model"]

    class ModelApi(_exports.ModelApi):
        def describe(self):
            info = model_class.info()
            return _api.PluginInfo(
                info.name, info.version, SDK_VERSION, list(info.tasks), list(info.hyper_params)
            )

        def init(self, config, schema):
            built.pop("model", None)
            info = model_class.info()
            defaults = [(p.name, p.default) for p in info.hyper_params]
            if config.task not in info.tasks:
                raise Err(_types.Error_Unsupported("{} does not support {} (it supports {})".format(
                    info.name, _task_name(config.task), ", ".join(map(_task_name, info.tasks))
                )))
            built["model"] = _guarded(
                "init", lambda: model_class(Config(config, defaults), Schema(schema))
            )

        def forward(self, batch, mode):
            m = model("forward")
            out = _guarded("forward", lambda: m.forward(batch, mode))
            pairs = sorted(out.items()) if isinstance(out, dict) else list(out)
            return [(str(t), h) for t, h in pairs]

        def decode(self, batch, embeddings, mode):
            m = model("decode")
            return _guarded("decode", lambda: m.decode(batch, dict(embeddings), mode))

        def loss(self, outputs, labels):
            m = model("loss")
            return _guarded("loss", lambda: m.loss(outputs, labels))

    class ModelCapabilities(_exports.ModelCapabilities):
        def capabilities(self):
            info = model_class.info()
            return _caps.PluginCapabilities(list(info.decode_tasks), list(info.loss_tasks))

    return ModelApi, ModelCapabilities
