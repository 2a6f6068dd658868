-- pair.sql - pair the flows of adjacent capture points on the keys that
-- survive NAT, then the egress table and the source-change points.
-- Reads the Distributed tables of schema.sql (so it runs across every
-- shard); writes small Memory tables natlens.w_* on the server it runs on:
--
--   clickhouse-client --multiquery < analyzer/sql/clickhouse/pair.sql
--
-- Results: natlens.w_matches (path, near_hop, near_cap, near_id, far_cap,
-- far_id, how, flip), natlens.w_egress, natlens.w_changes (see egress.sql for the
-- printed forms). The steps, as natlens correlate does them (natlens's own
-- correlator is the reference this is tested against):
--   1. exact keys: a key (SYN ISN, first TSval, first payload, ICMP id)
--      that one flow holds on each side pairs them; a key held by several
--      flows counts only together with the destination port; the opener's
--      SYN ISN counts double. Each flow takes its best partner, and a pair
--      stands when the choice is mutual.
--   2. clock: the median of (far start - near start) over the exact pairs
--      of each pair of captures, so a far clock minutes off does not hide
--      twins.
--   3. time window: flows still alone pair with a partner of the same
--      protocol that shares a key or the destination port and starts
--      within 5 s of the expected time, nearest first, mutual.
-- Written for ClickHouse 18.16 and current releases alike: one JOIN per
-- SELECT, joins by USING, no window functions (arrays instead).

-- adjacent capture points: hop h and h + 1 of one path
DROP TABLE IF EXISTS natlens.w_cap_pairs;
CREATE TABLE natlens.w_cap_pairs ENGINE = Memory AS
SELECT path, near_cap, far_cap, near_hop
FROM (SELECT path, capture_id AS near_cap, hop AS near_hop, toUInt16(hop + 1) AS next_hop
      FROM natlens.placements)
ALL INNER JOIN (SELECT path, capture_id AS far_cap, hop AS next_hop FROM natlens.placements)
USING (path, next_hop);

-- Connections, not Zeek's pieces (correlate_conn.c): within one capture a
-- 5-tuple reused after a RST whose SYN carries an ISN seen before in that
-- tuple (a SYN retry), or a piece without SYN within 300 s of the one
-- before, continues the first piece's connection; and a flow that holds
-- only the responder's SYN-ACK acknowledging (ack = ISN + 1) a SYN the same
-- client endpoint sent to another address 1 s before to 120 s after is
-- the stray answer of that SYN's connection. Only first pieces are paired.
DROP TABLE IF EXISTS natlens.w_caps;
CREATE TABLE natlens.w_caps ENGINE = Memory AS
SELECT DISTINCT capture_id FROM (
    SELECT near_cap AS capture_id FROM natlens.w_cap_pairs
    UNION ALL SELECT far_cap AS capture_id FROM natlens.w_cap_pairs);

DROP TABLE IF EXISTS natlens.w_nonheads;
CREATE TABLE natlens.w_nonheads ENGINE = Memory AS
SELECT capture_id, tupleElement(v[k], 2) AS id
FROM (
    SELECT capture_id, arraySort(groupArray((first_ns, id, has_syn, isn1, isn2, last_ns))) AS v
    FROM (
        SELECT capture_id, toInt64(first_ns) AS first_ns, id, toInt64(last_ns) AS last_ns,
               orig_has_syn = 1 OR resp_has_syn = 1 AS has_syn,
               if(orig_has_syn = 1, toInt64(orig_syn_isn), -1) AS isn1,
               if(resp_has_syn = 1, toInt64(resp_syn_isn), -2) AS isn2,
               if(orig_ip < resp_ip OR (orig_ip = resp_ip AND orig_port <= resp_port),
                  concat(orig_ip, '|', toString(orig_port), '|', resp_ip, '|', toString(resp_port)),
                  concat(resp_ip, '|', toString(resp_port), '|', orig_ip, '|', toString(orig_port))) AS tk
        FROM natlens.flows
        WHERE proto = 6 AND capture_id GLOBAL IN (SELECT capture_id FROM natlens.w_caps)
    )
    GROUP BY capture_id, tk HAVING count() > 1
)
ARRAY JOIN arrayFilter(k -> k > 1 AND if(tupleElement(v[k], 3),
        arrayExists(j -> j < k AND (
            tupleElement(v[j], 4) = tupleElement(v[k], 4) OR tupleElement(v[j], 4) = tupleElement(v[k], 5) OR
            tupleElement(v[j], 5) = tupleElement(v[k], 4) OR tupleElement(v[j], 5) = tupleElement(v[k], 5)),
            arrayEnumerate(v)),
        tupleElement(v[k], 1) - tupleElement(v[k - 1], 6) <= 300000000000),
    arrayEnumerate(v)) AS k;

