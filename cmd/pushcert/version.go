package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise the module's.
var version = ""

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return v
}

// commit is set at build time with -ldflags "-X main.commit=..." (make build does); otherwise
// the revision the Go toolchain stamped, if it did.
var commit = ""

// commitString is the VCS revision the binary was built from, "+dirty" when the tree was
// modified, or "" when the build recorded none.
func commitString() string {
	if commit != "" && commit != "+dirty" {
		return commit
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "+dirty"
	}
	return rev
}

// runVersion prints the version, the commit the binary was built from ("unknown" when the build
// recorded none), the Go version and the platform.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("version", pflag.ContinueOnError)
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	c := commitString()
	if c == "" {
		c = "unknown"
	}
	fmt.Fprintf(stdout, "pushcert %s\n  commit  %s\n  go      %s %s/%s\n", versionString(), c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
