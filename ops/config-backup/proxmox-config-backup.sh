#!/usr/bin/env bash
# proxmox-config-backup.sh - back up the cluster configuration of a Proxmox VE node.
#
#   proxmox-config-backup.sh [run]        make, verify, (sync,) prune; the default
#   proxmox-config-backup.sh verify FILE  check an existing archive
#   proxmox-config-backup.sh prune        only apply local retention
#   proxmox-config-backup.sh help
#
# "run" writes ${BACKUP_DIR}/<host>-config-<YYYYmmdd-HHMMSS>.tar.gz containing
#   etc/pve, etc/corosync, etc/ceph            (those that exist under ROOT)
#   proxmox-config-backup/MANIFEST.txt          what the archive must contain
#   proxmox-config-backup/ceph-config-dump.txt  `ceph config dump`
#   proxmox-config-backup/ceph-osd-tree.txt     `ceph osd tree`
#   proxmox-config-backup/ceph-UNAVAILABLE.txt  instead of the two above when
#                                               the ceph command did not work
# then verifies it (gzip -t, tar -tzf, expected members), optionally copies it
# off-site with rclone and deletes its own archives older than RETENTION_DAYS.
#
# Environment:
#   BACKUP_DIR      where archives go           (default /var/backups/proxmox-ha)
#   ROOT            prefix of the source paths  (default empty = /; for tests)
#   RETENTION_DAYS  keep local archives N days  (default 14)
#   RCLONE_REMOTE   e.g. "offsite:proxmox-ha/config"; unset = no off-site copy
#   RCLONE_FLAGS    extra flags for rclone      (default empty)
#   CEPH_TIMEOUT    seconds per ceph command    (default 30)
#   BACKUP_HOSTNAME name used in archive names  (default `hostname -s`)
#   TEXTFILE_DIR    node_exporter textfile dir  (default
#                   /var/lib/prometheus/node-exporter, used only if it exists)
#
# The archives hold /etc/pve, i.e. private keys and tokens: they are created
# mode 0600 in a 0700 directory. This script never prints file contents.
set -euo pipefail

readonly PROG="proxmox-config-backup"
readonly VERSION="1"
readonly META_DIR="proxmox-config-backup"
readonly SOURCES=(etc/pve etc/corosync etc/ceph)

BACKUP_DIR="${BACKUP_DIR:-/var/backups/proxmox-ha}"
ROOT="${ROOT:-}"
RETENTION_DAYS="${RETENTION_DAYS:-14}"
RCLONE_REMOTE="${RCLONE_REMOTE:-}"
RCLONE_FLAGS="${RCLONE_FLAGS:-}"
CEPH_TIMEOUT="${CEPH_TIMEOUT:-30}"
TEXTFILE_DIR="${TEXTFILE_DIR:-/var/lib/prometheus/node-exporter}"

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
}

