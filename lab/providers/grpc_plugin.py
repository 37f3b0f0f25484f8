"""What both stand-in plugins share: property-value encoding, the gRPC server, and the resource dispatch.

A resource plugin is an executable that serves pulumirpc.ResourceProvider and prints its port as the first
line on stdout; the engine reads that line, then talks gRPC. Values cross as protobuf Structs in which
numbers are floats and unknowns are a sentinel string (secrets never reach us: Configure says we do not
accept them, so the engine strips them here and marks the matching outputs secret itself).
"""
from __future__ import annotations

import sys
import traceback
from concurrent import futures
from typing import Any, Callable

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, plugin_pb2, provider_pb2, provider_pb2_grpc

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_SIG, _SECRET = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


class ResourceError(Exception):
    """A failure the user should read: it becomes the engine's error for that resource."""


def _plain(value: Any) -> Any:
    """Unwrap secret values: Configure's args carry them before the engine learns we take none."""
    if isinstance(value, dict):
        if value.get(_SIG) == _SECRET:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def to_py(message: struct_pb2.Struct | None) -> dict[str, Any]:
    return _plain(json_format.MessageToDict(message)) if message is not None else {}


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update({k: v for k, v in value.items() if v is not None})
    return out


def _ignoring(keys, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    """`ignore_changes`: the state's value stands in for the new input, in Diff and in Update alike."""
    return {**news, **{k: olds[k] for k in keys if k in olds}}


class Resource:
    """One resource type: Check fills defaults; Diff says update or replace; the rest do the work.

    `replace_on` names the input keys whose change needs a new resource (ForceNew in the real provider).
    """

    token = ""
    replace_on: frozenset[str] = frozenset()
    # Output-only keys: unknown in a preview of a create.
    computed: tuple[str, ...] = ()
    # The resource this request is about (the provider sets it per request).
    urn = ""

    def __init__(self, config: dict[str, Any]):
        self.config = config

    @property
    def name(self) -> str:
        """The resource's name: the URN's last part (urn:pulumi:STACK::PROJECT::TYPE::NAME)."""
        parts = self.urn.split("::", 3)
        return parts[3] if len(parts) == 4 else ""

    def log(self, severity: str, message: str) -> None:
        """A diagnostic for the engine (severity debug|info|warning|error); the provider routes it there per
        request. Outside a provider it goes to stderr."""
        print(message, file=sys.stderr, flush=True)

    def preview(self, news: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, Any]:
        """The outputs a preview shows: of a create (olds None) or of an update of `olds`; computed keys unknown."""
        return {**(olds or {}), **news, **{k: UNKNOWN for k in self.computed}}

    def check(self, news: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return news, []

    def diff(self, olds: dict[str, Any], news: dict[str, Any], old_inputs: dict[str, Any]) -> tuple[list[str], list[str]]:
        """(changed keys, keys needing replacement): new inputs against the old state, and inputs since removed.

        A computed value the config leaves unset keeps its state value (UseStateForUnknown), so only keys the
        config sets, or set last time, are compared.
        """
        changed = [k for k in sorted(news) if news[k] != olds.get(k)]
        changed += [k for k in sorted(old_inputs) if k not in news and olds.get(k) is not None]
        return changed, [k for k in changed if k in self.replace_on]

    def create(self, urn: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def read(self, id_: str, state: dict[str, Any]) -> dict[str, Any] | None:
        """The resource as it is now, or None when it is gone."""
        return state

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def delete(self, id_: str, state: dict[str, Any]) -> None:
        raise NotImplementedError


class Provider(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, version: str, resources: dict[str, Callable[[dict[str, Any]], Resource]], config_prefix: str,
                 configure: Callable[[dict[str, Any]], None] | None = None, engine: str | None = None):
        """`configure` refuses a provider config (raising ResourceError) as the real plugin's Configure does;
        `engine` is the engine's address, where resources' log lines go."""
        self.version = version
        self.factories = resources
        self.prefix = config_prefix
        self.config: dict[str, Any] = {}
        self.configure = configure
        self.engine = engine
        self._engine_stub = None

    def _resource(self, type_: str, context, urn: str = "") -> Resource:
        factory = self.factories.get(type_)
        if factory is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"this stand-in provider does not serve {type_}")
        resource = factory(self.config)
        resource.urn = urn
        resource.log = lambda severity, message: self.log(urn, severity, message)
        return resource

    def log(self, urn: str, severity: str, message: str) -> None:
        """Log to the engine (shown with the resource, as the real plugin's diagnostics are), else to stderr."""
        if self.engine:
            try:
                if self._engine_stub is None:
                    self._engine_stub = engine_pb2_grpc.EngineStub(grpc.insecure_channel(self.engine))
                self._engine_stub.Log(engine_pb2.LogRequest(
                    severity=getattr(engine_pb2, severity.upper()), message=message, urn=urn), timeout=30)
                return
            except grpc.RpcError:
                pass
        print(message, file=sys.stderr, flush=True)

    def _guard(self, context, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except ResourceError as error:
            context.abort(grpc.StatusCode.UNKNOWN, str(error))
        except Exception:  # noqa: BLE001 - a stand-in bug must show its traceback in the engine's output
            context.abort(grpc.StatusCode.INTERNAL, traceback.format_exc())

    # --- plugin and provider configuration --------------------------------------------------------
    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=self.version)

    def Attach(self, request, context):
        return empty_pb2.Empty()

    def Cancel(self, request, context):
        return empty_pb2.Empty()

    def GetSchema(self, request, context):
        return provider_pb2.GetSchemaResponse(schema="{}")

    def CheckConfig(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_UNKNOWN)

    def Configure(self, request, context):
        config = to_py(request.args) if request.HasField("args") else {}
        for key, value in request.variables.items():
            config.setdefault(key.removeprefix(self.prefix), value)
        self.config = config
        if self.configure is not None:
            self._guard(context, lambda: self.configure(config))
        return provider_pb2.ConfigureResponse(acceptSecrets=False, supportsPreview=True, acceptResources=False)

    # --- resources ----------------------------------------------------------------------------
    def Check(self, request, context):
        resource = self._resource(request.type, context, request.urn)
        inputs, failures = self._guard(context, lambda: resource.check(to_py(request.news)))
        return provider_pb2.CheckResponse(
            inputs=to_struct(inputs),
            failures=[provider_pb2.CheckFailure(property=p, reason=r) for p, r in failures],
        )

    def Diff(self, request, context):
        resource = self._resource(request.type, context, request.urn)
        olds, news = to_py(request.olds), to_py(request.news)
        old_inputs = to_py(request.old_inputs) if request.HasField("old_inputs") else {
            k: v for k, v in olds.items() if k not in resource.computed}
        news = _ignoring(request.ignoreChanges, olds, news)
        changed, replaces = resource.diff(olds, news, old_inputs)
        kind = provider_pb2.PropertyDiff
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=changed,
            replaces=replaces,
            detailedDiff={k: kind(kind=kind.UPDATE_REPLACE if k in replaces else kind.UPDATE, inputDiff=True) for k in changed},
            hasDetailedDiff=True,
        )

    def Create(self, request, context):
        resource = self._resource(request.type, context, request.urn)
        inputs = to_py(request.properties)
        if request.preview:
            return provider_pb2.CreateResponse(properties=self._guard(context, lambda: to_struct(resource.preview(inputs))))
        def create():
            id_, outputs = resource.create(request.urn, inputs)
            return provider_pb2.CreateResponse(id=id_, properties=to_struct(outputs))
        return self._guard(context, create)

    def Read(self, request, context):
        resource = self._resource(request.type, context, request.urn)
        state = self._guard(context, lambda: resource.read(request.id, to_py(request.properties)))
        if state is None:
            return provider_pb2.ReadResponse()  # gone: the engine drops it from the state
        return provider_pb2.ReadResponse(id=request.id, properties=to_struct(state), inputs=request.inputs)

    def Update(self, request, context):
        resource = self._resource(request.type, context, request.urn)
        olds, news = to_py(request.olds), to_py(request.news)
        news = _ignoring(request.ignoreChanges, olds, news)
        if request.preview:
            return provider_pb2.UpdateResponse(properties=self._guard(context, lambda: to_struct(resource.preview(news, olds))))
        outputs = self._guard(context, lambda: to_struct(resource.update(request.id, olds, news)))
        return provider_pb2.UpdateResponse(properties=outputs)

    def Delete(self, request, context):
        resource = self._resource(request.type, context, request.urn)
        self._guard(context, lambda: resource.delete(request.id, to_py(request.properties)))
        return empty_pb2.Empty()


def engine_address(argv: list[str]) -> str | None:
    """The engine's address: the last plain argument (the engine passes [--logtostderr] [-v=N] [--tracing X] ADDR)."""
    plain, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--tracing":
            skip = True
        elif not arg.startswith("-"):
            plain.append(arg)
    return plain[-1] if plain else None


def serve(provider: Provider) -> None:
    """Listen on a free loopback port, tell the engine which (first stdout line), serve until killed."""
    if provider.engine is None:
        provider.engine = engine_address(sys.argv[1:])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=[("grpc.max_receive_message_length", 256 << 20)])
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(provider, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()  # the engine kills the plugin when it is done with it
