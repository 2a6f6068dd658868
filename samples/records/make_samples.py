#!/usr/bin/env python3
"""make_samples.py - cloud record samples written from the namespace lab's truth.

Reads samples/snat-masq/truth.json (conntrack's own mappings: the ground
truth) and `natlens flows --json` of samples/snat-masq/client.pcap (packet
and byte counts per direction, first/last times) and writes, for each cloud
format, what that format's documented record would say about the same
traffic (see README.md beside this script for the field mapping). The
halfopen scenario supplies the REJECT sample (its :8082 SYN was dropped by
a FORWARD rule in the lab). Standard library only; deterministic.

    python3 samples/records/make_samples.py NATLENS_BINARY
"""
import datetime, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROTO = {"tcp": 6, "udp": 17, "icmp": 1}
VM = {"10.72.2.222": "vm-client-222", "10.72.2.223": "vm-app-3"}
PROJECT, REGION, ZONE = "natlens-lab", "europe-west1", "europe-west1-b"
GW, ROUTER = "nat-gw-1", "router-1"
ENI_VM = {"10.72.2.222": "eni-0a1b2c3d4e5f60718", "10.72.2.223": "eni-0b2c3d4e5f6071829"}
ENI_NAT, NAT_PRIV = "eni-0c3d4e5f607182930", "10.72.9.10"
MAC = {"10.72.2.222": "024E4C000210", "10.72.2.223": "024E4C000211"}


def rfc3339(ts):
    d = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def load(scenario, natlens):
    truth = json.load(open(os.path.join(ROOT, "samples", scenario, "truth.json")))
    flows = json.loads(subprocess.check_output(
        [natlens, "flows", "--json", os.path.join(ROOT, "samples", scenario, "client.pcap")]))["flows"]
    return truth, flows


def counts(flows, n):
    for f in flows:
        if f["proto"] == n["proto"] and f["orig_ip"] == n["inner_ip"] and f["orig_port"] == n["inner_port"] \
                and f["resp_ip"] == n["dest_ip"] and (n["proto"] == "icmp" or f["resp_port"] == n["dest_port"]):
            return f
    raise SystemExit("no flow in client.pcap for %r" % (n,))


def nat_entry(n, status="OK", ts=None, port=None):
    conn = {"src_ip": n["inner_ip"], "src_port": port or n["inner_port"], "dest_ip": n["dest_ip"],
            "dest_port": n["dest_port"], "protocol": PROTO[n["proto"]]}
    if status == "OK":
        conn["nat_ip"], conn["nat_port"] = n["outside_ip"], n["outside_port"]
    t = ts or n["start_ts"]
    return {"insertId": "%x" % int(t * 1e6), "jsonPayload": {
        "connection": conn, "allocation_status": status,
        "gateway_identifiers": {"gateway_name": GW, "router_name": ROUTER, "region": REGION},
        "endpoint": {"project_id": PROJECT, "vm_name": VM[n["inner_ip"]], "region": REGION, "zone": ZONE},
        "vpc": {"project_id": PROJECT, "vpc_name": "lab-vpc", "subnetwork_name": "lab-subnet"},
        "destination": {"geo_location": {"continent": "Europe", "country": "nld"}}},
        "resource": {"type": "nat_gateway", "labels": {"gateway_name": GW, "router_id": "4812345678901234567",
                                                       "region": REGION, "project_id": PROJECT}},
        "timestamp": rfc3339(t), "logName": "projects/%s/logs/compute.googleapis.com%%2Fnat_flows" % PROJECT,
        "receiveTimestamp": rfc3339(t + 2.5)}


def gcp_nat(truth, out):
    ok = [n for n in truth["nat"] if n["proto"] in ("tcp", "udp")]
    with open(os.path.join(out, "gcp_nat", "nat-log.json"), "w") as f:
        for n in ok:
            f.write(json.dumps(nat_entry(n), sort_keys=True) + "\n")
    # the same log with vm-app-3 out of ports: 12 more connections to :80 DROPPED
    base = [n for n in ok if n["inner_ip"] == "10.72.2.223" and n["proto"] == "tcp"][0]
    with open(os.path.join(out, "gcp_nat", "nat-log-exhausted.json"), "w") as f:
        for n in ok:
            f.write(json.dumps(nat_entry(n), sort_keys=True) + "\n")
        for i in range(12):
            f.write(json.dumps(nat_entry(base, "DROPPED", base["start_ts"] + 0.5 + i * 0.01, 41000 + i),
                               sort_keys=True) + "\n")


