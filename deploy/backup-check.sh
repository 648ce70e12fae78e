#!/usr/bin/env bash
# Back up the platebind PostgreSQL database and prove that the backup restores to the same data.
#
#   deploy/backup-check.sh [--dump FILE] [--keep] [--tamper-sql SQL] [DATABASE_URL]
#
# 1. Opens a repeatable-read transaction on the source and exports its snapshot, so that the
#    dump and the source's checksums see the same data while the database keeps serving.
# 2. pg_dump --format=custom in that snapshot (to FILE with --dump: that is the backup to keep;
#    otherwise to a temporary file).
# 3. Creates a scratch database on the same server, pg_restore's the dump into it.
# 4. Compares every table of the public schema: row count and a checksum of its rows (see
#    CHECKSUM below); and that every sequence in the copy is past its column's largest value.
# 5. Prints one line per table, drops the scratch database (unless --keep), and exits 0 when all
#    tables are identical, 1 when any differs, 2 on a usage error, other on a failed step.
#
# DATABASE_URL defaults to $PLATEBIND_DATABASE_URL, then $DATABASE_URL; the SQLAlchemy form
# postgresql+psycopg:// is accepted. The role needs CREATEDB (for the scratch database), and
# pg_dump/pg_restore must be at least the server's major version (Debian: postgresql-client).
# --tamper-sql runs SQL in the restored copy before the comparison: it exists to prove that the
# check catches a difference (tests/test_backup.py); never needed in operation.
# Passwords are never printed: only database names are.

set -euo pipefail

usage() { # [EXIT_STATUS]
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
    exit "${1:-2}"
}

DUMP=""
KEEP=0
TAMPER_SQL=""
SOURCE_URL=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dump) [[ $# -ge 2 ]] || usage; DUMP="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --tamper-sql) [[ $# -ge 2 ]] || usage; TAMPER_SQL="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        -*) echo "backup-check: unknown option $1" >&2; usage ;;
        *) [[ -z "$SOURCE_URL" ]] || usage; SOURCE_URL="$1"; shift ;;
    esac
done
SOURCE_URL="${SOURCE_URL:-${PLATEBIND_DATABASE_URL:-${DATABASE_URL:-}}}"
if [[ "$SOURCE_URL" != postgres* ]]; then
    echo "backup-check: give a postgresql:// URL (argument, PLATEBIND_DATABASE_URL or DATABASE_URL)" >&2
    exit 2
fi

# libpq knows postgresql:// and postgres://, not SQLAlchemy's driver suffix.
SOURCE="${SOURCE_URL/#postgresql+psycopg:\/\//postgresql://}"
# The same server and credentials, another database: replace the URL's path, keep its query.
with_database() {
    local base="${1%%\?*}"
    local query="${1:${#base}}"
    printf '%s/%s%s' "${base%/*}" "$2" "$query"
}
SCRATCH="platebind_restore_check_$(date -u +%Y%m%d%H%M%S)_$$"
SCRATCH_URL="$(with_database "$SOURCE" "$SCRATCH")"
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)

WORK="$(mktemp -d)"
DUMP="${DUMP:-$WORK/platebind.dump}"
CREATED=0
HOLDER_PID=""
# shellcheck disable=SC2329  # run by the trap below
cleanup() {
    local status=$?
    if [[ -n "$HOLDER_PID" ]]; then
        kill "$HOLDER_PID" 2>/dev/null || true
    fi
    if [[ $CREATED -eq 1 && $KEEP -eq 0 ]]; then
        "${PSQL[@]}" -d "$SOURCE" -c "DROP DATABASE IF EXISTS \"$SCRATCH\" WITH (FORCE)" >/dev/null ||
            echo "backup-check: could not drop the scratch database $SCRATCH; drop it by hand" >&2
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

# One line per table: name|rows|checksum, then one per sequence: name|ok or behind. The
# checksum is the sum of each row's MD5 (its first 64 bits as a number): it does not depend
# on the order rows are read in and, unlike md5(string_agg(...)), needs no memory in
# proportion to the table (string_agg stops at 1 GB, which a city's audit log passes).
# Text forms are made the same on both sides (time zone, date style) before hashing.
CHECKSUM=$(cat <<'SQL'
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = 3;
SELECT string_agg(q, ' UNION ALL ') || ' ORDER BY 1'
FROM (
    SELECT format(
        'SELECT %L, count(*)::text, coalesce(sum((''x'' || left(md5(t::text), 16))::bit(64)::bigint::numeric), 0)::text FROM %I.%I t',
        'table ' || c.relname, n.nspname, c.relname) AS q
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    UNION ALL
    SELECT format(
        'SELECT %L, ''sequence'', CASE WHEN coalesce((SELECT max(%I) FROM %I.%I), 0) <= coalesce((SELECT last_value FROM %s), 0) THEN ''ok'' ELSE ''behind'' END',
        'sequence ' || c.relname || '.' || a.attname, a.attname, n.nspname, c.relname,
        pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname))
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) IS NOT NULL
) AS per_object
\gexec
SQL
)

