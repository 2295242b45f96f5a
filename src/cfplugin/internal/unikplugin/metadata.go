package unikplugin

import (
	"code.cloudfoundry.org/cli/v8/plugin"
)

// Command names.
const (
	CmdEnable  = "enable-unik"
	CmdDisable = "disable-unik"
	CmdPush    = "unik-push"
)

// Version of the plugin, as the cf CLI shows it in `cf plugins`.
var Version = plugin.VersionType{Major: 0, Minor: 1, Build: 0}

var commands = []plugin.Command{
	{
		Name:     CmdEnable,
		HelpText: "Switch an app to UniK: stack unik, unik_buildpack as final buildpack",
		UsageDetails: plugin.Usage{
			Usage: "cf " + CmdEnable + " APP_NAME [--restage]\n\n" +
				"   Sets the app's lifecycle to stack '" + UnikStack + "' with its buildpacks kept in order and\n" +
				"   '" + UnikBuildpack + "' last. An app without buildpacks keeps those its current droplet was\n" +
				"   staged with. The app runs on unik cells after it is staged again: run\n" +
				"   'cf restage APP_NAME', or give --restage.",
			Options: map[string]string{
				"-restage": "Stage the latest package with the new lifecycle, set the droplet and restart the app",
			},
		},
	},
	{
		Name:     CmdDisable,
		HelpText: "Switch an app back from UniK to an ordinary stack",
		UsageDetails: plugin.Usage{
			Usage: "cf " + CmdDisable + " APP_NAME [--stack STACK] [--restage]\n\n" +
				"   Sets the app's stack (default " + DefaultStack + ") and removes '" + UnikBuildpack + "' from its\n" +
				"   buildpacks (none left means auto-detect). Restage the app to apply it.",
			Options: map[string]string{
				"-stack, -s": "Stack to move the app to (default " + DefaultStack + ")",
				"-restage":   "Stage the latest package with the new lifecycle, set the droplet and restart the app",
			},
		},
	},
	{
		Name:     CmdPush,
		HelpText: "Push an app to run on UniK (cf push with -s unik and unik_buildpack last)",
		UsageDetails: plugin.Usage{
			Usage: "cf " + CmdPush + " APP_NAME [cf push flags...]\n\n" +
				"   Runs 'cf push APP_NAME [flags] -s " + UnikStack + " -b BUILDPACK... -b " + UnikBuildpack + "'. Give the\n" +
				"   app's own buildpacks with -b; " + UnikBuildpack + " is added last. All other cf push flags\n" +
				"   are passed on as given. Docker images (-o, --docker-image), --droplet, --lifecycle other\n" +
				"   than buildpack, and stacks other than " + UnikStack + " are refused.",
			Options: map[string]string{
				"b": "Supply buildpack to run before " + UnikBuildpack + " (repeatable)",
			},
		},
	},
}

// Metadata describes the plugin to the cf CLI.
func Metadata() plugin.PluginMetadata {
	return plugin.PluginMetadata{
		Name:          "unik",
		Version:       Version,
		MinCliVersion: plugin.VersionType{Major: 7, Minor: 0, Build: 0},
		Commands:      commands,
	}
}

func usageOf(cmd string) string {
	for _, c := range commands {
		if c.Name == cmd {
			return c.UsageDetails.Usage
		}
	}
	return ""
}
