//go:build !linux

package badgerfs

import "os"

// AdviseRandom does nothing off Linux: the readahead it turns off there (advise_linux.go) is
// Linux's, and other systems build the project for development.
func AdviseRandom(*os.File) error { return nil }
