-- schema.sql - natlens flow records (`natlens flows --ndjson`, schema 1)
-- in ClickHouse. Run it on EVERY server of the cluster `natlens_fleet`
-- (it makes the local tables there and the Distributed tables over them):
--
--   clickhouse-client --multiquery < analyzer/sql/clickhouse/schema.sql
--
-- Loading (any server; rows are spread over the shards by capture id, a
-- capture's rows stay on one shard):
--
--   clickhouse-client --input_format_skip_unknown_fields=1 \
--     --insert_distributed_sync=1 \
--     --query "INSERT INTO natlens.ingest_all FORMAT JSONEachRow" < records.ndjson
--
-- Every line of a records file goes into natlens.ingest (a Null table:
-- nothing is stored there); materialized views keep the capture lines in
-- captures_local, the flow lines in flows_local and each flow's pairing
-- keys, one row a key, in keys_local. Probe and capture_end lines and
-- the fields no query reads (packet records, TCP endpoint state) are
-- skipped (input_format_skip_unknown_fields). Where a capture sits on a
-- path is a fact of the fleet, not of the file: one row per capture in
-- placements (path, hop: 0 at the client side, counting up towards the
-- server), inserted the same way (`natlens fleet` does it).
--
-- Plain SQL that ClickHouse 18.16 (Debian 12) and current releases both
-- run: MergeTree with ORDER BY, Null, materialized views TO a table,
-- Distributed; no Nullable, no LowCardinality, no JSON objects.

CREATE DATABASE IF NOT EXISTS natlens;

CREATE TABLE IF NOT EXISTS natlens.ingest (
    type String, capture_id String, point String,
    file String, link_type String, source_format String,
    id UInt32, proto UInt8, flipped UInt8, icmp_type UInt8,
    orig_ip String, orig_port UInt16, resp_ip String, resp_port UInt16,
    first_ns UInt64, last_ns UInt64,
    conn_state String, history String, community_id String,
    orig_pkts UInt64, resp_pkts UInt64, orig_bytes UInt64, resp_bytes UInt64,
    orig_ip_bytes UInt64, resp_ip_bytes UInt64,
    orig_ttl UInt8, resp_ttl UInt8, orig_mac String, resp_mac String,
    orig_has_syn UInt8, resp_has_syn UInt8, orig_syn_isn UInt32, resp_syn_isn UInt32,
    orig_syn_count UInt8, resp_syn_count UInt8, orig_syn_mss UInt16, resp_syn_mss UInt16,
    orig_has_tsval UInt8, resp_has_tsval UInt8, orig_first_tsval UInt32, resp_first_tsval UInt32,
    orig_first_ipid UInt32, resp_first_ipid UInt32,
    orig_data_hash0 UInt32, resp_data_hash0 UInt32, orig_data_len0 UInt16, resp_data_len0 UInt16,
    orig_ndata UInt8, resp_ndata UInt8,
    orig_dir_first_ns UInt64, resp_dir_first_ns UInt64,
    pkt_ack Array(UInt32), pkt_dir Array(UInt8), pkt_tcp_flags Array(UInt8)
) ENGINE = Null;

-- One row per flow; read by capture (the pair queries select two captures).
CREATE TABLE IF NOT EXISTS natlens.flows_local (
    capture_id String, point String,
    id UInt32, proto UInt8, flipped UInt8, icmp_type UInt8,
    orig_ip String, orig_port UInt16, resp_ip String, resp_port UInt16,
    first_ns UInt64, last_ns UInt64,
    conn_state String, history String, community_id String,
    orig_pkts UInt64, resp_pkts UInt64, orig_bytes UInt64, resp_bytes UInt64,
    orig_ttl UInt8, resp_ttl UInt8, orig_mac String, resp_mac String,
    orig_has_syn UInt8, resp_has_syn UInt8, orig_syn_isn UInt32, resp_syn_isn UInt32,
    orig_syn_mss UInt16, resp_syn_mss UInt16,
    orig_first_tsval UInt32, resp_first_tsval UInt32,
    orig_first_ipid UInt32, resp_first_ipid UInt32,
    -- the ack of the responder's first SYN-ACK (kept packets), 0 if none:
    -- it names the SYN a stray answer belongs to
    has_synack UInt8, synack_ack UInt32
) ENGINE = MergeTree ORDER BY (capture_id, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS natlens.flows_mv TO natlens.flows_local AS
SELECT capture_id, point, id, proto, flipped, icmp_type,
       orig_ip, orig_port, resp_ip, resp_port, first_ns, last_ns,
       conn_state, history, community_id,
       orig_pkts, resp_pkts, orig_bytes, resp_bytes,
       orig_ttl, resp_ttl, orig_mac, resp_mac,
       orig_has_syn, resp_has_syn, orig_syn_isn, resp_syn_isn,
       orig_syn_mss, resp_syn_mss, orig_first_tsval, resp_first_tsval,
       orig_first_ipid, resp_first_ipid,
       arrayExists((d, fl) -> d = 1 AND bitAnd(fl, 18) = 18, pkt_dir, pkt_tcp_flags) AS has_synack,
       arrayFirst((a, d, fl) -> d = 1 AND bitAnd(fl, 18) = 18, pkt_ack, pkt_dir, pkt_tcp_flags) AS synack_ack
FROM natlens.ingest WHERE type = 'flow';

-- The keys that survive a NAT, one row each, ordered by (kind, value):
-- the exact-key join reads runs of equal keys. kind 1: SYN ISN, 2: first
-- TSval, 3: first payload (FNV-1a hash << 16 | length), 4: ICMP id. A key
-- does not name its direction for the join (a flow seen with roles
-- swapped still finds its twin); dir (0 orig, 1 resp) tells the
-- orientation afterwards.
CREATE TABLE IF NOT EXISTS natlens.keys_local (
    kind UInt8, value UInt64, capture_id String, id UInt32, dir UInt8,
    proto UInt8, resp_port UInt16, first_ns UInt64
) ENGINE = MergeTree ORDER BY (kind, value, capture_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS natlens.keys_mv TO natlens.keys_local AS
SELECT k.1 AS kind, k.2 AS value, capture_id, id, k.3 AS dir, proto, resp_port, first_ns
FROM natlens.ingest
ARRAY JOIN arrayFilter(x -> x.1 != 0, [
    (if(orig_has_syn = 1, 1, 0), toUInt64(orig_syn_isn), 0),
    (if(resp_has_syn = 1, 1, 0), toUInt64(resp_syn_isn), 1),
    (if(orig_has_tsval = 1 AND orig_first_tsval != 0, 2, 0), toUInt64(orig_first_tsval), 0),
    (if(resp_has_tsval = 1 AND resp_first_tsval != 0, 2, 0), toUInt64(resp_first_tsval), 1),
    (if(orig_ndata > 0 AND orig_data_len0 > 0, 3, 0),
        bitOr(bitShiftLeft(toUInt64(orig_data_hash0), 16), toUInt64(orig_data_len0)), 0),
    (if(resp_ndata > 0 AND resp_data_len0 > 0, 3, 0),
        bitOr(bitShiftLeft(toUInt64(resp_data_hash0), 16), toUInt64(resp_data_len0)), 1),
    (if(proto IN (1, 58), 4, 0), toUInt64(orig_port), 0)
]) AS k
WHERE type = 'flow';

CREATE TABLE IF NOT EXISTS natlens.captures_local (
    capture_id String, point String, file String, link_type String, source_format String
) ENGINE = MergeTree ORDER BY capture_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS natlens.captures_mv TO natlens.captures_local AS
SELECT capture_id, point, file, link_type, source_format
FROM natlens.ingest WHERE type = 'capture';

CREATE TABLE IF NOT EXISTS natlens.placements_local (
    capture_id String, path String, hop UInt16
) ENGINE = MergeTree ORDER BY (path, hop);

-- The same tables over every shard.
CREATE TABLE IF NOT EXISTS natlens.ingest_all AS natlens.ingest
    ENGINE = Distributed(natlens_fleet, natlens, ingest, cityHash64(capture_id));
CREATE TABLE IF NOT EXISTS natlens.flows AS natlens.flows_local
    ENGINE = Distributed(natlens_fleet, natlens, flows_local, cityHash64(capture_id));
CREATE TABLE IF NOT EXISTS natlens.keys AS natlens.keys_local
    ENGINE = Distributed(natlens_fleet, natlens, keys_local, cityHash64(capture_id));
CREATE TABLE IF NOT EXISTS natlens.captures AS natlens.captures_local
    ENGINE = Distributed(natlens_fleet, natlens, captures_local, cityHash64(capture_id));
CREATE TABLE IF NOT EXISTS natlens.placements AS natlens.placements_local
    ENGINE = Distributed(natlens_fleet, natlens, placements_local, cityHash64(capture_id));
