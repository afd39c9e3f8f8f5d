// Command remnant tells an incident responder what was running on a Windows
// machine, from the memory evidence collected: process dumps (minidump,
// userdump) and physical memory images.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kong"

	"github.com/remnant-forensics/remnant/pkg/evidence"
	"github.com/remnant-forensics/remnant/pkg/render"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitWarnings = 3 // completed, with partial data
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// Globals are the flags every command takes.
type Globals struct {
	Format     string           `short:"f" enum:"table,json,jsonl,csv" default:"table" help:"Output format: table, json, jsonl or csv."`
	Quiet      bool             `short:"q" help:"Do not print warnings on stderr (the exit code still says 3)."`
	NoProgress bool             `help:"Never show a progress bar."`
	NoHash     bool             `help:"Do not hash the input for the provenance of JSON output."`
	Version    kong.VersionFlag `help:"Print the version and exit."`
}

// CLI lists the commands.
type CLI struct {
	Globals

	Info     InfoCmd     `cmd:"" help:"Summarize a dump or image: format, OS, process, streams, hashes."`
	Dlllist  DlllistCmd  `cmd:"" help:"Loaded modules: base, size, PE timestamp, path."`
	Cmdline  CmdlineCmd  `cmd:"" help:"Process parameters: command line, image path, window title, DllPath, current directory."`
	Envars   EnvarsCmd   `cmd:"" help:"Environment variables of each process."`
	Threads  ThreadsCmd  `cmd:"" help:"Threads with TEB, stack and times."`
	Memmap   MemmapCmd   `cmd:"" help:"Memory ranges in the evidence, with state, protection and type where known."`
	Handles  HandlesCmd  `cmd:"" help:"Handles recorded in a minidump's HandleData stream."`
	Strings  StringsCmd  `cmd:"" help:"Printable ASCII and UTF-16LE strings, with the virtual address and module or region that holds each."`
	Carve    CarveCmd    `cmd:"" help:"Carve records from any memory: shell output, command lines, environments, IIS log lines, MFT records, PE images, URLs, IPs, e-mail, IRC."`
	Pslist   PslistCmd   `cmd:"" help:"Processes on a memory image's active process list: pid, ppid, name, times, threads, handles, session, wow64, dtb."`
	Pstree   PstreeCmd   `cmd:"" help:"A memory image's processes as a tree of parents and children."`
	Psscan   PsscanCmd   `cmd:"" help:"Scan a whole memory image for process pool allocations, including exited and unlinked processes."`
	Procdump ProcdumpCmd `cmd:"" help:"Write one process of a memory image as a minidump (modules, memory, system info)."`
}

// Env is what a running command writes to and how it reports warnings.
type Env struct {
	*Globals
	Stdout   io.Writer
	Stderr   io.Writer
	warnings int
	warned   []string
	inputs   []*evidence.File
}

// Warn prints a one-line warning (unless -q) and marks the run partial.
func (e *Env) Warn(file string, msg string) {
	e.warnings++
	e.warned = append(e.warned, msg)
	if !e.Quiet {
		fmt.Fprintf(e.Stderr, "remnant: warning: %s: %s\n", file, msg)
	}
}

// Rows starts table output in the selected format.
func (e *Env) Rows(cols ...string) (*render.Writer, error) {
	return render.NewWriter(e.Stdout, render.Format(e.Format), cols)
}

// usageError marks an error as a usage problem (exit 2).
type usageError struct{ error }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) (code int) {
	var cli CLI
	exited := -1
	parser, err := kong.New(&cli,
		kong.Name("remnant"),
		kong.Description("What was really running: processes, modules, command lines, environment and strings from Windows memory evidence."),
		kong.UsageOnError(),
		kong.Vars{"version": version},
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { exited = c; panic(exitPanic{}) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintln(stderr, "remnant:", err)
		return exitFailure
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exitPanic); ok {
				if exited != 0 {
					code = exitUsage
				} else {
					code = exitOK
				}
				return
			}
			panic(r)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, "remnant:", err)
		return exitUsage
	}
	env := &Env{Globals: &cli.Globals, Stdout: stdout, Stderr: stderr}
	if err := kctx.Run(env); err != nil {
		fmt.Fprintln(stderr, "remnant:", err)
		var u usageError
		if errors.As(err, &u) {
			return exitUsage
		}
		return exitFailure
	}
	if env.warnings > 0 {
		return exitWarnings
	}
	return exitOK
}

type exitPanic struct{}
