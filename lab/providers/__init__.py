"""Stand-in provider plugins for `command` and `proxmoxve`, used where the real plugins are not installed.

The Go module proxy here serves neither pulumi-command's nor pulumi-proxmoxve's provider (README,
"Toolchain"), so CI runs the engine against these: gRPC servers on the Pulumi SDK's own protos
(`grpc_plugin.py`), one module per provider. They do what the real ones do on the wire (SSH sessions;
the PVE REST calls bpg's provider makes) and refuse what they refuse; nothing here imports the product.
"""
