package main

import (
	"io"

	"switchboard/bench/loadgen"
	"switchboard/bench/sim"
)

func mock(args []string, stderr io.Writer) int { return sim.Main(args, stderr) }

func bench(args []string) int { return loadgen.Main(args) }
