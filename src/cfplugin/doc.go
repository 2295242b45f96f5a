// Command unik-plugin is the UniK cf CLI plugin. It adds to the cf CLI:
//
//	cf enable-unik APP [--restage]
//	cf disable-unik APP [--stack STACK] [--restage]
//	cf unik-push APP [cf push flags...]
//
// Build and install:
//
//	go build -o unik-plugin . && cf install-plugin -f unik-plugin
//
// How it reaches the Cloud Controller: enable-unik and disable-unik use the
// connection's ApiEndpoint, AccessToken and IsSSLDisabled with the plugin's
// own small v3 HTTP client (internal/ccv3), not CliCommandWithoutTerminalOutput
// ("curl", ...), so Cloud Controller errors keep their status and code.
// unik-push runs `cf push` of the cf binary that started the plugin as a child
// process: CliCommand("push") would run the cf CLI's legacy v2 push, which
// takes a single buildpack.
//
// main only adapts plugin.Plugin to internal/unikplugin, which holds the
// commands; internal/ccstandin is the Cloud Controller stand-in the
// integration tests (integration/) run the real cf binary against.
package main