host_name() {
    local h="${BACKUP_HOSTNAME:-}"
    if [ -z "$h" ]; then
        h="$(hostname -s 2>/dev/null || uname -n)"
        h="${h%%.*}"
    fi
    case "$h" in
        ''|*/*|*' '*) die "cannot use host name '$h' in a file name; set BACKUP_HOSTNAME." ;;
    esac
    printf '%s' "$h"
}

# Glob matching exactly the archives this script writes for host $1.
archive_glob() {
    local d='[0-9]'
    printf '%s-config-%s%s%s%s%s%s%s%s-%s%s%s%s%s%s.tar.gz' "$1" \
        "$d" "$d" "$d" "$d" "$d" "$d" "$d" "$d" "$d" "$d" "$d" "$d" "$d" "$d"
}

check_uint() { # name value
    case "$2" in
        ''|*[!0-9]*) die "$1 must be a whole number, got '$2'." ;;
    esac
}

# ---------------------------------------------------------------------------
# verify FILE: gzip integrity, tar listing, and every member the MANIFEST
# promises. Prints one line per problem; returns non-zero on any problem.
# ---------------------------------------------------------------------------
verify_archive() {
    local file="$1" listing manifest missing=0 member
    [ -f "$file" ] || { log "verify: $file does not exist or is not a file."; return 1; }
    if ! gzip -t "$file" 2>/dev/null; then
        log "verify: $file is not a valid gzip file (truncated or corrupted). Do not rely on it; run a new backup."
        return 1
    fi
    if ! listing="$(tar -tzf "$file" 2>/dev/null)"; then
        log "verify: 'tar -tzf $file' failed: the tar stream is damaged. Run a new backup."
        return 1
    fi
    # Here-strings, not `printf | grep -q`: grep -q stops at its first match, and under pipefail the writer's
    # SIGPIPE would fail the test (always, once the listing outgrows the pipe's 64 KiB).
    if ! grep -qx "$META_DIR/MANIFEST.txt" <<< "$listing"; then
        log "verify: $file has no $META_DIR/MANIFEST.txt; it was not made by $PROG."
        return 1
    fi
    if ! manifest="$(tar -xzOf "$file" "$META_DIR/MANIFEST.txt" 2>/dev/null)"; then
        log "verify: cannot read the MANIFEST from $file."
        return 1
    fi
    while IFS= read -r member; do
        [ -n "$member" ] || continue
        if ! grep -qxF -e "$member" -e "$member/" <<< "$listing"; then
            log "verify: $file lacks expected member '$member'."
            missing=1
        fi
    done < <(printf '%s\n' "$manifest" | sed -n 's/^member: //p')
    if ! grep -q '^member: ' <<< "$manifest"; then
        log "verify: the MANIFEST of $file lists no members."
        missing=1
    fi
    [ "$missing" -eq 0 ] || return 1
    return 0
}

# ---------------------------------------------------------------------------
# retention: delete this host's archives older than RETENTION_DAYS days.
# ---------------------------------------------------------------------------
prune() {
    local host="$1" pattern f n=0
    check_uint RETENTION_DAYS "$RETENTION_DAYS"
    [ "$RETENTION_DAYS" -ge 1 ] || die "RETENTION_DAYS must be at least 1."
    [ -d "$BACKUP_DIR" ] || return 0
    pattern="$(archive_glob "$host")"
    while IFS= read -r -d '' f; do
        rm -f -- "$f"
        log "retention: deleted $(basename -- "$f") (older than $RETENTION_DAYS days)"
        n=$((n + 1))
    done < <(find "$BACKUP_DIR" -maxdepth 1 -type f -name "$pattern" \
                  -mmin "+$((RETENTION_DAYS * 1440))" -print0)
    log "retention: $n old archive(s) deleted from $BACKUP_DIR"
}

# ---------------------------------------------------------------------------
# node_exporter textfile metrics (see monitoring/known_metrics.py)
# ---------------------------------------------------------------------------
write_metrics() { # success(0|1) host [archive]
    local ok="$1" host="$2" archive="${3:-}" newest="" last_success=0 size=0 tmp
    [ -d "$TEXTFILE_DIR" ] && [ -w "$TEXTFILE_DIR" ] || return 0
    newest="$(find "$BACKUP_DIR" -maxdepth 1 -type f -name "$(archive_glob "$host")" \
                   -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-)" || newest=""
    if [ -n "$newest" ]; then
        last_success="$(stat -c %Y -- "$newest")"
    fi
    if [ -n "$archive" ] && [ -f "$archive" ]; then
        size="$(stat -c %s -- "$archive")"
    fi
    tmp="$TEXTFILE_DIR/.proxmox_ha_config_backup.prom.$$"
    if ! {
        echo "# HELP proxmox_ha_config_backup_success 1 if the last proxmox-config-backup run succeeded."
        echo "# TYPE proxmox_ha_config_backup_success gauge"
        echo "proxmox_ha_config_backup_success $ok"
        echo "# HELP proxmox_ha_config_backup_last_run_timestamp_seconds End of the last run."
        echo "# TYPE proxmox_ha_config_backup_last_run_timestamp_seconds gauge"
        echo "proxmox_ha_config_backup_last_run_timestamp_seconds $(date +%s)"
        echo "# HELP proxmox_ha_config_backup_last_success_timestamp_seconds mtime of the newest verified local archive."
        echo "# TYPE proxmox_ha_config_backup_last_success_timestamp_seconds gauge"
        echo "proxmox_ha_config_backup_last_success_timestamp_seconds $last_success"
        echo "# HELP proxmox_ha_config_backup_size_bytes Size of the archive written by the last run."
        echo "# TYPE proxmox_ha_config_backup_size_bytes gauge"
        echo "proxmox_ha_config_backup_size_bytes $size"
    } > "$tmp" || ! chmod 0644 -- "$tmp" || ! mv -f -- "$tmp" "$TEXTFILE_DIR/proxmox_ha_config_backup.prom"; then
        rm -f -- "$tmp"
        log "warning: could not write metrics to $TEXTFILE_DIR"
    fi
}

# ---------------------------------------------------------------------------
# ceph outputs (best effort: never fails the backup)
# ---------------------------------------------------------------------------
capture_ceph() { # meta_dir -> prints the member names it created
    local meta="$1" errf="$1/.ceph-stderr" t=() reason=""
    command -v timeout >/dev/null 2>&1 && t=(timeout "$CEPH_TIMEOUT")
    if ! command -v ceph >/dev/null 2>&1; then
        reason="the 'ceph' command is not installed on this node"
    elif ! "${t[@]}" ceph --connect-timeout "$CEPH_TIMEOUT" config dump \
              > "$meta/ceph-config-dump.txt" 2> "$errf"; then
        reason="'ceph config dump' failed or timed out after ${CEPH_TIMEOUT}s (no quorum / no keyring?)"
    elif ! "${t[@]}" ceph --connect-timeout "$CEPH_TIMEOUT" osd tree \
              > "$meta/ceph-osd-tree.txt" 2> "$errf"; then
        reason="'ceph osd tree' failed or timed out after ${CEPH_TIMEOUT}s"
    fi
    if [ -n "$reason" ]; then
        rm -f -- "$meta/ceph-config-dump.txt" "$meta/ceph-osd-tree.txt"
        {
            echo "Ceph state was not captured: $reason."
            echo "Date: $(date -Is)"
            if [ -s "$errf" ]; then
                echo "ceph stderr (first 20 lines):"
                head -n 20 -- "$errf"
            fi
        } > "$meta/ceph-UNAVAILABLE.txt"
        log "ceph: $reason; recorded in $META_DIR/ceph-UNAVAILABLE.txt"
        echo "$META_DIR/ceph-UNAVAILABLE.txt"
    else
        echo "$META_DIR/ceph-config-dump.txt"
        echo "$META_DIR/ceph-osd-tree.txt"
    fi
    rm -f -- "$errf"
}

# ---------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------
STAGING=""
TMP_ARCHIVE=""
RUN_HOST=""
RUN_ARCHIVE=""

on_exit() {
    local rc=$?
    [ -n "$STAGING" ] && rm -rf -- "$STAGING"
    [ -n "$TMP_ARCHIVE" ] && rm -f -- "$TMP_ARCHIVE"
    if [ -n "$RUN_HOST" ]; then
        if [ "$rc" -eq 0 ]; then
            write_metrics 1 "$RUN_HOST" "$RUN_ARCHIVE"
        else
            write_metrics 0 "$RUN_HOST" ""
            log "FAILED (exit $rc). Nothing was deleted; fix the error above and run '$0' again."
        fi
    fi
    exit "$rc"
}

do_run() {
    local host ts src_root name archive meta members=() present=() s m tar_rc sync_failed=0
    check_uint RETENTION_DAYS "$RETENTION_DAYS"
    check_uint CEPH_TIMEOUT "$CEPH_TIMEOUT"
    host="$(host_name)"
    RUN_HOST="$host"
    trap on_exit EXIT
    umask 077  # the archives; the metrics file is made readable for node_exporter (write_metrics)

    src_root="${ROOT:-/}"
    [ -d "$src_root" ] || die "ROOT '$ROOT' is not a directory."
    for s in "${SOURCES[@]}"; do
        if [ -d "$src_root/$s" ]; then
            present+=("$s")
        else
            log "note: /$s does not exist under '${src_root}', skipped"
        fi
    done
    [ "${#present[@]}" -gt 0 ] || die "none of /etc/pve, /etc/corosync, /etc/ceph exists under '${src_root}'. Is this a Proxmox VE node (is pve-cluster running)? For tests set ROOT."

    mkdir -p -- "$BACKUP_DIR" || die "cannot create BACKUP_DIR '$BACKUP_DIR'; check the path and permissions."
    chmod 700 -- "$BACKUP_DIR" 2>/dev/null || log "warning: could not chmod 700 $BACKUP_DIR"
    [ -w "$BACKUP_DIR" ] || die "BACKUP_DIR '$BACKUP_DIR' is not writable; run as root or choose another BACKUP_DIR."
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$BACKUP_DIR/.$PROG.lock"
        flock -n 9 || die "another $PROG run holds $BACKUP_DIR/.$PROG.lock; wait for it to finish."
    fi

    # Names have one-second resolution: wait for a free one if a run just finished.
    local tries=0
    while :; do
        ts="$(date +%Y%m%d-%H%M%S)"
        name="$host-config-$ts.tar.gz"
        archive="$BACKUP_DIR/$name"
        [ -e "$archive" ] || [ -e "$BACKUP_DIR/.$name.partial" ] || break
        tries=$((tries + 1))
        [ "$tries" -lt 5 ] || die "$archive already exists and no free name was found; is another run in progress?"
        sleep 1
    done

    STAGING="$(mktemp -d "${TMPDIR:-/tmp}/$PROG.XXXXXX")"
    meta="$STAGING/$META_DIR"
    mkdir -p -- "$meta"

    mapfile -t members < <(capture_ceph "$meta")
    members+=("${present[@]}")
    {
        echo "# $PROG v$VERSION manifest"
        echo "host: $host"
        echo "created: $(date -Is)"
        echo "root: ${ROOT:-/}"
        for s in "${SOURCES[@]}"; do
            case " ${present[*]} " in
                *" $s "*) ;;
                *) echo "absent: $s" ;;
            esac
        done
        echo "member: $META_DIR/MANIFEST.txt"
        for m in "${members[@]}"; do echo "member: $m"; done
    } > "$meta/MANIFEST.txt"

    TMP_ARCHIVE="$BACKUP_DIR/.$name.partial"
    log "writing $archive (sources: ${present[*]})"
    set +e
    tar --create --gzip --file "$TMP_ARCHIVE" \
        --warning=no-file-changed \
        -C "$src_root" "${present[@]}" \
        -C "$STAGING" "$META_DIR"
    tar_rc=$?
    set -e
    if [ "$tar_rc" -eq 1 ]; then
        log "warning: some files changed while being read (tar exit 1); the archive is checked below."
    elif [ "$tar_rc" -ne 0 ]; then
        die "tar failed (exit $tar_rc) writing $TMP_ARCHIVE; check free space in $BACKUP_DIR ('df -h') and read errors above."
    fi

    verify_archive "$TMP_ARCHIVE" \
        || die "the new archive failed verification; it was discarded. Check disk health and free space of $BACKUP_DIR."
    mv -f -- "$TMP_ARCHIVE" "$archive"
    TMP_ARCHIVE=""
    RUN_ARCHIVE="$archive"
    log "verified $archive ($(stat -c %s -- "$archive") bytes)"

    if [ -n "$RCLONE_REMOTE" ]; then
        if command -v rclone >/dev/null 2>&1; then
            # shellcheck disable=SC2086  # RCLONE_FLAGS is a list of flags
            if rclone copy $RCLONE_FLAGS -- "$archive" "$RCLONE_REMOTE"; then
                log "offsite: copied $name to $RCLONE_REMOTE"
            else
                log "ERROR: 'rclone copy' to '$RCLONE_REMOTE' failed; the local archive is kept. Check 'rclone config' and connectivity."
                sync_failed=1
            fi
        else
            log "offsite: RCLONE_REMOTE is set but rclone is not installed; skipping off-site copy (apt-get install rclone)."
        fi
    else
        log "offsite: RCLONE_REMOTE not set; no off-site copy"
    fi

    prune "$host"

    [ "$sync_failed" -eq 0 ] || exit 2
    log "done: $archive"
}

main() {
    local cmd="${1:-run}"
    case "$cmd" in
        run)
            [ "$#" -le 1 ] || die "'run' takes no arguments."
            do_run
            ;;
        verify)
            [ "$#" -eq 2 ] || die "usage: $0 verify FILE"
            if verify_archive "$2"; then
                log "verify: $2 OK"
            else
                log "verify: $2 FAILED"
                exit 1
            fi
            ;;
        prune)
            prune "$(host_name)"
            ;;
        help|-h|--help)
            usage
            ;;
        *)
            usage >&2
            die "unknown command '$cmd'."
            ;;
    esac
}

main "$@"
