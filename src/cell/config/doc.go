// Package config is the unik cell's configuration: one JSON file whose fields follow the Diego
// rep's names where they mean the same thing (cell_id, zone, bbs_address, listen_addr_securable,
// placement_tags, preloaded_root_fs, loggregator, evacuation_timeout, locket_*...), plus a "vm"
// section for the microVM engine (kernel, capacity, network). Load reads and validates it;
// defaults fill what is left out.
package config
