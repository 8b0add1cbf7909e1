// Command openchart is the OpenChart electronic health record: one binary
// that serves the clinic (embedded store, no setup) or a network
// (PostgreSQL), and the operator commands that go with it.
package main

import (
	"os"

	"github.com/openchart/openchart/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
