// Package ccstandin is a test stand-in for the Cloud Controller, which cannot
// run here (no BOSH, no Cloud Foundry on the development machines).
//
// It speaks the real Cloud Controller v3 protocol, as far as the real cf CLI
// (code.cloudfoundry.org/cli/v8) uses it for `cf api`, `cf auth`,
// `cf target -o -s`, `cf push` and the UniK plugin's commands:
// the root and /v3/info documents, a UAA token endpoint (password grant,
// refresh grant) that issues JWTs the CLI accepts, organizations and spaces,
// apps (list by name and space, get, create, patch), the space manifest
// (apply_manifest and its job), packages (create, bits upload, list), resource
// matches, builds (staged on the first poll), droplets, the current-droplet
// relationship, processes and the start/stop/restart actions. Error answers use
// the v3 error format ({"errors":[{"code","title","detail"}]}).
//
// It records every request (method, path, query, body) so tests can assert
// exactly what the cf CLI and the plugin sent, and it can be told to answer a
// given method and path with an error (Fail) to test error pass-through.
// State lives in memory; there is no staging and nothing runs. Log cache is not
// served (404): `cf push` goes on without staging logs.
package ccstandin