def gcp_flow(truth, flows, out):
    with open(os.path.join(out, "gcp_flow", "vpc-flows.json"), "w") as f:
        for n in truth["nat"]:
            if n["proto"] not in ("tcp", "udp"):
                continue
            c = counts(flows, n)
            t0, t1 = c["first_ts"], c["last_ts"]
            for rq, (s, sp, d, dp, pk, by) in (("request", (n["inner_ip"], n["inner_port"], n["dest_ip"], n["dest_port"], c["orig_pkts"], c["orig_ip_bytes"])),
                                               ("reply", (n["dest_ip"], n["dest_port"], n["inner_ip"], n["inner_port"], c["resp_pkts"], c["resp_ip_bytes"]))):
                e = {"jsonPayload": {"connection": {"src_ip": s, "src_port": sp, "dest_ip": d, "dest_port": dp,
                                                    "protocol": PROTO[n["proto"]]},
                                     "reporter": "SRC", "bytes_sent": str(by), "packets_sent": str(pk),
                                     "start_time": rfc3339(t0), "end_time": rfc3339(max(t1, t0 + 0.001)),
                                     "src_instance" if rq == "request" else "dest_instance":
                                         {"project_id": PROJECT, "vm_name": VM[n["inner_ip"]], "region": REGION, "zone": ZONE},
                                     "src_vpc" if rq == "request" else "dest_vpc":
                                         {"project_id": PROJECT, "vpc_name": "lab-vpc", "subnetwork_name": "lab-subnet"}},
                     "timestamp": rfc3339(t1 + 5), "logName": "projects/%s/logs/compute.googleapis.com%%2Fvpc_flows" % PROJECT}
                f.write(json.dumps(e, sort_keys=True) + "\n")


