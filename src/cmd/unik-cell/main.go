// Command unik-cell is a Diego cell whose app instances are microVMs (job name unik-cell).
//
//	unik-cell -config /var/vcap/jobs/unik-cell/config/unik-cell.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/unik-cf/unik/src/cell"
)

func main() {
	configPath := flag.String("config", "", "the cell's JSON configuration file")
	flag.Parse()
	if err := cell.Main(*configPath); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
