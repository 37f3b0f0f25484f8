"""One ComponentResource per module; each takes a typed args object built from the config models.

The words every component, its Args and program.py use, each for one thing:

- node: a ProxmoxNode, one cluster machine: its `name`, its entry in cluster.nodes (`config`), and `run`.
  `nodes` in every Args is the cluster's nodes, in config order; names are derived from them. (In the facts
  a component registers for the policy pack, `nodes` are names.)
- first: `nodes[0]`, the node that creates the cluster and runs every cluster-wide step.
- Host: a machine a step runs on, a name and an SSH connection; a node has one, and so does the QDevice's
  machine and, in Preflight before any node exists, each configured node.
- step: a named check-then-act script from remote/, built for one node. `node.run(step, parent)` runs it
  there and refuses a step built for another; `run_later` builds it only once a value it needs is known.
- ready: the one gate each component exposes, a Resource: depending on it waits for everything the component
  does (its last step where its steps form a chain, else the component itself).
- after: the Args field naming the `ready` a component waits for.
- config: the validated model a component (or a node) is built from; model classes are named ...Config
  where a component would otherwise share the name (QDeviceConfig for the QDevice component).
- member: a machine the PVE cluster counts, whether or not the config keeps it.
- upgrade: carry a member from PVE 8 to 9 in place (Upgrade); a node's upgrade runs on its peer, the next node
  in config order, which can wait for its return. CephUpgrade carries a running Ceph to the stack's release,
  before it.
- retire: remove a member from the cluster (guests, OSDs, daemons, membership); `retiring` are the names
  listed to retire, `kept` the nodes that stay. Decommission is the component that retires, under the
  name of its stack key, proxmox-ha:cluster.decommission: both are in users' state and stack files.
"""
