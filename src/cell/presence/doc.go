// Package presence keeps the cell registered in locket, as the rep does: a presence lock whose
// value is the cell's models.CellPresence (rep address and URL, zone, capacity, the preloaded
// rootfs "unik", placement tags). The lock owner is a stable id kept in the cell's state
// directory, so that a restarted cell takes its presence back at once instead of waiting for
// the previous process's TTL to expire.
package presence