INSERT INTO natlens.w_nonheads
SELECT capture_id, id
FROM (
    SELECT capture_id, id, orig_ip, orig_port, resp_ip, resp_port, first_ns, synack_ack AS want
    FROM natlens.flows
    WHERE proto = 6 AND orig_has_syn = 0 AND resp_has_syn = 1 AND has_synack = 1
      AND capture_id GLOBAL IN (SELECT capture_id FROM natlens.w_caps)
      AND (capture_id, id) GLOBAL NOT IN (SELECT capture_id, id FROM natlens.w_nonheads)
)
ALL INNER JOIN (
    SELECT capture_id, orig_ip, orig_port, toUInt32(orig_syn_isn + 1) AS want,
           resp_ip AS a_ip, resp_port AS a_port, first_ns AS a_first
    FROM natlens.flows
    WHERE proto = 6 AND orig_has_syn = 1
      AND capture_id GLOBAL IN (SELECT capture_id FROM natlens.w_caps)
      AND (capture_id, id) GLOBAL NOT IN (SELECT capture_id, id FROM natlens.w_nonheads)
) USING (capture_id, orig_ip, orig_port, want)
WHERE (a_ip != resp_ip OR a_port != resp_port)
  AND first_ns + 1000000000 >= a_first AND first_ns <= a_first + 120000000000;

-- every key of a near capture beside every equal key of its far capture
DROP TABLE IF EXISTS natlens.w_cand;
CREATE TABLE natlens.w_cand ENGINE = Memory AS
SELECT near_cap, far_cap, kind, value, proto, near_id, near_dir, near_rport, near_first,
       far_id, far_dir, far_rport, far_first
FROM (
    SELECT near_cap, far_cap, kind, value, proto, id AS near_id, dir AS near_dir,
           resp_port AS near_rport, first_ns AS near_first
    FROM natlens.keys
    GLOBAL ALL INNER JOIN (SELECT DISTINCT near_cap AS capture_id, near_cap, far_cap
                           FROM natlens.w_cap_pairs)
    USING capture_id
)
ALL INNER JOIN (
    SELECT capture_id AS far_cap, kind, value, proto, id AS far_id, dir AS far_dir,
           resp_port AS far_rport, first_ns AS far_first
    FROM natlens.keys
    WHERE capture_id GLOBAL IN (SELECT far_cap FROM natlens.w_cap_pairs)
) USING (far_cap, kind, value, proto)
WHERE (near_cap, near_id) NOT IN (SELECT capture_id, id FROM natlens.w_nonheads)
  AND (far_cap, far_id) NOT IN (SELECT capture_id, id FROM natlens.w_nonheads);

-- how many flows hold each key on each side, alone and with the port
DROP TABLE IF EXISTS natlens.w_kstat;
CREATE TABLE natlens.w_kstat ENGINE = Memory AS
SELECT near_cap, far_cap, kind, value,
       uniqExact(near_id) AS nn, uniqExact(far_id) AS nf
FROM natlens.w_cand GROUP BY near_cap, far_cap, kind, value;

DROP TABLE IF EXISTS natlens.w_kstat_port;
CREATE TABLE natlens.w_kstat_port ENGINE = Memory AS
SELECT near_cap, far_cap, kind, value, near_rport,
       uniqExact(near_id) AS nnp, uniqExact(far_id) AS nfp
FROM natlens.w_cand WHERE near_rport = far_rport
GROUP BY near_cap, far_cap, kind, value, near_rport;

-- step 1: score every candidate pair by its exact keys
DROP TABLE IF EXISTS natlens.w_exact_cand;
CREATE TABLE natlens.w_exact_cand ENGINE = Memory AS
SELECT near_cap, far_cap, near_id, far_id,
       -- the opener's SYN names the connection (correlate_score.c): when a
       -- DNAT path leaks the SYN-ACK, the near side holds two flows for one
       -- far flow, and the SYN's flow is its twin
       sum(exact) + 2 * max(kind = 1 AND near_dir = 0 AND far_dir = 0) AS score,
       count() AS nkeys,
       sum(if(near_dir != far_dir, 1, -1)) AS flip_votes,
       any(abs(toInt64(far_first) - toInt64(near_first))) AS adt
