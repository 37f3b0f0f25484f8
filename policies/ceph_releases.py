"""Which Ceph releases PVE offers, and which are past upstream support: facts, no pack logic.

One home for both readers: the models (`policies.ceph_releases`) refuse a release PVE does not offer, and
the pack (`ceph_releases`, from its own folder) advises against one past its end of life. It lives in the
pack's folder and imports nothing, because the pack must run and publish on its own.
"""

# Which Ceph releases `pveceph install --version` offers on each PVE major (pve-manager
# PVE/Ceph/Releases.pm: stable-8 offers quincy, reef, squid with quincy the default, writing a bookworm
# ceph.list; master (PVE 9) offers squid and tentacle with tentacle the default, writing a trixie deb822
# ceph.sources), and which are past the end of upstream support that Releases.pm estimates (quincy 2024-06-01,
# reef 2025-08-01, squid 2026-09-19; tentacle 2027-11-18).
RELEASES_BY_PVE = {8: ("quincy", "reef", "squid"), 9: ("squid", "tentacle")}
END_OF_LIFE = {"quincy", "reef", "squid"}
# Each release's major version (Releases.pm), in upgrade order: `ceph --version` prints the number.
MAJORS = {"quincy": 17, "reef": 18, "squid": 19, "tentacle": 20}