def aws(truth, flows, half, hflows, out):
    def win(t):
        return int(t // 60) * 60, int(t // 60) * 60 + 60
    with open(os.path.join(out, "aws_flow", "flow-default.log"), "w") as f:
        for n in truth["nat"]:
            if n["proto"] not in ("tcp", "udp"):
                continue
            c = counts(flows, n)
            s, e = win(c["first_ts"])
            eni = ENI_VM[n["inner_ip"]]
            f.write("2 123456789010 %s %s %s %d %d %d %d %d %d %d ACCEPT OK\n" % (eni, n["inner_ip"], n["dest_ip"], n["inner_port"], n["dest_port"], PROTO[n["proto"]], c["orig_pkts"], c["orig_ip_bytes"], s, e))
            f.write("2 123456789010 %s %s %s %d %d %d %d %d %d %d ACCEPT OK\n" % (eni, n["dest_ip"], n["inner_ip"], n["dest_port"], n["inner_port"], PROTO[n["proto"]], c["resp_pkts"], c["resp_ip_bytes"], s, e))
        f.write("2 123456789010 %s - - - - - - - %d %d - NODATA\n" % (ENI_VM["10.72.2.222"], s + 60, e + 60))
    hdr = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id flow-direction"
    with open(os.path.join(out, "aws_flow", "flow-nat-gateway.log"), "w") as f:
        f.write(hdr + "\n")
        for n in truth["nat"]:
            if n["proto"] != "tcp":
                continue
            c = counts(flows, n)
            s, e = win(c["first_ts"])
            # the NAT gateway's interface: traffic from the VM addressed to the world
            f.write("5 123456789010 %s %s %s %d %d 6 %d %d %d %d ACCEPT OK vpc-0abc1234 subnet-0def5678 - 3 IPv4 %s %s eu-west-1 euw1-az1 ingress\n" % (ENI_NAT, n["inner_ip"], NAT_PRIV, n["inner_port"], n["dest_port"], c["orig_pkts"], c["orig_ip_bytes"], s, e, n["inner_ip"], n["dest_ip"]))
            f.write("5 123456789010 %s %s %s %d %d 6 %d %d %d %d ACCEPT OK vpc-0abc1234 subnet-0def5678 - 19 IPv4 %s %s eu-west-1 euw1-az1 egress\n" % (ENI_NAT, NAT_PRIV, n["inner_ip"], n["dest_port"], n["inner_port"], c["resp_pkts"], c["resp_ip_bytes"], s, e, n["dest_ip"], n["inner_ip"]))
    # REJECT: halfopen's :8082 SYN was dropped by a FORWARD rule: as a flow log
    # of the VM's interface; and its :8081 RST-answered handshake accepted
    with open(os.path.join(out, "aws_flow", "flow-reject.log"), "w") as f:
        f.write(hdr + "\n")
        for a in half["attempts"]:
            s, e = win(a["start_ts"])
            eni = ENI_VM[a["client_ip"]]
            if a["dest_port"] == 8082:
                f.write("5 123456789010 %s %s %s %d %d 6 4 240 %d %d REJECT OK vpc-0abc1234 subnet-0aaa1111 i-0123456789abcdef0 2 IPv4 %s %s eu-west-1 euw1-az1 egress\n" % (eni, a["client_ip"], a["dest_ip"], a["client_port"], a["dest_port"], s, e, a["client_ip"], a["dest_ip"]))
            elif a["dest_port"] == 8080:
                # the reply rejected on the way back (a network ACL without the return rule)
                f.write("5 123456789010 %s %s %s %d %d 6 4 240 %d %d ACCEPT OK vpc-0abc1234 subnet-0aaa1111 i-0123456789abcdef0 2 IPv4 %s %s eu-west-1 euw1-az1 egress\n" % (eni, a["client_ip"], a["dest_ip"], a["client_port"], a["dest_port"], s, e, a["client_ip"], a["dest_ip"]))
                f.write("5 123456789010 %s %s %s %d %d 6 4 240 %d %d REJECT OK vpc-0abc1234 subnet-0aaa1111 i-0123456789abcdef0 18 IPv4 %s %s eu-west-1 euw1-az1 ingress\n" % (eni, a["dest_ip"], a["client_ip"], a["dest_port"], a["client_port"], s, e, a["dest_ip"], a["client_ip"]))
            else:
                f.write("5 123456789010 %s %s %s %d %d 6 2 120 %d %d ACCEPT OK vpc-0abc1234 subnet-0aaa1111 i-0123456789abcdef0 2 IPv4 %s %s eu-west-1 euw1-az1 egress\n" % (eni, a["client_ip"], a["dest_ip"], a["client_port"], a["dest_port"], s, e, a["client_ip"], a["dest_ip"]))


def azure(truth, flows, half, out):
    recs = []
    for ip in sorted(MAC):
        tuples = []
        for n in truth["nat"]:
            if n["proto"] not in ("tcp", "udp") or n["inner_ip"] != ip:
                continue
            c = counts(flows, n)
            p = PROTO[n["proto"]]
            tuples.append("%d,%s,%s,%d,%d,%d,O,B,NX,0,0,0,0" % (int(c["first_ts"] * 1000), ip, n["dest_ip"], n["inner_port"], n["dest_port"], p))
            tuples.append("%d,%s,%s,%d,%d,%d,O,E,NX,%d,%d,%d,%d" % (int(c["last_ts"] * 1000), ip, n["dest_ip"], n["inner_port"], n["dest_port"], p, c["orig_pkts"], c["orig_ip_bytes"], c["resp_pkts"], c["resp_ip_bytes"]))
        groups = [{"rule": "DefaultRule_AllowInternetOutBound", "flowTuples": tuples}]
        if ip == "10.72.2.222":
            a = [x for x in half["attempts"] if x["dest_port"] == 8082][0]
            groups.append({"rule": "UserRule_DenyTcp8082", "flowTuples": [
                "%d,%s,%s,%d,%d,6,O,D,NX,0,0,0,0" % (int(a["start_ts"] * 1000), a["client_ip"], a["dest_ip"], a["client_port"], a["dest_port"])]})
        recs.append({"time": rfc3339(truth["nat"][0]["start_ts"] + 60), "flowLogVersion": 4,
                     "flowLogGUID": "00000000-0000-4000-8000-00000000000%d" % len(recs),
                     "macAddress": MAC[ip], "category": "FlowLogFlowEvent",
                     "flowLogResourceID": "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/LAB-VNET-FLOWLOG",
                     "targetResourceID": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab/providers/Microsoft.Network/virtualNetworks/lab-vnet",
                     "operationName": "FlowLogFlowEvent",
                     "flowRecords": {"flows": [{"aclID": "00000000-1111-4222-8333-444444444444", "flowGroups": groups}]}})
    with open(os.path.join(out, "azure_flow", "vnet-flow.json"), "w") as f:
        json.dump({"records": recs}, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    natlens = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "natlens")
    truth, flows = load("snat-masq", natlens)
    half, hflows = load("halfopen", natlens)
    for d in ("gcp_nat", "gcp_flow", "aws_flow", "azure_flow"):
        os.makedirs(os.path.join(HERE, d), exist_ok=True)
    gcp_nat(truth, HERE)
    gcp_flow(truth, flows, HERE)
    aws(truth, flows, half, hflows, HERE)
    azure(truth, flows, half, HERE)


if __name__ == "__main__":
    main()