FROM (
    SELECT near_cap, far_cap, near_id, far_id, kind, near_dir, far_dir, near_first, far_first,
           if(nn = 1 AND nf = 1, 1, if(nnp = 1 AND nfp = 1, 1, 0)) AS exact
    FROM (
        SELECT * FROM natlens.w_cand
        ANY LEFT JOIN natlens.w_kstat USING (near_cap, far_cap, kind, value)
    )
    ANY LEFT JOIN natlens.w_kstat_port USING (near_cap, far_cap, kind, value, near_rport)
)
GROUP BY near_cap, far_cap, near_id, far_id
HAVING score > 0;

-- each side's best partner: most exact keys, then most keys, then nearest
DROP TABLE IF EXISTS natlens.w_exact;
CREATE TABLE natlens.w_exact ENGINE = Memory AS
SELECT near_cap, far_cap, near_id, far_id, flip_votes, adt
FROM (
    SELECT near_cap, far_cap, near_id, far_id, flip_votes, adt,
           toUInt64(score) * 1000000 + nkeys * 10000 AS rank
    FROM natlens.w_exact_cand
)
ALL INNER JOIN (
    SELECT near_cap, far_cap, near_id,
           argMax(far_id, toUInt64(score) * 1000000 + nkeys * 10000 - least(intDiv(adt, 1000000), 9999)) AS far_id
    FROM natlens.w_exact_cand GROUP BY near_cap, far_cap, near_id
) USING (near_cap, far_cap, near_id, far_id)
WHERE (near_cap, far_cap, far_id, near_id) IN (
    SELECT near_cap, far_cap, far_id,
           argMax(near_id, toUInt64(score) * 1000000 + nkeys * 10000 - least(intDiv(adt, 1000000), 9999))
    FROM natlens.w_exact_cand GROUP BY near_cap, far_cap, far_id
);

-- step 2: the clock offset of each pair of captures
DROP TABLE IF EXISTS natlens.w_offset;
CREATE TABLE natlens.w_offset ENGINE = Memory AS
SELECT near_cap, far_cap, toInt64(medianExact(d)) AS off_ns, count() AS samples
FROM (
    SELECT near_cap, far_cap, toInt64(far_first) - toInt64(near_first) AS d
    FROM natlens.w_cand
    ALL INNER JOIN (SELECT near_cap, far_cap, near_id, far_id FROM natlens.w_exact)
    USING (near_cap, far_cap, near_id, far_id)
)
GROUP BY near_cap, far_cap;

-- step 3: flows still alone, within 5 s of the expected start
DROP TABLE IF EXISTS natlens.w_near_left;
CREATE TABLE natlens.w_near_left ENGINE = Memory AS
SELECT near_cap, far_cap, id AS near_id, proto, resp_port, first_ns,
       toInt64(first_ns) + off_ns AS expect_ns
FROM (
    SELECT near_cap, far_cap, id, proto, resp_port, first_ns
    FROM natlens.flows
    GLOBAL ALL INNER JOIN (SELECT DISTINCT near_cap AS capture_id, near_cap, far_cap
                           FROM natlens.w_cap_pairs)
    USING capture_id
)
ANY LEFT JOIN natlens.w_offset USING (near_cap, far_cap)
WHERE (near_cap, far_cap, near_id) NOT IN (SELECT near_cap, far_cap, near_id FROM natlens.w_exact)
  AND (near_cap, near_id) NOT IN (SELECT capture_id, id FROM natlens.w_nonheads);

DROP TABLE IF EXISTS natlens.w_far_left;
CREATE TABLE natlens.w_far_left ENGINE = Memory AS
SELECT near_cap, far_cap, id AS far_id, proto, resp_port, first_ns
FROM natlens.flows
GLOBAL ALL INNER JOIN (SELECT DISTINCT far_cap AS capture_id, near_cap, far_cap
                       FROM natlens.w_cap_pairs)
