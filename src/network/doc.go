// Package network gives each microVM its network attachment and removes it
// without leftovers. It knows nothing of QEMU or Cloud Foundry: it hands out
// a tap name, a MAC, a guest address and host ports, and the hypervisor
// driver turns them into a command line.
//
// # Modes
//
// Bridge mode (root) puts every VM on one project bridge (unik0,
// 10.213.0.1/24 by default) through its own persistent tap, uk + up to 12
// letters and digits of the attachment id. The tap is created through
// netlink with IFF_TAP|IFF_NO_PI, one queue, so that QEMU opens it with
// -netdev tap,ifname=NAME,script=no,downscript=no,vhost=off (QEMU adds
// IFF_VNET_HDR itself). The guest gets the lowest free address of the
// subnet, a MAC derived from it (10.213.0.5 → 52:54:0a:d5:00:05) and the
// bridge as gateway; host ports reach it through nftables DNAT.
//
// User mode (no root) creates nothing on the host. Attach only reserves free
// host ports on HostIP; QEMU forwards them with -netdev user,hostfwd=...
// and the guest uses slirp's fixed 10.0.2.15/24, gateway 10.0.2.2,
// DNS 10.0.2.3.
//
// # Ruleset
//
// Two tables named by Config.Table: family ip (DNAT and filtering, below)
// and family bridge (the anti-spoofing guard, see Anti-spoofing). With bridge unik0, subnet
// 10.213.0.0/24, HostIP 127.0.0.1 and one VM allowed tcp to 10.1.0.0/16 port
// 443 (logged) and udp to 10.2.0.9 port 53, it reads (nft list table ip unik):
//
//	table ip unik {
//		map egress {
//			type ipv4_addr : verdict
//			elements = { 10.213.0.2 : jump eg-ukweb1 }
//		}
//		map eg-ukweb1-tcp {
//			type ipv4_addr . inet_service : verdict
//			flags interval
//			elements = { 10.1.0.0-10.1.255.255 . 443 : jump eg-ukweb1-log }
//		}
//		map eg-ukweb1-udp {
//			type ipv4_addr . inet_service : verdict
//			flags interval
//			elements = { 10.2.0.9 . 53 : accept }
//		}
//		chain prerouting {
//			type nat hook prerouting priority dstnat; policy accept;
//			ip daddr 127.0.0.1 tcp dport 40000 dnat to 10.213.0.2:8080 comment "web-1"
//		}
//		chain output {
//			type nat hook output priority -100; policy accept;
//			ip daddr 127.0.0.1 tcp dport 40000 dnat to 10.213.0.2:8080 comment "web-1"
//		}
//		chain postrouting {
//			type nat hook postrouting priority srcnat; policy accept;
//			oifname "unik0" ip saddr 127.0.0.0/8 masquerade
//			ip saddr 10.213.0.0/24 oifname != "unik0" masquerade
//		}
//		chain input {
//			type filter hook input priority filter; policy accept;
//			iifname "unik0" ct state established,related accept
//			iifname "unik0" ip daddr 10.213.0.1 udp dport 53 accept
//			iifname "unik0" ip daddr 10.213.0.1 tcp dport 53 accept
//			iifname "unik0" drop
//		}
//		chain forward {
//			type filter hook forward priority filter; policy accept;
//			ct state established,related accept
//			iifname "unik0" oifname "unik0" drop
//			oifname "unik0" ct status dnat accept
//			iifname "unik0" ip saddr vmap @egress
//			iifname "unik0" drop
//			oifname "unik0" drop
//		}
//		chain eg-ukweb1 {
//			ip daddr . tcp dport vmap @eg-ukweb1-tcp
//			ip daddr . udp dport vmap @eg-ukweb1-udp
//		}
//		chain eg-ukweb1-log {
//			limit rate 10/second burst 20 packets log prefix "unik egress web-1: "
//			accept
//		}
//	}
//
// The DNAT rule sits in prerouting for clients elsewhere and in output for
// clients on this host. Only the per-VM DNAT rules carry a comment: the
// attachment id. Detach finds them by it and deletes them by handle;
// Leftovers reports commented rules whose id has no record. Policies stay
// accept so that the table never decides for traffic that is not the
// bridge's; note that another table's drop still wins over our accept.
//
// The first Attach creates the bridge, the tables, the chains, the guard's
// sets and the egress map; every Attach rewrites the three base-only chains
// (postrouting, input, forward) and the guard chain in one transaction, so
// that they heal if edited by hand. They depend on no setting of the
// attaching process, so processes sharing the bridge never rewrite them
// differently. The prerouting and output chains are never flushed, nor are
// the sets and maps. Teardown removes both tables and the bridge; tests use
// it, a cell leaves them in place.
//
// # Egress (application security groups)
//
// Attach takes the instance's egress rules (EgressRule: tcp, udp, icmp or
// all; destination addresses, prefixes and ranges; ports and port ranges;
// ICMP type and code; log), and the instance may send beyond the bridge
// exactly what they allow; replies come back as established or related.
// Without rules it sends nothing beyond the bridge, unless Config.Egress,
// which stands for one rule allowing everything. The forward chain's rules
// before the dispatch keep the isolation first whatever the rules say:
// routed traffic from the bridge back to the bridge (another VM, including
// through a host port's DNAT) is dropped, and traffic to the host's own
// addresses never reaches forward at all (input drops it, but DNS on the
// gateway). The guard guarantees that a packet's source address is its
// tap's, so the egress map can be keyed by it.
//
// The per-packet cost stays flat as rules and instances grow: forward looks
// the source address up in the egress map (a hash) and jumps to the
// instance's chain, whose one rule per protocol (tcp, udp, icmp, then all
// for every other) looks the packet up in that instance's verdict map of
// address . port (. code) ranges, a pipapo set whose lookup does not walk
// the rules. Only the first packet of a connection gets there: replies and
// the rest of the connection are accepted as established first. The rules
// are cut into disjoint elements first (egresscompile.go), because such
// sets refuse overlapping elements and security groups overlap all the
// time; where a logged and an unlogged rule overlap, the packet is logged.
// A rule for every protocol goes into the tcp, udp and icmp maps too when
// those exist, so one lookup decides a packet. Logged elements jump to the
// instance's log chain: at most 10 log lines a second per instance (burst
// 20) in the kernel log, prefixed "unik egress <attachment id>: ", with the
// usual IN= OUT= SRC= DST= PROTO= fields.
//
// Attach installs the maps and chains, fills the maps (in batches: one
// netlink batch must fit a socket buffer; 5,000 rules take about 0.1 s),
// then adds the dispatch element last, so that until then the instance has
// no egress, never more than its rules. Detach deletes the dispatch
// element, the chains and the maps in one transaction; Leftovers reports
// (RemoveLeftovers deletes) egress objects of taps or addresses no record
// holds. In user mode the rules are not enforced: QEMU's restrict=on gives
// the guest no egress at all.
//
// # DNS
//
// Input accepts, from the bridge, UDP and TCP to port 53 of the gateway
// (the bridge's address) and nothing else new: whoever owns the bridge's
// lifetime runs a forwarder there (package dnsfwd; the cell does) and sets
// Config.GatewayDNS, which gives every attachment the gateway as its DNS
// server. DNS to the gateway is therefore the one egress every instance
// has, whatever its rules. Without a forwarder the port is closed and a
// guest learns nothing from it.
//
// # Anti-spoofing
//
// Every guest may be root and so owns its tap's wire. Isolated ports stop
// its frames from reaching other taps, but not the bridge itself: a forged
// source MAC would move the bridge's forwarding entry for another guest to
// the attacker's port, and a gratuitous ARP for another guest's address
// would move the host's neighbour entry to the attacker's MAC; the host's
// traffic for the victim (the router's, the health checker's) would then go
// to the attacker. So each tap may send only frames from its own MAC, IPv4
// from its own address and ARP whose sender MAC and address are both its
// own (Ethernet/IPv4 ARP only); everything else from it is dropped before
// the bridge learns from it or hands it to the host. The rules are one
// chain for all taps, keyed by sets, so a frame costs the same few hash
// lookups however many instances run (nft list table bridge unik):
//
//	table bridge unik {
//		set taps { type ifname; elements = { "ukweb1" } }
//		set tap_mac { type ifname . ether_addr; elements = { "ukweb1" . 52:54:0a:d5:00:02 } }
//		set tap_ip { type ifname . ipv4_addr; elements = { "ukweb1" . 10.213.0.2 } }
//		chain guard {
//			type filter hook prerouting priority filter; policy accept;
//			iifname != @taps accept
//			iifname . ether saddr != @tap_mac counter drop
//			ether type ip iifname . ip saddr @tap_ip accept
//			ether type arp arp htype 1 arp ptype ip arp hlen 6 arp plen 4 iifname . arp saddr ether @tap_mac iifname . arp saddr ip @tap_ip accept
//			counter drop
//		}
//	}
//
// Attach adds a tap's three elements before the tap joins the bridge, so it
// never sends a frame unchecked; Detach deletes them with the tap, and
// Leftovers reports (RemoveLeftovers deletes) elements of taps no record
// holds. The guard names the taps it guards instead of matching every port
// of the bridge because `meta ibrname` needs CONFIG_NFT_BRIDGE_META, which
// hosts like ours lack; a port of the bridge that is not ours is therefore
// not guarded, and Leftovers reports uk* taps on the bridge that no record
// holds. The drop counters say how much was dropped.
//
// # Why route_localnet
//
// A connection to 127.0.0.1:PORT is DNATed in output to 10.213.0.2:8080
// but keeps its source 127.0.0.1. The kernel drops packets with a loopback
// source routed out of a non-loopback device as martians, unless
// net.ipv4.conf.<bridge>.route_localnet=1. The postrouting rule then
// masquerades that source to the bridge's address, so the guest answers to
// 10.213.0.1 and conntrack undoes both translations on the way back.
//
// # Isolation model
//
//   - VM to VM: every tap is an isolated bridge port (IFLA_BRPORT_ISOLATED),
//     so taps exchange no frames at all, not even ARP; routed VM-to-VM
//     traffic through the bridge address is dropped by forward.
//   - Spoofing: a tap sends only from its own MAC and address (see
//     Anti-spoofing), so no guest can pose as another, the gateway or the
//     host to the bridge or the host.
//   - VM to host: the host is the cell's control plane, so input accepts
//     from the bridge only replies (ct state established,related) and DNS
//     to the gateway's port 53; a guest cannot open a connection to any
//     other host address or port, whatever its egress rules. IPv6 is
//     disabled on the bridge and the taps, since the table filters IPv4
//     only.
//   - Outside to VM: only the DNAT mappings (ct status dnat) are forwarded.
//   - VM to outside: exactly what the attachment's egress rules allow
//     (see Egress), masqueraded out of any other interface; nothing
//     without rules unless Config.Egress.
//
// # Host settings changed
//
// On the bridge: route_localnet=1, disable_ipv6=1, a fixed MAC (the bridge
// would otherwise take its ports' lowest MAC and change it as taps come and
// go); disable_ipv6=1 on each tap. Host-wide: net.ipv4.ip_forward=1, only
// when an attachment has egress or HostIP is not a loopback address
// (clients elsewhere then need forwarding to reach a VM); it is never set
// back.
//
// # State across processes
//
// The unik CLI is a new process each time and may run concurrently, so
// allocation state lives in files, in a store (see stateDir): a flock on
// lock serialises Attach, Detach and Leftovers; leases are files created
// O_EXCL that hold the attachment id; and attachments/<id>.json records
// everything an attachment creates. The record is written before any kernel
// object is created, so Detach can always undo an Attach, even one that
// crashed half-way, and a failed Attach undoes itself through the same
// path. Detach deletes the kernel objects first and drops leases and record
// only once they are gone, so an address is never handed out while its old
// tap or rules linger. It also deletes the conntrack entries of the guest
// address, so connections through a removed mapping fail at once instead
// of hanging.
//
// In bridge mode the store is host-wide, one per bridge:
// Config.RunDir/<bridge> (/run/unik/net/unik0), because the bridge, the
// table, the subnet and the host ports are host-wide. Every process that
// attaches to the bridge shares it whatever its own state directory (two
// CLI state directories, a CLI and a cell), so no two of them ever hold
// the same address or port. Each record names its owner (Config.StateDir):
// Attachments lists, and Detach accepts, only the caller's own; Leftovers
// counts everyone's records as known, so one process never takes another's
// taps, rules or leases for strays; Teardown leaves the bridge and tables in
// place while any owner still has an attachment. /run is a tmpfs, emptied at
// boot like the taps and rules it accounts for. In user mode nothing
// host-wide is created and the store is Config.StateDir itself.
package network
