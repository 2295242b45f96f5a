package main

import (
	"context"
	"fmt"
	"os"

	"code.cloudfoundry.org/cli/v8/plugin"

	"github.com/unik-cf/unik/src/cfplugin/internal/unikplugin"
)

// unikPlugin adapts the commands to the cf CLI's plugin interface.
type unikPlugin struct{}

func (unikPlugin) GetMetadata() plugin.PluginMetadata { return unikplugin.Metadata() }

func (unikPlugin) Run(conn plugin.CliConnection, args []string) {
	if err := unikplugin.Run(context.Background(), conn, args, unikplugin.Env{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		fmt.Println("FAILED")
		os.Exit(1)
	}
}

func main() { plugin.Start(unikPlugin{}) }
