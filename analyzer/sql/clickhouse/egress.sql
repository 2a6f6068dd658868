-- egress.sql - after pair.sql: follow each connection from the client
-- side (hop 0) through the pairs, then the egress table per inner host x
-- destination and the points where the source address changed.
--
--   clickhouse-client --multiquery < analyzer/sql/clickhouse/egress.sql
--
-- As natlens correlate: the inner host and the destination are what hop
-- 0 saw, the egress address is the source the farthest capture of the
-- chain saw (orientation flips composed along the way), times are hop 0's
-- clock. A SYN-ACK the client never asked for and only reset (a reply that
-- came back from elsewhere) is no connection of the inner host. Chains are
-- followed through at most 6 capture points a path.

-- hop 0 flows that pair with hop 1: the start of every chain
DROP TABLE IF EXISTS natlens.w_chain;
CREATE TABLE natlens.w_chain ENGINE = Memory AS
SELECT path, near_cap AS cap0, near_id AS id0, far_cap AS cur_cap, far_id AS cur_id,
       flip, toUInt16(1) AS seen_at
FROM natlens.w_matches WHERE near_hop = 0;

-- one step further along the path, four times (hops 2..5)
DROP TABLE IF EXISTS natlens.w_chain_next;
CREATE TABLE natlens.w_chain_next ENGINE = Memory AS
SELECT path, cap0, id0, c AS cur_cap, i AS cur_id, fl AS flip, s AS seen_at
FROM (
    -- new names inside: an alias equal to a USING key would redefine the key
    SELECT path, cap0, id0, if(nid = 0, cur_cap, ncap) AS c, if(nid = 0, cur_id, nid) AS i,
           bitXor(flip, if(nid = 0, 0, nflip)) AS fl, seen_at + if(nid = 0, 0, 1) AS s
    FROM natlens.w_chain
    ANY LEFT JOIN (SELECT path, near_cap AS cur_cap, near_id AS cur_id, far_cap AS ncap,
                          far_id AS nid, flip AS nflip FROM natlens.w_matches)
    USING (path, cur_cap, cur_id)
);
DROP TABLE natlens.w_chain;
RENAME TABLE natlens.w_chain_next TO natlens.w_chain;

CREATE TABLE natlens.w_chain_next ENGINE = Memory AS
SELECT path, cap0, id0, c AS cur_cap, i AS cur_id, fl AS flip, s AS seen_at
FROM (
    -- new names inside: an alias equal to a USING key would redefine the key
    SELECT path, cap0, id0, if(nid = 0, cur_cap, ncap) AS c, if(nid = 0, cur_id, nid) AS i,
           bitXor(flip, if(nid = 0, 0, nflip)) AS fl, seen_at + if(nid = 0, 0, 1) AS s
    FROM natlens.w_chain
    ANY LEFT JOIN (SELECT path, near_cap AS cur_cap, near_id AS cur_id, far_cap AS ncap,
                          far_id AS nid, flip AS nflip FROM natlens.w_matches)
    USING (path, cur_cap, cur_id)
);
DROP TABLE natlens.w_chain;
RENAME TABLE natlens.w_chain_next TO natlens.w_chain;

CREATE TABLE natlens.w_chain_next ENGINE = Memory AS
SELECT path, cap0, id0, c AS cur_cap, i AS cur_id, fl AS flip, s AS seen_at
FROM (
    -- new names inside: an alias equal to a USING key would redefine the key
    SELECT path, cap0, id0, if(nid = 0, cur_cap, ncap) AS c, if(nid = 0, cur_id, nid) AS i,
           bitXor(flip, if(nid = 0, 0, nflip)) AS fl, seen_at + if(nid = 0, 0, 1) AS s
    FROM natlens.w_chain
    ANY LEFT JOIN (SELECT path, near_cap AS cur_cap, near_id AS cur_id, far_cap AS ncap,
                          far_id AS nid, flip AS nflip FROM natlens.w_matches)
    USING (path, cur_cap, cur_id)
);
DROP TABLE natlens.w_chain;
RENAME TABLE natlens.w_chain_next TO natlens.w_chain;

CREATE TABLE natlens.w_chain_next ENGINE = Memory AS
SELECT path, cap0, id0, c AS cur_cap, i AS cur_id, fl AS flip, s AS seen_at
FROM (
    -- new names inside: an alias equal to a USING key would redefine the key
    SELECT path, cap0, id0, if(nid = 0, cur_cap, ncap) AS c, if(nid = 0, cur_id, nid) AS i,
           bitXor(flip, if(nid = 0, 0, nflip)) AS fl, seen_at + if(nid = 0, 0, 1) AS s
    FROM natlens.w_chain
    ANY LEFT JOIN (SELECT path, near_cap AS cur_cap, near_id AS cur_id, far_cap AS ncap,
                          far_id AS nid, flip AS nflip FROM natlens.w_matches)
    USING (path, cur_cap, cur_id)
);
DROP TABLE natlens.w_chain;
RENAME TABLE natlens.w_chain_next TO natlens.w_chain;

