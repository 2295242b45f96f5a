// Package cell assembles the unik cell: a Diego cell whose app instances are microVMs. New
// builds it from a config.Config as an ordered ifrit group; cmd/unik-cell runs it.
//
// # Parts
//
//	config       the JSON configuration (rep field names + a "vm" section)
//	depot        executor.Client on microVMs: states, events, resources, boot, health, watch
//	recipe       what a run request (CC's buildpack LRP) asks of an instance, or why not
//	imagecache   droplet -> bootable image (download, checksum, staged payload or build)
//	healthcheck  host-side TCP/HTTP probes with Diego's messages
//	logs         app stdout/stderr and lifecycle messages to loggregator v2
//	reconcile    containers <-> BBS (the rep's generator/harmonizer, rewritten)
//	presence     the cell's presence in locket
//
// The development and test environment (local Diego, the auctioneer stand-in, a Cloud
// Controller-like push) is apart, under src/devenv.
//
// Reused from Diego as they are: rep's handlers (the whole rep HTTP API), auctioncellrep
// (State and Perform over the depot), evacuation (evacuator and shutdown cleanup),
// evacuation_context, RunRequestConversionHelper (DesiredLRP -> RunRequest, incl. INSTANCE_*
// and CF_INSTANCE_GUID/INDEX), executor/containermetrics (metrics to loggregator and the
// rep's container metrics), locket's presence runner and request metrics, the BBS client.
//
// # Instance lifecycle
//
//	BBS        placement     rep API (auctioncellrep)   depot                    reconcile           engine/VM
//	DesireLRP -> auction ->  State, Perform ->          AllocateContainers:
//	                                                    Reserved, event ------>  ClaimActualLRP
//	                                                                             DesiredLRPByProcessGuid
//	                                            RunContainer <----------------- (RunRequest)
//	                                                    Initializing
//	                                                    recipe, image (download, checksum, cache)
//	                                                    engine.Run ------------------------------------> boot (tap, DNAT, env)
//	                                                    Created (ports, IPs)
//	                                                    probe from host until healthy <-------------------- app listens
//	                                                    Running, event ------->  StartActualLRP(net info)
//	  (RUNNING: Address=cell IP, HostPort, InstanceAddress=VM IP)
//	                                                    watch: VM state every 200ms, checks every 30s
//	                                                    app exits / VM dies / check fails:
//	                                                    Completed(failed), event -> CrashActualLRP -> BBS restart policy
//	                                                                             DeleteContainer -> engine.Remove (tap, rules, leases, dir)
//	RemoveDesiredLRP -> rep StopLRPInstance ->  StopContainer: SIGTERM in guest, Completed(stopped)
//	                                                                          -> RemoveActualLRP, DeleteContainer
//
// # Decisions
//
//   - Containers are records persisted under vm.state_dir/containers; VMs are engine
//     instances tagged with the container guid. After a crash of the cell process (SIGKILL,
//     OOM), the janitor first removes half-built instances (a directory without record, an
//     attachment without instance) and taps, rules and leases no attachment owns; then
//     Recover adopts VMs of Running containers (they keep serving; logs are followed from
//     their current end), completes interrupted starts as failed (the BBS restarts them as
//     crashes), and removes every VM no record owns. A graceful stop (SIGTERM) behaves as the rep's: the
//     evacuation cleanup deletes every instance, then the bridge and nftables table go.
//   - The presence lock owner id is kept on disk, so a restarted cell retakes its presence
//     at once instead of waiting for the TTL.
//   - The cell advertises only the preloaded rootfs "unik" (preloaded_root_fs may name no
//     other); the kernel comes from the cell (vm.kernel_dir / cache_dir), not the LRP.
//   - rep_url is https://<cell_id>.<advertise_domain>:port as the rep's, or, without
//     advertise_domain, https://<host_ip>:port (no BOSH DNS needed on one machine).
//   - ExternalIP = vm.network.host_ip (the cell's address), host ports are the DNAT'd ones,
//     InternalIP = the VM's address on the cell bridge.
//   - CF_INSTANCE_IP, _INTERNAL_IP, _PORT, _ADDR, _PORTS are computed once the network
//     attachment exists, through the engine's RunSpec.EnvFor hook (a small additive change
//     to src/engine): the guest gets them at boot, as a container does. CF_INSTANCE_CERT/KEY
//     (instance identity) are not provided.
//   - The buildpack launcher is not run: the guest init starts the app. The cell adds what
//     the launcher would: HOME=/home/vcap/app, DEPS_DIR, VCAP_APPLICATION's host,
//     instance_id, instance_index and port. .profile.d scripts are not sourced (no shell).
//   - The start command is the launcher's argument, else staging_info.yml's, else the
//     Procfile's. A staged droplet's payload (./app/.unik, package droplet; ./unik is read
//     too) is used as is when its start command matches; otherwise the image is built on the
//     cell from ./app with the same builder (reproducible: same digest as staging).
//   - Images are cached by (checksum, start command); concurrent starts share one download.
//     There is no eviction yet.
//   - Droplet symlinks must stay inside the droplet or point into /home/vcap, so a droplet
//     cannot pull the cell's files into its image.
//   - Sidecars (CC's extra launcher runs in the codependent action, and the BBS's sidecars
//     field) run in the same VM as the app, at most 8, each with its own start command and
//     output under its own log source (APP/PROC/WEB/SIDECAR/<NAME>); the first process to exit
//     ends the instance, with that process's log source in the crash reason. A sidecar's
//     program must be in the droplet (the image resolves the app's program's libraries only).
//   - An action tree the cell cannot honour fails the instance with a reason naming it:
//     more than 8 sidecars, volume mounts, a setup or monitor that runs
//     programs, downloads other than the droplet (and the lifecycle to /tmp/lifecycle,
//     which is ignored), uploads.
//   - Readiness: without readiness_checks an instance is routable once healthy; with them it
//     is Running but not routable until they pass (probed every 500ms), then routable until
//     one fails (probed at the check's interval_ms), and so on; each change is a running
//     event and a StartActualLRP with the new routable, so the route-emitter follows.
//     Liveness checks are probed at their interval_ms (default 30s).
//   - The app's files from the cell, written by the guest init before the app starts (config
//     segment: never a command line): the instance identity credentials at
//     /etc/cf-instance-credentials/instance.{crt,key} (CF_INSTANCE_CERT/KEY; signed by
//     instance_identity_ca_path, CN and DNS SAN the instance guid, IP SAN its address, OUs from
//     certificate_properties; rotated at three quarters of their validity by pushing new files
//     over the control channel, the app keeps running); the cell's trusted certificates
//     (trusted_system_certificates_path) at the run request's path with CF_SYSTEM_CERT_PATH;
//     the DesiredLRP's volume_mounted_files (read from the BBS, since the rep's run request
//     drops them) below /etc/cf-service-bindings, readable by the app only.
//   - The buildpack launcher's start-up work is done by the cell before boot: with
//     VCAP_PLATFORM_OPTIONS naming a CredHub, VCAP_SERVICES' credhub-ref credentials are
//     interpolated through CredHub's API over mTLS with the instance's identity (trusting the
//     cell's trusted certificates; 3 attempts, the launcher's messages on failure, which fail
//     the instance); DATABASE_URL is set from the first database service (the launcher's own
//     databaseuri package); VCAP_PLATFORM_OPTIONS never reaches the app.
//   - Application security groups: the run request's egress_rules (the LRP's or the task's,
//     as Cloud Controller computed them) become the VM's egress rules (depot/egress.go, at the
//     cell's edge; package network enforces them per tap, see its doc): the instance reaches
//     exactly what they allow beyond the cell, never the cell itself (but DNS on its gateway)
//     nor another VM, whatever they say. IPv6 destinations and icmpv6 rules are left out with
//     a CELL log line (VMs have IPv4 only); a rule the network cannot express fails the
//     instance. `log: true` rules log each new connection to the cell's kernel log, prefixed
//     "unik egress <vm id>: ", at most 10 lines a second per VM. vm.network.egress now only
//     gives instances without any rule unrestricted egress (default off: they get none).
//   - DNS: VMs resolve with the cell's resolvers, as a container does. In bridge mode, unless
//     vm.network.dns names servers of its own, the cell runs a DNS forwarder (network/dnsfwd,
//     the ifrit member dns-forwarder, started before the depot) on the bridge's address, UDP
//     and TCP port 53, for the VMs' subnet only, relaying to vm.network.dns_upstreams or the
//     nameservers of the cell's /etc/resolv.conf (BOSH DNS on 169.254.0.2, which a VM could
//     not reach itself); every VM's resolv.conf names the gateway. Upstreams are read once, at
//     start. User-mode networking (cells without /dev/net/tun) has neither: QEMU's restrict=on
//     drops everything a guest sends but answers through its forwarded ports, DNS to slirp's
//     10.0.2.3 included, so egress rules are not enforced there because nothing gets out.
//   - cf ssh: diego-sshd's Run is not run; its -address, -hostKey and -authorizedKey go to the
//     guest init (in the config segment, never a command line), which serves what a shell-less
//     instance can honour: port forwarding (cf ssh -N -L) with the authorized key; a session
//     gets "no shell" on stderr and exit status 1. Without keys, a CELL log line says why
//     there is no SSH.
//   - Health: the CheckDefinition when it has checks, else the monitor's healthcheck runs
//     (-port, -uri, -timeout), else "Running once the app has started". Probes go from the
//     host to the VM's address (or the forwarded port in user-mode networking), every 50ms
//     until healthy within start_timeout, then every 30s; a liveness failure is retried once
//     after a second before the instance is crashed. Messages are Diego's.
//   - Crash reasons: "<log source>: Exited with status N", "...status 137 (the VM ended
//     without an exit status...)" for a VM killed from outside, "Instance never healthy
//     after ...", "Instance became unhealthy: ...".
//   - Resources: an allocation reserves the LRP's memory and disk against
//     vm.memory_capacity_mb / disk_capacity_mb and one of max_containers; a VM gets at least
//     64 MB (default_memory_mb when the LRP asks for none).
//   - Tasks (`cf run-task`) run as one-off VMs from the app's droplet, in both shapes Cloud
//     Controller builds (the droplet downloaded at the head of the action, or given as an
//     image layer), through the same image cache as LRPs: Running once the VM runs, Completed
//     when the process ends, failed unless it exited 0 ("APP/TASK/<name>: Exited with status
//     N"); CancelTask deletes the container and its VM. A task's result file (at most 10 KiB,
//     readable by the app's user) is read by the guest init when the process exits and goes to
//     the BBS with CompleteTask; one that cannot be read fails the task ("failed to fetch
//     result").
//   - StopContainer returns at once; the VM gets SIGTERM (grace = graceful_shutdown_interval)
//     and the container completes as stopped. DeleteContainer stops a running VM gracefully
//     before removing it (evacuation hands over without cutting requests short).
//   - Reserved containers never run are deleted after a minute (the executor's reaper).
//   - The reconciler keeps at most one operation per container guid running and the newest
//     pending; a bulk pass runs at start and every polling_interval (evacuation interval
//     while evacuating).
//
// # Running it
//
//	scripts/local-diego                                   # PostgreSQL, locket, BBS, 2 cells
//	scripts/unik-push push examples/hello-go --name hello --instances 2
//	scripts/unik-push app hello                           # state, cell, address; curl it
//	scripts/unik-push scale hello 3; scripts/unik-push delete hello
//	scripts/unik-push run-task hello --command "./hello-go once"; scripts/unik-push tasks hello
//	go test ./src/cell/...                                # unit + integration (as root)
//	scripts/bench-cell                                    # overhead, scale, crash latency, tasks
package cell
