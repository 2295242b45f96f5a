// Package ccv3 is the plugin's small client for the Cloud Controller v3 API.
//
// It speaks plain HTTPS with the bearer token the cf CLI hands to plugins
// (plugin.CliConnection.AccessToken), instead of shelling out to `cf curl`:
// that gives the plugin real status codes and the Cloud Controller's error
// objects (code, title, detail) to pass through unchanged. Only the handful of
// endpoints the UniK commands need are here: apps, the current droplet,
// packages, builds, the current-droplet relationship and the restart action.
//
// Request paths and bodies are built by pure functions (requests.go) so they
// can be checked without a server.
package ccv3
