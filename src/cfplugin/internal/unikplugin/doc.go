// Package unikplugin implements the commands of the UniK cf CLI plugin:
//
//	cf enable-unik APP [--restage]              switch an app to the unik stack
//	cf disable-unik APP [--stack STACK] [--restage]  switch it back
//	cf unik-push APP [push flags...]            cf push with -s unik and unik_buildpack last
//
// How Cloud Foundry steers an app to a unik cell, with no Cloud Controller
// change: the release defines a stack "unik" (build image cflinuxfs4, run image
// unik). An app whose lifecycle has stack "unik" and the unik buildpack as its
// final buildpack stages on ordinary cells and runs on unik cells.
//
// enable-unik and disable-unik talk to the Cloud Controller v3 API directly
// (package ccv3) with the access token and API endpoint the cf CLI hands the
// plugin; they do not shell out to `cf curl`, so Cloud Controller errors keep
// their HTTP status, code and title. unik-push runs the real `cf push` of the
// cf binary that started the plugin, as a child process, because a plugin's
// CliCommand("push") reaches only the cf CLI's legacy (v2 API, single
// buildpack) push code, which cannot take several -b flags.
//
// The request and argument building are pure functions (lifecycle.go,
// pushargs.go, ccv3/requests.go) with unit tests; integration tests drive the
// real cf binary against a Cloud Controller stand-in (package ccstandin).
package unikplugin
