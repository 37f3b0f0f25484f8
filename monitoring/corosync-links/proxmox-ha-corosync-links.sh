#!/bin/bash
# corosync's knet link to each peer, connected (1) or not (0), for node_exporter's textfile collector: PVE's own
# exporter says whether a node is a member, not whether it still has a second link to fall back on.
set -euo pipefail
TEXTFILE_DIR="${TEXTFILE_DIR:-/var/lib/prometheus/node-exporter}"
out="$TEXTFILE_DIR/proxmox_ha_corosync.prom"
tmp="$TEXTFILE_DIR/.proxmox_ha_corosync.prom.$$"
trap 'rm -f "$tmp"' EXIT
# No corosync (stopped, or not a member yet): no series rather than stale ones; PVE's metrics cover membership.
if ! cmap=$({ corosync-cmapctl nodelist.node && corosync-cmapctl -m stats stats.knet. \
              && corosync-cmapctl -g runtime.votequorum.this_node_id; } 2>/dev/null); then
    rm -f "$out"
    exit 0
fi
{
    echo "# HELP proxmox_ha_corosync_link_connected Whether corosync's knet link to the peer is connected."
    echo "# TYPE proxmox_ha_corosync_link_connected gauge"
    awk '
        /^nodelist\.node\.[0-9]+\.name / { split($1, k, "."); name[k[3]] = $NF }
        /^nodelist\.node\.[0-9]+\.nodeid / { split($1, k, "."); id[k[3]] = $NF }
        /^runtime\.votequorum\.this_node_id / { self = $NF }
        /^stats\.knet\.node[0-9]+\.link[0-9]+\.connected / {
            split($1, k, "."); state[substr(k[3], 5) " " substr(k[4], 5)] = $NF
        }
        END {
            for (i in id) peer[id[i]] = name[i]
            for (s in state) {
                split(s, p, " ")
                if (p[1] != self && p[1] in peer)
                    printf "proxmox_ha_corosync_link_connected{peer=\"%s\",link=\"%s\"} %s\n", peer[p[1]], p[2], state[s]
            }
        }' <<<"$cmap" | sort
} >"$tmp"
chmod 0644 "$tmp"  # node_exporter reads it as user prometheus
mv "$tmp" "$out"