USING capture_id
WHERE (near_cap, far_cap, far_id) GLOBAL NOT IN (SELECT near_cap, far_cap, far_id FROM natlens.w_exact)
  AND (capture_id, far_id) GLOBAL NOT IN (SELECT capture_id, id FROM natlens.w_nonheads);

-- candidates: same protocol and destination port, 5 s time buckets (the
-- near flow looks in its expected bucket and both neighbours)
DROP TABLE IF EXISTS natlens.w_win_cand;
CREATE TABLE natlens.w_win_cand ENGINE = Memory AS
SELECT near_cap, far_cap, near_id, far_id, abs(toInt64(far_first) - expect_ns) AS adt
FROM (
    SELECT near_cap, far_cap, near_id, proto, resp_port, expect_ns, b AS bucket
    FROM natlens.w_near_left
    ARRAY JOIN [intDiv(expect_ns, 5000000000) - 1, intDiv(expect_ns, 5000000000),
                intDiv(expect_ns, 5000000000) + 1] AS b
)
ALL INNER JOIN (
    SELECT near_cap, far_cap, far_id, proto, resp_port, first_ns AS far_first,
           intDiv(toInt64(first_ns), 5000000000) AS bucket
    FROM natlens.w_far_left
) USING (near_cap, far_cap, proto, resp_port, bucket)
WHERE adt <= 5000000000;

-- the same for flows that share any key but met no port or bucket
INSERT INTO natlens.w_win_cand
SELECT near_cap, far_cap, near_id, far_id, abs(toInt64(far_first) - expect_ns) AS adt
FROM (
    SELECT near_cap, far_cap, near_id, far_id, far_first FROM natlens.w_cand
    WHERE (near_cap, far_cap, near_id) NOT IN (SELECT near_cap, far_cap, near_id FROM natlens.w_exact)
      AND (near_cap, far_cap, far_id) NOT IN (SELECT near_cap, far_cap, far_id FROM natlens.w_exact)
)
ANY LEFT JOIN (SELECT near_cap, far_cap, near_id, expect_ns FROM natlens.w_near_left)
USING (near_cap, far_cap, near_id)
WHERE adt <= 5000000000;

DROP TABLE IF EXISTS natlens.w_window;
CREATE TABLE natlens.w_window ENGINE = Memory AS
SELECT near_cap, far_cap, near_id, far_id
FROM (SELECT DISTINCT near_cap, far_cap, near_id, far_id FROM natlens.w_win_cand)
ALL INNER JOIN (
    SELECT near_cap, far_cap, near_id, argMin(far_id, adt * 4294967296 + far_id) AS far_id
    FROM natlens.w_win_cand GROUP BY near_cap, far_cap, near_id
) USING (near_cap, far_cap, near_id, far_id)
WHERE (near_cap, far_cap, far_id, near_id) IN (
    SELECT near_cap, far_cap, far_id, argMin(near_id, adt * 4294967296 + near_id)
    FROM natlens.w_win_cand GROUP BY near_cap, far_cap, far_id
);

-- every pair, with the orientation: keys held the other way round say
-- the far side sees the roles swapped
DROP TABLE IF EXISTS natlens.w_pairs;
CREATE TABLE natlens.w_pairs ENGINE = Memory AS
SELECT near_cap, far_cap, near_id, far_id, 'exact' AS how FROM natlens.w_exact;
INSERT INTO natlens.w_pairs SELECT near_cap, far_cap, near_id, far_id, 'window' FROM natlens.w_window;

-- on every path the two captures are adjacent on (a capture may sit on
-- several paths: one server seen by many clients)
DROP TABLE IF EXISTS natlens.w_matches;
CREATE TABLE natlens.w_matches ENGINE = Memory AS
SELECT path, near_hop, near_cap, far_cap, near_id, far_id, how, flip
FROM (
    SELECT near_cap, far_cap, near_id, far_id, how, toUInt8(votes > 0) AS flip
    FROM natlens.w_pairs
    ANY LEFT JOIN (
        SELECT near_cap, far_cap, near_id, far_id, sum(if(near_dir != far_dir, 1, -1)) AS votes
        FROM natlens.w_cand GROUP BY near_cap, far_cap, near_id, far_id
    ) USING (near_cap, far_cap, near_id, far_id)
)
ALL INNER JOIN (SELECT path, near_hop, near_cap, far_cap FROM natlens.w_cap_pairs)
USING (near_cap, far_cap);