-- each chain with its hop-0 flow and the source its last capture saw
DROP TABLE IF EXISTS natlens.w_obs;
CREATE TABLE natlens.w_obs ENGINE = Memory AS
SELECT path, id0, inner_ip, dest_ip, dest_port, proto, first_ns, last_ns, seen_at,
       if(flip = 1, l_resp, l_orig) AS egress_ip
FROM (
    SELECT path, id0, cur_cap, cur_id, flip, seen_at,
           orig_ip AS inner_ip, resp_ip AS dest_ip,
           if(proto IN (1, 58), toUInt16(0), resp_port) AS dest_port, proto, first_ns, last_ns,
           -- the refused stray SYN-ACK (egress.c): every upper-case letter is R
           proto = 6 AND flipped = 1 AND orig_has_syn = 0 AND resp_has_syn = 1
               AND NOT match(history, '[A-QS-Z]') AS refused
    FROM natlens.w_chain
    ANY LEFT JOIN (SELECT capture_id AS cap0, id AS id0, orig_ip, resp_ip, resp_port, proto,
                          first_ns, last_ns, flipped, orig_has_syn, resp_has_syn, history
                   FROM natlens.flows
                   WHERE capture_id GLOBAL IN (SELECT cap0 FROM natlens.w_chain))
    USING (cap0, id0)
)
ANY LEFT JOIN (SELECT capture_id AS cur_cap, id AS cur_id, orig_ip AS l_orig, resp_ip AS l_resp
               FROM natlens.flows
               WHERE capture_id GLOBAL IN (SELECT cur_cap FROM natlens.w_chain))
USING (cur_cap, cur_id)
WHERE refused = 0;

-- the egress table: per path (one site's capture points) and the capture
-- point the chains reached (seen_at: hop), inner host, destination, port
-- and protocol, each source address seen
DROP TABLE IF EXISTS natlens.w_egress;
CREATE TABLE natlens.w_egress ENGINE = Memory AS
SELECT path, inner_ip, dest_ip, dest_port, proto, egress_ip,
       min(first_ns) AS first_ns, max(last_ns) AS last_ns, count() AS flows, seen_at
FROM natlens.w_obs
GROUP BY path, seen_at, inner_ip, dest_ip, dest_port, proto, egress_ip;

-- source changes: flows of one inner host to one destination in the order
-- they started; a change is a flow whose egress differs from the one
-- before. Per port and protocol (has_port 1) and per address (has_port 0).
DROP TABLE IF EXISTS natlens.w_changes;
CREATE TABLE natlens.w_changes ENGINE = Memory AS
SELECT path, inner_ip, dest_ip, 1 AS has_port, dest_port, proto,
       tupleElement(v[i - 1], 3) AS from_ip, tupleElement(v[i], 3) AS to_ip,
       tupleElement(v[i], 1) AS at_ns, tupleElement(v[i - 1], 1) AS prev_ns
FROM (
    SELECT path, inner_ip, dest_ip, dest_port, proto,
           arraySort(groupArray((first_ns, id0, egress_ip))) AS v
    FROM natlens.w_obs GROUP BY path, inner_ip, dest_ip, dest_port, proto
)
ARRAY JOIN arrayFilter(k -> k > 1 AND tupleElement(v[k], 3) != tupleElement(v[k - 1], 3),
                       arrayEnumerate(v)) AS i;

INSERT INTO natlens.w_changes
SELECT path, inner_ip, dest_ip, 0 AS has_port, toUInt16(0) AS dest_port, toUInt8(0) AS proto,
       tupleElement(v[i - 1], 3) AS from_ip, tupleElement(v[i], 3) AS to_ip,
       tupleElement(v[i], 1) AS at_ns, tupleElement(v[i - 1], 1) AS prev_ns
FROM (
    SELECT path, inner_ip, dest_ip,
           arraySort(groupArray((first_ns, id0, egress_ip))) AS v
    FROM natlens.w_obs GROUP BY path, inner_ip, dest_ip
)
ARRAY JOIN arrayFilter(k -> k > 1 AND tupleElement(v[k], 3) != tupleElement(v[k - 1], 3),
                       arrayEnumerate(v)) AS i;