checksums() { # URL [SNAPSHOT]
    {
        echo "SET statement_timeout = 0;"  # a large table takes as long as it takes
        echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
        [[ -z "${2:-}" ]] || echo "SET TRANSACTION SNAPSHOT '$2';"
        echo "$CHECKSUM"
        echo "COMMIT;"
    } | "${PSQL[@]}" -F '|' -d "$1" | LC_ALL=C sort
}

# 1-2. A snapshot held open by a psql session in the background, the dump and the source's
# checksums in it.
coproc HOLDER { "${PSQL[@]}" -d "$SOURCE"; }
# No time-outs in this session: it must outlive the dump, however long that takes.
echo "SET idle_in_transaction_session_timeout = 0; SET statement_timeout = 0;" >&"${HOLDER[1]}"
echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot();" >&"${HOLDER[1]}"
read -r -t 60 SNAPSHOT <&"${HOLDER[0]}" || { echo "backup-check: cannot open a snapshot" >&2; exit 3; }
SOURCE_NAME="$("${PSQL[@]}" -d "$SOURCE" -c "SELECT current_database()")"
echo "backup-check: dumping $SOURCE_NAME (snapshot $SNAPSHOT) to $DUMP"
pg_dump --format=custom --snapshot="$SNAPSHOT" --file="$DUMP" "$SOURCE"
checksums "$SOURCE" "$SNAPSHOT" >"$WORK/source.txt"
echo "COMMIT;" >&"${HOLDER[1]}"
HOLDER_IN="${HOLDER[1]}"
exec {HOLDER_IN}>&-  # end of input: the session commits and psql exits
wait "$HOLDER_PID" || true
HOLDER_PID=""

# 3. A fresh database, the dump restored into it.
echo "backup-check: restoring into $SCRATCH"
"${PSQL[@]}" -d "$SOURCE" -c "CREATE DATABASE \"$SCRATCH\" TEMPLATE template0"
CREATED=1
pg_restore --exit-on-error --no-owner --no-acl --dbname="$SCRATCH_URL" "$DUMP"
if [[ -n "$TAMPER_SQL" ]]; then
    echo "backup-check: tampering with the restored copy (--tamper-sql)"
    "${PSQL[@]}" -d "$SCRATCH_URL" -c "$TAMPER_SQL" >/dev/null
fi
checksums "$SCRATCH_URL" >"$WORK/restored.txt"

# 4-5. Side by side: object|source rows|source sum|restored rows|restored sum.
LC_ALL=C join -t '|' -a 1 -a 2 -e absent -o 0,1.2,1.3,2.2,2.3 \
    "$WORK/source.txt" "$WORK/restored.txt" >"$WORK/both.txt"
if awk -F '|' -v keep="$KEEP" -v scratch="$SCRATCH" '
    {
        same = ($2 == $4 && $3 == $5 && $3 != "behind")
        if ($2 == "sequence") {
            detail = same ? "" : "source " $3 ", restored " $5
        } else {
            detail = same ? $2 " rows" : "source " $2 " rows, sum " $3 "; restored " $4 " rows, sum " $5
        }
        line = sprintf("%-4s %s", same ? "ok" : "DIFF", $1)
        print (detail == "" ? line : line "  " detail)
        total++
        differ += !same
    }
    END {
        if (differ) {
            printf "backup-check: FAILED: %d of %d objects differ\n", differ, total
        } else {
            printf "backup-check: the restored copy is identical (%d objects)\n", total
        }
        if (keep == 1) printf "backup-check: kept the restored copy as database %s\n", scratch
        exit differ ? 1 : 0
    }' "$WORK/both.txt"; then
    exit 0
fi
exit 1
